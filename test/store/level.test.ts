import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { levelStore } from '../../src/store/level.js'

const te = new TextEncoder()
const key = (i: number): Uint8Array => te.encode(`k${String(i).padStart(4, '0')}`)

describe('LevelDB point reads', () => {
  const dirs: string[] = []
  afterAll(async () => { await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))) })
  const open = async (syncReadMax?: number) => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-level-'))
    dirs.push(dir)
    return await levelStore({ path: join(dir, 'db'), ...(syncReadMax !== undefined ? { syncReadMax } : {}) })
  }

  for (const syncReadMax of [undefined, 0, 4]) {
    it(`getMany answers the same on the calling thread and on the pool (syncReadMax ${String(syncReadMax)})`, async () => {
      const store = await open(syncReadMax)
      try {
        await store.batch(Array.from({ length: 40 }, (_, i) => ({ type: 'put' as const, key: key(2 * i), value: Uint8Array.of(i) })))
        for (const n of [1, 3, 4, 5, 16, 17, 60]) {
          const keys = Array.from({ length: n }, (_, i) => key(i))
          const want = keys.map((_, i) => (i % 2 === 0 ? Uint8Array.of(i / 2) : undefined))
          expect(await store.getMany(keys)).toEqual(want)
        }
        expect(await store.get(key(4))).toEqual(Uint8Array.of(2))
        expect(await store.get(key(5))).toBeUndefined()
        // Values are plain Uint8Arrays (never Buffers), sync or not.
        const [v] = await store.getMany([key(0)])
        expect(v?.constructor).toBe(Uint8Array)
      } finally {
        await store.close()
      }
    })
  }

  it('a point read of a closed store rejects with StoreClosedError', async () => {
    const store = await open()
    await store.close()
    await expect(store.get(key(0))).rejects.toMatchObject({ name: 'StoreClosedError' })
    await expect(store.getMany([key(0)])).rejects.toMatchObject({ name: 'StoreClosedError' })
  })
})

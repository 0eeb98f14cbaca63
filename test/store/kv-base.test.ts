import { describe, expect, it } from 'vitest'
import { logger } from '../../src/core/logger.js'
import { guardBackend, type KVBackend } from '../../src/store/kv-base.js'

/** A backend whose every operation fails with `error`. */
function failing(error: unknown): KVBackend {
  const fail = async (): Promise<never> => {
    throw error
  }
  return {
    get: fail,
    getMany: fail,
    put: fail,
    delete: fail,
    batch: fail,
    async * pages() {
      yield* []
      throw error
    },
    close: async () => {}
  }
}

describe('KV guard', () => {
  it('wraps a platform failure in StoreIOError and keeps it (e.g. QuotaExceededError) as cause', async () => {
    const quota = new DOMException('the quota has been exceeded', 'QuotaExceededError')
    const store = guardBackend(failing(quota), 'test', logger('weft:test'))
    const err = await store.batch([{ type: 'put', key: Uint8Array.of(1), value: Uint8Array.of(2) }]).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'StoreIOError', code: 'ERR_STORE_IO' })
    expect((err as Error).cause).toBe(quota)
    expect((err as Error).message).toContain('QuotaExceededError')
    const fromRange = await (async () => {
      for await (const entry of store.range()) expect(entry).toBeUndefined()
    })().catch((e: unknown) => e)
    expect(fromRange).toMatchObject({ name: 'StoreIOError' })
    expect((fromRange as Error).cause).toBe(quota)
  })

  it('passes named Weft errors through unchanged', async () => {
    const store = guardBackend(failing(new Error('x')), 'test', logger('weft:test'))
    await expect(store.get(new Uint8Array(0))).rejects.toMatchObject({ name: 'InvalidStoreInputError' })
  })
})

/**
 * The IndexedDB store's shared read transactions (src/store/idb-reads.ts) in real Chromium: reads
 * issued together share transactions yet each gets its own values, a read sees every write
 * started before it was called and never a write that has not committed, and reads waiting when
 * the store closes are still answered.
 */
import { expect, test, type Page } from '@playwright/test'
import type { idbStore as IdbStore } from '../src/store/idb.js'

/** The store module as the page imports it from the dev server. */
type IdbModule = { idbStore: typeof IdbStore }

function harnessUrl(): string {
  const base = process.env.WEFT_VITE_URL
  if (base === undefined) throw new Error('WEFT_VITE_URL is not set (the global setup starts Vite)')
  return `${base}/test/browser/store.html`
}

async function open(page: Page): Promise<void> {
  await page.goto(harnessUrl())
  await page.waitForFunction(() => globalThis.weftStoreSuites !== undefined)
}

test('reads issued together share transactions and each gets the values of its own keys', async ({ page }) => {
  await open(page)
  const result = await page.evaluate(async () => {
    const { idbStore } = await import('/src/store/idb.ts' as string) as IdbModule
    const store = await idbStore({ name: `weft-reads-${Date.now()}-${Math.random()}` })
    const key = (i: number): Uint8Array => new TextEncoder().encode(`k${String(i).padStart(5, '0')}`)
    const value = (i: number): Uint8Array => new TextEncoder().encode(`v${i}`)
    await store.batch(Array.from({ length: 500 }, (_, i) => ({ type: 'put' as const, key: key(i), value: value(i) })))
    // Count the read-only transactions the reads take.
    let transactions = 0
    const create = IDBDatabase.prototype.transaction
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof create>) {
      if (args[1] !== 'readwrite') transactions++
      return create.apply(this, args)
    } as typeof create
    // 1,000 gets and 100 getMany of ten keys (every tenth absent) in flight at once.
    const gets = Array.from({ length: 1000 }, async (_, i) => {
      const v = await store.get(key(i))
      return i < 500 ? v !== undefined && new TextDecoder().decode(v) === `v${i}` : v === undefined
    })
    const manys = Array.from({ length: 100 }, async (_, j) => {
      const keys = Array.from({ length: 10 }, (_, i) => (i === 9 ? 9000 + j : j * 5 + i))
      const vs = await store.getMany(keys.map(key))
      return vs.every((v, i) => keys[i]! >= 500 ? v === undefined : v !== undefined && new TextDecoder().decode(v) === `v${keys[i]!}`)
    })
    const ok = await Promise.all([...gets, ...manys])
    IDBDatabase.prototype.transaction = create
    await store.close()
    return { wrong: ok.filter((x) => !x).length, total: ok.length, transactions }
  })
  expect({ wrong: result.wrong, total: result.total }).toEqual({ wrong: 0, total: 1100 })
  expect(result.transactions).toBeGreaterThan(0)
  expect(result.transactions).toBeLessThanOrEqual(2)
})

test('a read sees every write started before it was called, and only once that write committed', async ({ page }) => {
  await open(page)
  const result = await page.evaluate(async () => {
    const { idbStore } = await import('/src/store/idb.ts' as string) as IdbModule
    const store = await idbStore({ name: `weft-reads-${Date.now()}-${Math.random()}` })
    const te = new TextEncoder()
    const td = new TextDecoder()
    const k = te.encode('k')
    await store.put(k, te.encode('0'))
    const seen: string[] = []
    const misses: string[] = []
    for (let round = 1; round <= 50; round++) {
      // Reads in flight (a shared transaction open), then a write, then a read: the last read
      // must see the write, which must have committed by the time it is answered.
      const before = Array.from({ length: 20 }, async () => await store.get(k))
      let committed = false
      const write = store.batch([{ type: 'put', key: k, value: te.encode(String(round)) }, { type: 'put', key: te.encode(`r${round}`), value: te.encode('x') }])
        .then(() => { committed = true })
      const after = await store.getMany([k, te.encode(`r${round}`)])
      if (!committed) misses.push(`round ${round}: answered before the write committed`)
      if (after[0] === undefined || td.decode(after[0]) !== String(round) || after[1] === undefined) misses.push(`round ${round}: did not see the write`)
      // The reads called before the write see the value before it or the write's, nothing else.
      for (const v of await Promise.all(before)) seen.push(v === undefined ? 'none' : td.decode(v))
      await write
      if (seen.some((s) => s !== String(round) && s !== String(round - 1))) misses.push(`round ${round}: an earlier read saw ${seen.join(',')}`)
      seen.length = 0
    }
    await store.close()
    return misses
  })
  expect(result).toEqual([])
})

test('reads waiting when the store closes are answered, and reads after it reject with StoreClosedError', async ({ page }) => {
  await open(page)
  const result = await page.evaluate(async () => {
    const { idbStore } = await import('/src/store/idb.ts' as string) as IdbModule
    const store = await idbStore({ name: `weft-reads-${Date.now()}-${Math.random()}` })
    const k = new TextEncoder().encode('k')
    await store.put(k, new Uint8Array([7]))
    const reads = Array.from({ length: 300 }, async () => (await store.get(k))?.[0])
    const closing = store.close()
    const values = await Promise.all(reads)
    await closing
    const after = await store.get(k).then(() => 'answered', (err: Error) => err.name)
    return { answered: values.filter((v) => v === 7).length, after }
  })
  expect(result).toEqual({ answered: 300, after: 'StoreClosedError' })
})

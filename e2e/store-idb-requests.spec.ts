/**
 * How the IndexedDB store spends requests and transactions (src/store/idb.ts, idb-reads.ts), in
 * real Chromium: reads issued together share transactions yet each gets its own values, a read
 * sees every write started before it was called and never a write that has not committed, reads
 * waiting when the store closes are still answered, and a batch whose request fails writes nothing.
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

test('a batch whose request fails part-way writes nothing and rejects with StoreIOError; the store stays usable', async ({ page }) => {
  await open(page)
  const result = await page.evaluate(async () => {
    const { idbStore } = await import('/src/store/idb.ts' as string) as IdbModule
    const store = await idbStore({ name: `weft-reads-${Date.now()}-${Math.random()}` })
    const te = new TextEncoder()
    const key = (i: number): Uint8Array => te.encode(`k${i}`)
    await store.put(key(0), te.encode('before'))
    // The third put of the batch fails as IndexedDB fails a request it cannot take.
    const put = IDBObjectStore.prototype.put
    let calls = 0
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
      if (++calls === 3) throw new DOMException('no room', 'QuotaExceededError')
      return put.apply(this, args)
    } as typeof put
    const failed = await store.batch(Array.from({ length: 5 }, (_, i) => ({ type: 'put' as const, key: key(i), value: te.encode(`batch ${i}`) })))
      .then(() => 'written', (err: Error) => `${err.name}: ${(err.cause as Error | undefined)?.name ?? ''}`)
    IDBObjectStore.prototype.put = put
    const after = await store.getMany([0, 1, 2, 3, 4].map(key))
    await store.put(key(9), te.encode('later'))
    const later = await store.get(key(9))
    await store.close()
    return {
      failed,
      after: after.map((v) => (v === undefined ? null : new TextDecoder().decode(v))),
      later: later === undefined ? null : new TextDecoder().decode(later)
    }
  })
  expect(result).toEqual({ failed: 'StoreIOError: QuotaExceededError', after: ['before', null, null, null, null], later: 'later' })
})

test('a read whose request IndexedDB refuses fails alone with StoreIOError; the reads beside it are answered', async ({ page }) => {
  await open(page)
  const result = await page.evaluate(async () => {
    const { idbStore } = await import('/src/store/idb.ts' as string) as IdbModule
    const name = `weft-reads-${Date.now()}-${Math.random()}`
    const store = await idbStore({ name })
    const te = new TextEncoder()
    const key = (i: number): Uint8Array => te.encode(`k${i}`)
    await store.batch([1, 2, 3].map((i) => ({ type: 'put' as const, key: key(i), value: te.encode(`v${i}`) })))
    // IndexedDB refuses the request for k2 (as it refuses a key it cannot take).
    const get = IDBObjectStore.prototype.get
    IDBObjectStore.prototype.get = function (this: IDBObjectStore, query: IDBValidKey | IDBKeyRange) {
      if (query instanceof Uint8Array && new TextDecoder().decode(query) === 'k2') {
        // As IndexedDB would: an inactive transaction refuses first (its requests are not refused).
        get.call(this, new Uint8Array([0]))
        throw new DOMException('refused', 'DataError')
      }
      return get.call(this, query)
    } as typeof get
    const outcome = async (p: Promise<Uint8Array | undefined>): Promise<string> =>
      await p.then((v) => (v === undefined ? 'none' : new TextDecoder().decode(v)), (err: Error) => err.name)
    // A read-write transaction of another connection, kept alive, holds the first read's
    // transaction back. Reads called in the same task join that transaction; reads called in a
    // later task wait in the queue and go together into the next one. Either way the refused
    // read fails alone.
    const other = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(name)
      r.onsuccess = () => { resolve(r.result) }
      r.onerror = () => { reject(r.error) }
    })
    let holding = true
    const held = other.transaction('kv', 'readwrite')
    const spin = (): void => { if (holding) held.objectStore('kv').get(key(1) as Uint8Array<ArrayBuffer>).onsuccess = spin }
    spin()
    const released = new Promise((resolve) => { held.oncomplete = resolve })
    const first = outcome(store.get(key(1)))
    const joined = [outcome(store.get(key(2))), outcome(store.get(key(3)))]
    await new Promise((resolve) => setTimeout(resolve, 20))
    const queued = [outcome(store.get(key(2))), outcome(store.get(key(3)))]
    holding = false
    await released
    other.close()
    const answers = await Promise.all([first, ...joined, ...queued])
    IDBObjectStore.prototype.get = get
    const after = await outcome(store.get(key(2)))
    await store.close()
    return { answers, after }
  })
  expect(result).toEqual({ answers: ['v1', 'StoreIOError', 'v3', 'StoreIOError', 'v3'], after: 'v2' })
})

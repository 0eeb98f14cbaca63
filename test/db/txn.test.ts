/**
 * Optimistic write transactions: an open write transaction holds no lock, so reads (and other
 * transactions) never wait for it; a commit whose reads another commit changed writes nothing and
 * rejects with TransactionConflictError; single operations retry such conflicts themselves; every
 * read honours its signal, also while it waits behind a commit.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { where, type Database } from '../../src/db/index.js'
import type { KVStore } from '../../src/store/kv.js'
import { memoryStore } from '../../src/store/memory.js'
import { createFakeWorld, replica, type TestReplica } from './helpers.js'

/** A store whose batches wait for `open()` while it is held. */
function gatedStore(): { store: KVStore; hold: () => void; open: () => void; waiting: () => Promise<void>; batches: () => number } {
  let batches = 0
  const inner = memoryStore()
  let gate: Promise<void> | undefined
  let release: (() => void) | undefined
  let arrived: (() => void) | undefined
  let arrival: Promise<void> = new Promise((resolve) => { arrived = resolve })
  const store: KVStore = {
    ...inner,
    get: async (k, o) => await inner.get(k, o),
    getMany: async (k, o) => await inner.getMany(k, o),
    put: async (k, v, o) => { await inner.put(k, v, o) },
    delete: async (k, o) => { await inner.delete(k, o) },
    range: (o) => inner.range(o),
    pages: (o) => inner.pages(o),
    close: async () => { await inner.close() },
    batch: async (ops, o) => {
      batches++
      if (gate !== undefined) {
        arrived?.()
        await gate
      }
      await inner.batch(ops, o)
    }
  }
  return {
    store,
    hold: () => {
      gate = new Promise((resolve) => { release = resolve })
      arrival = new Promise((resolve) => { arrived = resolve })
    },
    open: () => { gate = undefined; release?.() },
    waiting: async () => { await arrival },
    batches: () => batches
  }
}

let r: TestReplica
let db: Database
let gated: ReturnType<typeof gatedStore>
beforeEach(async () => {
  gated = gatedStore()
  r = await replica(createFakeWorld(), 't', { store: gated.store })
  db = await r.manager.newDB(undefined, { collections: [{ name: 'Items', indexes: [{ path: 'k', unique: true }] }] })
})
afterEach(async () => {
  gated.open()
  await r.manager.close()
})

describe('optimistic transactions', () => {
  it('answers reads while a write transaction is open, without its uncommitted writes', async () => {
    await db.create('Items', [{ _id: 'a', n: 1 }])
    const txn = db.writeTransaction('Items')
    await txn.start()
    await txn.create([{ _id: 'b', n: 2 }])
    expect(await txn.findByID('b')).toEqual({ _id: 'b', n: 2 })
    // Another reader and another writer go on while the transaction stays open.
    expect((await db.find('Items')).map((d) => d._id)).toEqual(['a'])
    await db.create('Items', [{ _id: 'c', n: 3 }])
    expect(await db.has('Items', ['b'])).toBe(false)
    await txn.end()
    expect((await db.find('Items')).map((d) => d._id)).toEqual(['a', 'b', 'c'])
  })

  it('rejects a commit whose reads changed with TransactionConflictError and writes nothing of it', async () => {
    await db.create('Items', [{ _id: 'a', n: 1 }])
    const txn = db.writeTransaction('Items')
    await txn.start()
    const seen = await txn.findByID('a')
    await txn.save([{ ...seen, n: (seen.n as number) + 10 }])
    await txn.create([{ _id: 'x' }])
    await db.save('Items', [{ _id: 'a', n: 5 }])
    await expect(txn.end()).rejects.toMatchObject({ name: 'TransactionConflictError', code: 'ERR_TRANSACTION_CONFLICT', retryable: true })
    expect(await db.findByID('Items', 'a')).toEqual({ _id: 'a', n: 5 })
    expect(await db.has('Items', ['x'])).toBe(false)
  })

  it('rejects a transaction whose query would now find more with TransactionConflictError', async () => {
    await db.create('Items', [{ _id: 'a', n: 1 }])
    const txn = db.writeTransaction('Items')
    await txn.start()
    const found = await txn.find(where('n').eq(1))
    expect(found).toHaveLength(1)
    await txn.create([{ _id: 'count', n: found.length }])
    await db.create('Items', [{ _id: 'b', n: 1 }])
    await expect(txn.end()).rejects.toMatchObject({ name: 'TransactionConflictError' })
    expect(await db.has('Items', ['count'])).toBe(false)
  })

  it('commits transactions that ran side by side when their reads do not overlap', async () => {
    const t1 = db.writeTransaction('Items')
    const t2 = db.writeTransaction('Items')
    await t1.start()
    await t2.start()
    await t1.create([{ _id: 'one', k: 1 }])
    await t2.create([{ _id: 'two', k: 2 }])
    await t2.end()
    await t1.end()
    expect((await db.find('Items')).map((d) => d._id)).toEqual(['one', 'two'])
  })

  it('keeps a unique index unique across transactions that ran side by side', async () => {
    const t1 = db.writeTransaction('Items')
    const t2 = db.writeTransaction('Items')
    await t1.start()
    await t2.start()
    await t1.create([{ _id: 'one', k: 7 }])
    await t2.create([{ _id: 'two', k: 7 }])
    await t1.end()
    await expect(t2.end()).rejects.toMatchObject({ name: 'TransactionConflictError' })
    expect((await db.find('Items')).map((d) => d._id)).toEqual(['one'])
  })

  it('retries single operations that conflict, so concurrent saves of one instance all land', async () => {
    await db.create('Items', [{ _id: 'a', n: 0 }])
    await Promise.all(Array.from({ length: 20 }, async (_, i) => { await db.save('Items', [{ _id: 'a', n: i + 1, [`f${i}`]: true }]) }))
    const a = await db.findByID('Items', 'a')
    expect(typeof a.n).toBe('number')
    expect(Object.keys(a).filter((k) => k.startsWith('f'))).toHaveLength(1)
    const ids = await Promise.all(Array.from({ length: 50 }, async (_, i) => (await db.create('Items', [{ n: i }]))[0]))
    expect(new Set(ids).size).toBe(50)
    expect(await db.find('Items')).toHaveLength(51)
  })

  it('rejects a read waiting behind a commit with AbortError as soon as its signal aborts', async () => {
    gated.hold()
    const writing = db.create('Items', [{ _id: 'slow' }])
    await gated.waiting()
    const controller = new AbortController()
    const aborted = db.find('Items', undefined, { signal: controller.signal })
    const patient = db.find('Items')
    controller.abort()
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' })
    gated.open()
    await writing
    expect((await patient).map((d) => d._id)).toEqual(['slow'])
  })

  it('rejects a read with an already aborted signal with AbortError', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(db.findByID('Items', 'a', { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
    const txn = db.readTransaction('Items', { signal: controller.signal })
    await txn.start()
    await expect(txn.find()).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('refuses calls of a discarded or ended write transaction by name', async () => {
    const txn = db.writeTransaction('Items')
    await expect(txn.create([{}])).rejects.toMatchObject({ name: 'TransactionClosedError' })
    await txn.start()
    await txn.discard()
    await expect(txn.create([{}])).rejects.toMatchObject({ name: 'TransactionDiscardedError' })
    const t2 = db.writeTransaction('Items')
    await t2.start()
    await t2.end()
    await expect(t2.find()).rejects.toMatchObject({ name: 'TransactionClosedError' })
  })

  it('commits transactions that end together in one store batch, each resolving when it is written', async () => {
    const before = gated.batches()
    gated.hold()
    // The first commit waits in its batch; the 49 that end meanwhile form the next group.
    const first = db.create('Items', [{ _id: 'g0', k: 0 }])
    await gated.waiting()
    let resolved = 0
    const rest = Array.from({ length: 49 }, async (_, i) => { await db.create('Items', [{ _id: `g${i + 1}`, k: i + 1 }]); resolved++ })
    // Nothing is written while the first batch waits, so nothing of the group can have resolved.
    await Promise.resolve()
    expect(resolved).toBe(0)
    gated.open()
    await Promise.all([first, ...rest])
    expect(resolved).toBe(49)
    expect(gated.batches() - before).toBeLessThanOrEqual(3)
    expect(await db.find('Items')).toHaveLength(50)
  })

  it('rejects a transaction of a group whose query would find what an earlier one of the group wrote', async () => {
    const t1 = db.writeTransaction('Items')
    const t2 = db.writeTransaction('Items')
    for (const t of [t1, t2]) await t.start()
    const found = await t2.find(where('n').eq(5))
    await t2.create([{ _id: 'count', n: found.length }])
    await t1.create([{ _id: 'five', n: 5 }])
    const [r1, r2] = await Promise.allSettled([t1.end(), t2.end()])
    expect(r1.status).toBe('fulfilled')
    expect(r2).toMatchObject({ status: 'rejected', reason: { name: 'TransactionConflictError' } })
    expect((await db.find('Items')).map((d) => d._id)).toEqual(['five'])
  })

  it('rejects only the conflicting one of transactions that end together', async () => {
    const t1 = db.writeTransaction('Items')
    const t2 = db.writeTransaction('Items')
    const t3 = db.writeTransaction('Items')
    for (const t of [t1, t2, t3]) await t.start()
    await t1.create([{ _id: 'one', k: 1 }])
    await t2.create([{ _id: 'two', k: 1 }])
    await t3.create([{ _id: 'three', k: 3 }])
    const [r1, r2, r3] = await Promise.allSettled([t1.end(), t2.end(), t3.end()])
    expect(r1.status).toBe('fulfilled')
    expect(r2).toMatchObject({ status: 'rejected', reason: { name: 'TransactionConflictError' } })
    expect(r3.status).toBe('fulfilled')
    expect((await db.find('Items')).map((d) => d._id)).toEqual(['one', 'three'])
  })
})

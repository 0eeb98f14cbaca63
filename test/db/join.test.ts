/**
 * Joining a DB and reading while others write: a joining peer folds the records its pull delivers
 * (reading back from the log store only what it did not keep), a DB with no state answers its own
 * lookups from memory, reads do not wait for a commit creating its records, and a query without
 * conditions reads only the instances it returns.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ThreadID } from '../../src/core/types.js'
import { createDBManager, type Database, type DBRecord, type DBNet } from '../../src/db/index.js'
import { newThreadID } from '../../src/core/index.js'
import { watchArrivals } from '../../src/db/arrivals.js'
import { createEngine } from '../../src/db/engine.js'
import { createLayout } from '../../src/db/keys.js'
import { createSandbox, threadCommitment } from '../../src/db/index.js'
import { freshStore } from '../../src/db/fresh.js'
import { memoryStore } from '../../src/store/memory.js'
import type { KVStore } from '../../src/store/kv.js'
import { body, createFakeWorld, forger, replica, type TestReplica } from './helpers.js'

const PEOPLE = {
  name: 'People',
  schema: { type: 'object', properties: { _id: { type: 'string' }, name: { type: 'string' }, email: { type: 'string' } }, required: ['name'] },
  indexes: [{ path: 'email', unique: true }]
}

const open: TestReplica[] = []
afterEach(async () => {
  for (const r of open.splice(0)) await r.manager.close()
})

async function track(r: TestReplica): Promise<TestReplica> {
  open.push(r)
  return r
}

/** Count the records `records()` reads back from the log store; optionally end subscriptions after `keep` records. */
function counting(net: DBNet, keep = Infinity): { net: DBNet; readBack: () => number } {
  let readBack = 0
  const wrapped: DBNet = Object.create(net) as DBNet
  wrapped.records = async function * (id, options) {
    for await (const r of net.records(id, options)) {
      readBack++
      yield r
    }
  }
  wrapped.subscribe = async function * (options) {
    let n = 0
    for await (const r of net.subscribe(options)) {
      if (n++ >= keep) return
      yield r
    }
  }
  return { net: wrapped, readBack: () => readBack }
}

async function source(docs: number): Promise<{ a: TestReplica; id: ThreadID; key: string; world: ReturnType<typeof createFakeWorld> }> {
  const world = createFakeWorld()
  const a = await track(await replica(world, 'a'))
  const db = await a.manager.newDB(undefined, { collections: [PEOPLE] })
  for (let i = 0; i < docs; i++) await db.create('People', [{ name: `p${i}`, email: `p${i}@example.com` }])
  const info = await a.manager.getDBInfo(db.id)
  return { a, id: db.id, key: info.key, world }
}

/** Join the source's DB on a new replica whose net is wrapped by {@link counting}. */
async function join(src: Awaited<ReturnType<typeof source>>, keep?: number): Promise<{ joined: Database; readBack: () => number; close: () => Promise<void> }> {
  const b = await track(await replica(src.world, 'b'))
  const { net, readBack } = counting(b.net, keep)
  const manager = await createDBManager({ net, kv: b.store })
  const joined = await manager.newDBFromAddr(`fake://a/${src.id}`, src.key)
  return { joined, readBack, close: async () => { await manager.close() } }
}

describe('joining a DB', () => {
  it('folds the records its pull delivered without reading them back from the log store', async () => {
    const { joined, readBack, close } = await join(await source(30))
    try {
      expect(await joined.find('People', {})).toHaveLength(30)
      expect(readBack()).toBe(0)
      expect(await joined.conflicts()).toEqual([])
    } finally {
      await close()
    }
  })

  it('reads from the log store the records its subscription did not deliver, and ends with the same state', async () => {
    const src = await source(25)
    const { joined, readBack, close } = await join(src, 10)
    try {
      expect(await joined.find('People', {})).toHaveLength(25)
      expect(readBack()).toBeGreaterThan(0)
      expect(await joined.stateHash()).toBe(await src.a.manager.getDB(src.id).stateHash())
    } finally {
      await close()
    }
  })
})

describe('records kept while joining', () => {
  it('keeps at most its bound of records and of bytes, each log from its first record', async () => {
    const src = await source(6)
    const b = await track(await replica(src.world, 'b'))
    const byCount = watchArrivals(b.net, src.id, 3)
    const byBytes = watchArrivals(b.net, src.id, 100, 4000)
    const all = watchArrivals(b.net, src.id)
    await b.net.addThread(`fake://a/${src.id}`, { threadKey: src.key })
    const counted = await byCount.take()
    const weighed = await byBytes.take()
    const every = await all.take()
    for (const a of [byCount, byBytes, all]) a.stop()
    expect(every.map((r) => r.counter)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(counted.map((r) => r.counter)).toEqual([1, 2, 3])
    expect(weighed.length).toBeGreaterThan(0)
    expect(weighed.length).toBeLessThan(every.length)
    expect(weighed.map((r) => r.counter)).toEqual(every.slice(0, weighed.length).map((r) => r.counter))
  })
})

describe('reads while others write', () => {
  it('answers a find while a commit is still creating its record, with the state before it', async () => {
    const world = createFakeWorld()
    const r = await track(await replica(world, 'a'))
    const db = await r.manager.newDB(undefined, { collections: [PEOPLE] })
    await db.create('People', [{ _id: 'first', name: 'first' }])
    // Hold the net's next record creation (signing, the log store) until released.
    let release!: () => void
    let entered!: () => void
    const held = new Promise<void>((resolve) => { release = resolve })
    const inside = new Promise<void>((resolve) => { entered = resolve })
    const create = r.net.createRecord.bind(r.net)
    r.net.createRecord = async (id: ThreadID, body: unknown, options?: object): Promise<DBRecord> => {
      entered()
      await held
      return await create(id, body, options)
    }
    const writing = db.create('People', [{ _id: 'second', name: 'second' }])
    await inside
    expect((await db.find('People', {})).map((d) => d._id)).toEqual(['first'])
    expect(await db.has('People', ['second'])).toBe(false)
    release()
    await writing
    expect((await db.find('People', {})).map((d) => d._id)).toEqual(['first', 'second'])
  })

  it('reads only the instances it returns for a query without conditions', async () => {
    const world = createFakeWorld()
    const r = await track(await replica(world, 'a'))
    const db = await r.manager.newDB(undefined, { collections: [PEOPLE] })
    await db.create('People', Array.from({ length: 50 }, (_, i) => ({ _id: `id${String(i).padStart(2, '0')}`, name: `n${i}` })))
    expect(await db.explain('People', { limit: 5 } as never)).toEqual({ plan: 'scan', docsRead: 5, indexEntriesRead: 0, returned: 5 })
    expect((await db.find('People', { limit: 5, skip: 3 } as never)).map((d) => d._id)).toEqual(['id03', 'id04', 'id05', 'id06', 'id07'])
    expect((await db.find('People', { limit: 2, sort: { fieldPath: '_id', desc: true } } as never)).map((d) => d._id)).toEqual(['id49', 'id48'])
  })
})

describe('folding a large batch', () => {
  it('gives the event loop a turn while it folds, though every read was read ahead', async () => {
    const id = newThreadID()
    const sandbox = await createSandbox()
    try {
      const engine = createEngine({
        store: memoryStore(), layout: createLayout(id), sandbox, gov: { mode: 'ungoverned', commitment: threadCommitment(id) },
        ownLog: undefined, now: Date.now, maxClockDriftMs: 60_000
      })
      await engine.load()
      const member = await forger(id)
      const wall = Date.now()
      const records = Array.from({ length: 1_000 }, (_, i) => member.record(body({ t: 'create', c: 'People', id: `m${i}`, doc: { _id: `m${i}`, name: `m${i}` } }), { wall, counter: i }))
      // The memory store answers in microtasks: without turns, this runs only after the whole fold.
      let done = false
      let during: boolean | undefined
      setImmediate(() => { during = !done })
      const outcome = await engine.apply(records).finally(() => { done = true })
      expect(outcome.status.size).toBe(1_000)
      expect(during).toBe(true)
    } finally {
      sandbox.dispose()
    }
  })
})

describe('a store for a DB with no state', () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

  async function seeded(): Promise<KVStore> {
    const store = memoryStore()
    await store.put(enc('kept'), enc('1'))
    await store.put(enc('other'), enc('2'))
    return store
  }

  it('answers reads of keys it did not write or know as absent while fresh, and asks the store after end()', async () => {
    const fresh = freshStore(await seeded())
    fresh.begin([enc('kept')])
    expect(fresh.fresh).toBe(true)
    expect(await fresh.get(enc('kept'))).toEqual(enc('1'))
    expect(await fresh.get(enc('other'))).toBeUndefined()
    await fresh.batch([{ type: 'put', key: enc('new'), value: enc('3') }])
    expect(await fresh.getMany([enc('new'), enc('other'), enc('kept')])).toEqual([enc('3'), undefined, enc('1')])
    fresh.end()
    expect(fresh.fresh).toBe(false)
    expect(await fresh.get(enc('other'))).toEqual(enc('2'))
  })

  it('asks the store again for every read once it wrote more keys than it keeps', async () => {
    const fresh = freshStore(await seeded(), 2)
    fresh.begin([])
    await fresh.put(enc('a'), enc('a'))
    await fresh.put(enc('b'), enc('b'))
    expect(fresh.fresh).toBe(true)
    await fresh.put(enc('c'), enc('c'))
    expect(fresh.fresh).toBe(false)
    expect(await fresh.get(enc('other'))).toEqual(enc('2'))
  })
})

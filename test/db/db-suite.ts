/**
 * Acceptance cases for the DB's storage (instances, index entries, event log, counters) against a
 * key-value backend, framework-agnostic like the store suites: each case makes its own stores
 * with `make` and, where the backend can, reopens them with `reopen`.
 */
import { assertDeepEqual, assertEqual, assertTrue, type Case } from '../suites/case.js'
import { createDBManager, where, type Database, type ListenEvent, type Sandbox } from '../../src/db/index.js'
import type { KVStore } from '../../src/store/kv.js'
import { createLayout, dbPrefix } from '../../src/db/keys.js'
import type { DBNet } from '../../src/db/net.js'
import { createFakeNet, createFakeWorld } from './fake-net.js'
import { body, forger } from './forger.js'
import { counting, crashing } from './stores.js'

export interface DBSuiteOptions {
  make: () => Promise<KVStore>
  reopen?: (store: KVStore) => Promise<KVStore>
  sandbox: () => Sandbox
}

const PEOPLE = { name: 'People', indexes: [{ path: 'email', unique: true }, { path: 'age' }] }

export function dbSuite(options: DBSuiteOptions): Case[] {
  const open = async (net: DBNet, store: KVStore) => await createDBManager({ net, kv: store, sandbox: options.sandbox() })
  const person = (id: string, age: number): object => ({ t: 'create', c: 'People', id, doc: { _id: id, email: `${id}@x`, age } })
  return [
    {
      name: 'a group commit stopped at its store batch rejects every caller, and their records apply on the next sync or open',
      async run() {
        const net = createFakeNet(createFakeWorld(), 'a')
        const base = await options.make()
        const store = crashing(base)
        let m = await open(net, store)
        try {
          const db = await m.newDB(undefined, { collections: [PEOPLE] })
          store.crashAt(1)
          const results = await Promise.allSettled(Array.from({ length: 20 }, async (_, i) => await db.create('People', [{ _id: `g${i}`, email: `g${i}@x`, age: i }])))
          assertTrue(results.every((r) => r.status === 'rejected'), 'every caller of the stopped group was rejected')
          // The records are in the log: the next sync applies every one of them, once.
          store.crashAt(Infinity)
          await db.sync()
          assertEqual((await db.find('People', {})).length, 20)
          assertEqual((await db.find('People', where('email').eq('g7@x'))).length, 1)
          // Stopped again, then the process stops: the next open applies them.
          store.crashAt(1)
          const more = await Promise.allSettled(Array.from({ length: 5 }, async (_, i) => await db.create('People', [{ _id: `h${i}`, email: `h${i}@x`, age: i }])))
          assertTrue(more.every((r) => r.status === 'rejected'), 'every caller of the second group was rejected')
          await m.close()
          store.crashAt(Infinity)
          const reopened = options.reopen !== undefined ? await options.reopen(base) : base
          m = await open(net, reopened)
          assertEqual((await m.getDB(db.id).find('People', {})).length, 25)
          await m.close()
        } finally {
          await m.close()
          await (options.reopen !== undefined ? base : store).close().catch(() => undefined)
        }
      }
    },
    {
      name: 'finishes a rewind that stopped half way, in the same process or on open',
      async run() {
        const world = createFakeWorld()
        const net = createFakeNet(world, 'a')
        const ref = createFakeNet(world, 'ref')
        const base = await options.make()
        const store = crashing(base)
        let m = await open(net, store)
        const refStore = await options.make()
        const r = await open(ref, refStore)
        try {
          const db = await m.newDB(undefined, { collections: [PEOPLE] })
          const dbRef = await r.newDBFromAddr(`fake://a/${db.id}`, (await m.getDBInfo(db.id)).key)
          const w = await forger(db.id)
          const t = Date.now() + 1_000
          for (let i = 0; i < 1_100; i++) net.deliver(w.record(body(person(`p${i}`, i % 90)), { wall: t + 10 * i, counter: 0 }))
          await db.sync()
          const compare = async (db2: Database): Promise<void> => {
            for (const rec of net.held(db.id)) ref.deliver(rec)
            await dbRef.sync()
            assertEqual(await db2.stateHash(), await dbRef.stateHash())
            assertDeepEqual(await db2.conflicts(), await dbRef.conflicts())
          }
          // A late event that sorts before 1,050 of them: its rewind takes several batches; stop in the middle.
          const late = await forger(db.id)
          net.deliver(late.record(body(person('late', 1), { t: 'save', c: 'People', id: 'p20', patch: { age: 99 } }), { wall: t + 495, counter: 0 }))
          store.crashAt(3)
          let stopped = false
          try { await db.sync() } catch { stopped = true }
          assertTrue(stopped, 'the rewind stopped')
          // The same process finishes it on the next sync.
          store.crashAt(Infinity)
          await db.sync()
          await compare(db)
          assertDeepEqual(await db.findByID('People', 'p20'), { _id: 'p20', email: 'p20@x', age: 99 })
          // Another one stops half way, and the process stops: the next open finishes it.
          net.deliver(late.record(body(person('later', 2)), { wall: t + 505, counter: 0 }))
          store.crashAt(4)
          stopped = false
          try { await db.sync() } catch { stopped = true }
          assertTrue(stopped, 'the second rewind stopped')
          await m.close()
          store.crashAt(Infinity)
          const reopened = options.reopen !== undefined ? await options.reopen(base) : base
          m = await open(net, reopened)
          const again = m.getDB(db.id)
          await compare(again)
          assertEqual((await again.find('People', {})).length, 1_102)
          await m.close()
        } finally {
          await m.close()
          await r.close()
          await (options.reopen !== undefined ? base : store).close().catch(() => undefined)
          await refStore.close()
        }
      }
    },
    {
      name: 'rebuilds from the log store a DB kept in an older layout',
      async run() {
        const world = createFakeWorld()
        const net = createFakeNet(world, 'a')
        let store = await options.make()
        let m = await open(net, store)
        try {
          const db = await m.newDB(undefined, { collections: [PEOPLE] })
          await db.create('People', [{ _id: 'x', email: 'x@x', age: 5 }])
          await net.createRecord(db.id, body({ t: 'create', c: 'Nope', id: 'y', doc: { _id: 'y' } }))
          await db.sync()
          const hash = await db.stateHash()
          const conflicts = await db.conflicts()
          await m.close()
          // What the first version left: no layout version, 8-byte log counters.
          await store.delete(createLayout(db.id).version())
          if (options.reopen !== undefined) store = await options.reopen(store)
          m = await open(net, store)
          const again = m.getDB(db.id)
          assertEqual(await again.stateHash(), hash)
          assertDeepEqual(await again.conflicts(), conflicts)
          await again.create('People', [{ _id: 'z', email: 'z@x', age: 6 }])
          assertEqual((await again.find('People', {})).length, 2)
        } finally {
          await m.close()
          await store.close()
        }
      }
    },
    {
      name: 'keeps a log frozen across a restart',
      async run() {
        const world = createFakeWorld()
        const net = createFakeNet(world, 'a')
        // After the restart the net no longer reports the fork: the DB must remember it.
        const forgetful: DBNet = { ...net, forks: undefined, forkNotices: undefined } as unknown as DBNet
        let store = await options.make()
        let m = await open(net, store)
        try {
          const db = await m.newDB(undefined, { collections: [PEOPLE] })
          const w = await forger(db.id)
          const t = Date.now() + 1_000
          net.deliver(w.record(body(person('f1', 1)), { wall: t, counter: 0 }))
          net.fork(db.id, w.log, 2)
          await db.sync()
          await m.close()
          if (options.reopen !== undefined) store = await options.reopen(store)
          m = await open(forgetful, store)
          net.deliver(w.record(body(person('f2', 2)), { wall: t + 1, counter: 0 }))
          const again = m.getDB(db.id)
          await again.sync()
          assertDeepEqual((await again.find('People', {})).map((d) => d._id), ['f1'])
          assertDeepEqual((await again.conflicts()).map((c) => `${c.counter}:${c.error.name}`), ['2:EquivocationError'])
        } finally {
          await m.close()
          await store.close()
        }
      }
    },
    {
      name: 'stores instances and index entries and answers indexed queries',
      async run() {
        const store = await options.make()
        const m = await open(createFakeNet(createFakeWorld(), 'a'), store)
        try {
          const db = await m.newDB(undefined, { collections: [PEOPLE] })
          const docs = Array.from({ length: 300 }, (_, i) => ({ _id: `p${String(i).padStart(3, '0')}`, email: `u${i}@x`, age: i % 50 }))
          await db.create('People', docs)
          assertDeepEqual(await db.find('People', where('email').eq('u42@x')), [docs[42]])
          const explain = await db.explain('People', where('age').ge(10).and('age').lt(12))
          assertEqual(explain.plan, 'index')
          assertEqual(explain.docsRead, 12)
          assertEqual(explain.returned, 12)
          await db.delete('People', ['p042'])
          assertDeepEqual(await db.find('People', where('email').eq('u42@x')), [])
          await db.save('People', [{ _id: 'p043', email: 'moved@x' }])
          assertDeepEqual((await db.find('People', where('email').eq('moved@x'))).map((d) => d._id), ['p043'])
          assertDeepEqual(await db.find('People', where('email').eq('u43@x')), [])
        } finally {
          await m.close()
          await store.close()
        }
      }
    },
    {
      name: 'writes one store batch per transaction',
      async run() {
        const store = counting(await options.make())
        const m = await open(createFakeNet(createFakeWorld(), 'a'), store)
        try {
          const db = await m.newDB(undefined, { collections: [PEOPLE, { name: 'Notes' }] })
          const before = store.batches
          const txn = db.writeTransaction('People')
          await txn.start()
          await txn.create([{ email: 'a@x', age: 1 }, { email: 'b@x', age: 2 }])
          await txn.collection('Notes').create([{ text: 'hello' }])
          await txn.save([{ _id: (await txn.find(where('email').eq('a@x')))[0]!._id, age: 3 }])
          await txn.end()
          assertEqual(store.batches - before, 1, 'store batches for one transaction')
        } finally {
          await m.close()
          await store.close()
        }
      }
    },
    {
      name: 'reloads its state after a restart',
      async run() {
        if (options.reopen === undefined) return
        const world = createFakeWorld()
        const net = createFakeNet(world, 'a')
        let store = await options.make()
        let m = await open(net, store)
        const db = await m.newDB(undefined, { name: 'kept', collections: [PEOPLE] })
        await db.create('People', [{ _id: 'x', email: 'x@x', age: 5 }])
        const hash = await db.stateHash()
        await m.close()
        store = await options.reopen(store)
        m = await open(net, store)
        try {
          const again = m.getDB(db.id)
          assertEqual(await again.stateHash(), hash)
          assertEqual((await m.getDBInfo(db.id)).name, 'kept')
          await again.create('People', [{ _id: 'y', email: 'y@x', age: 6 }])
          assertEqual((await again.find('People', {})).length, 2)
        } finally {
          await m.close()
          await store.close()
        }
      }
    },
    {
      name: 'applies on open the records it had not applied when it stopped',
      async run() {
        const world = createFakeWorld()
        const net = createFakeNet(world, 'a')
        let store = await options.make()
        let m = await open(net, store)
        const db = await m.newDB(undefined, { collections: [PEOPLE] })
        await m.close()
        // Records appended to the log while the DB was not running (a crash between record and apply).
        await net.createRecord(db.id, { weftdb: 2, ops: '[{"t":"create","c":"People","id":"late","doc":{"_id":"late","age":7,"email":"l@x"}}]' })
        if (options.reopen !== undefined) store = await options.reopen(store)
        m = await open(net, store)
        try {
          assertDeepEqual(await m.getDB(db.id).findByID('People', 'late'), { _id: 'late', age: 7, email: 'l@x' })
        } finally {
          await m.close()
          await store.close()
        }
      }
    },
    {
      name: 'rewinds and replays when a late event sorts before applied ones',
      async run() {
        const world = createFakeWorld()
        let now = 1_700_000_000_000
        const netA = createFakeNet(world, 'a', { now: () => now })
        const netB = createFakeNet(world, 'b', { now: () => now - 5_000 })
        const storeA = await options.make()
        const storeB = await options.make()
        const a = await open(netA, storeA)
        const b = await open(netB, storeB)
        try {
          const dbA = await a.newDB(undefined, { collections: [PEOPLE] })
          const dbB = await b.newDBFromAddr(`fake://a/${dbA.id}`, (await a.getDBInfo(dbA.id)).key)
          // B writes "first" in HLC order (its clock is behind and it has not heard from A since).
          now += 10_000
          await dbB.create('People', [{ _id: 'b1', email: 'same@x', age: 1 }])
          await dbA.create('People', [{ _id: 'a1', email: 'same@x', age: 2 }])
          for (let i = 0; i < 20; i++) await dbA.create('People', [{ _id: `a-more-${i}`, email: `m${i}@x`, age: i }])
          const c = new AbortController()
          const events: ListenEvent[] = []
          const listening = (async () => { for await (const e of dbA.listen([], { signal: c.signal })) { events.push(e); if (events.length === 3) break } })()
          for (const rec of netB.held(dbA.id)) netA.deliver(rec)
          for (const rec of netA.held(dbA.id)) netB.deliver(rec)
          await dbA.sync()
          await dbB.sync()
          await listening
          c.abort()
          // A's create of the same email now comes second and is rejected everywhere.
          assertDeepEqual((await dbA.find('People', where('email').eq('same@x'))).map((d) => d._id), ['b1'])
          assertEqual(await dbA.stateHash(), await dbB.stateHash())
          const conflicts = await dbA.conflicts()
          assertEqual(conflicts.length, 1)
          assertEqual(conflicts[0]!.error.name, 'UniqueConstraintError')
          assertEqual(conflicts[0]!.instanceID, 'a1')
          assertDeepEqual(events.map((e) => `${e.type}:${e.instanceID}`).sort(), ['create:b1', 'delete:a1', 'rejected:a1'])
        } finally {
          await a.close()
          await b.close()
          await storeA.close()
          await storeB.close()
        }
      }
    },
    {
      name: 'deleting a DB erases all of its keys',
      async run() {
        const store = await options.make()
        const m = await open(createFakeNet(createFakeWorld(), 'a'), store)
        try {
          const keep = await m.newDB(undefined, { collections: [PEOPLE] })
          const gone = await m.newDB(undefined, { collections: [PEOPLE] })
          await gone.create('People', [{ email: 'g@x', age: 1 }])
          await keep.create('People', [{ email: 'k@x', age: 1 }])
          await m.deleteDB(gone.id)
          let left = 0
          for await (const _ of store.range({ prefix: dbPrefix(gone.id) })) left++
          assertEqual(left, 0)
          assertDeepEqual((await m.listDBs()).map((d) => d.id), [keep.id])
          assertEqual((await keep.find('People', {})).length, 1)
        } finally {
          await m.close()
          await store.close()
        }
      }
    },
    {
      name: 'deleting a collection removes its instances and index entries',
      async run() {
        const store = await options.make()
        const m = await open(createFakeNet(createFakeWorld(), 'a'), store)
        try {
          const db: Database = await m.newDB(undefined, { collections: [PEOPLE] })
          const empty = await db.stateHash()
          await db.create('People', [{ email: 'a@x', age: 1 }, { email: 'b@x', age: 2 }])
          await db.deleteCollection('People')
          await db.newCollection(PEOPLE)
          assertEqual(await db.stateHash(), empty)
          assertTrue((await db.find('People', {})).length === 0)
        } finally {
          await m.close()
          await store.close()
        }
      }
    }
  ]
}

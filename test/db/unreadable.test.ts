/**
 * Unreadable events (docs/SECURITY.md G6, the DB's part): a record the net verified but could
 * not decrypt or decode is rejected in its place — after the previous record of its log — on
 * every peer alike; it changes nothing, the log goes on, and it is listed in conflicts.
 */
import { describe, expect, it } from 'vitest'
import { body, closeAfterEach, forger, group, onEveryBackend, take } from './helpers.js'
import { counting } from './stores.js'

const NOTES = { name: 'Notes', schema: { type: 'object', properties: { _id: { type: 'string' } } } }
const create = (id: string): object => ({ t: 'create', c: 'Notes', id, doc: { _id: id } })
const part = (k: number, parts: number, ...ops: object[]): object => ({ ...body(...ops), txn: { id: 'tx', part: k, parts } })

const { keep, signal } = closeAfterEach()

onEveryBackend((make) => {
  describe('unreadable records', () => {
    it('an unreadable record is rejected in its place on every peer, and the later records of its log apply', async () => {
      const g = keep(await group(make, 2, { collections: [NOTES] }))
      const [a, b] = g.dbs
      const m = await forger(g.id)
      const t = Date.now() + 1_000
      const rejected = take(a!.listen([{ type: 'rejected' }], { signal: signal() }), 1)
      const records = [
        m.record(body(create('before')), { wall: t, counter: 3 }),
        m.unreadable(),
        m.unreadable({ name: 'InvalidRecordError', message: 'the body is not a dag-cbor map' }),
        m.record(body(create('after')), { wall: t + 1, counter: 0 })
      ]
      for (const r of records) g.replicas[0]!.net.deliver(r)
      // The other peer gets them the other way round (all but the first, then the first).
      for (const r of records.slice(1)) g.replicas[1]!.net.deliver(r)
      await b!.sync()
      g.replicas[1]!.net.deliver(records[0]!)
      await g.settle()
      expect((await rejected)[0]).toMatchObject({ type: 'rejected', counter: 2, error: { name: 'DecryptionError' } })
      for (const db of g.dbs) {
        expect((await db.find('Notes')).map((d) => d._id)).toEqual(['after', 'before'])
        const conflicts = await db.conflicts()
        expect(conflicts.map((x) => `${x.counter}:${x.error.name}`)).toEqual(['2:DecryptionError', '3:InvalidRecordError'])
        expect(conflicts.map((x) => x.time)).toEqual([{ wall: t, counter: 3 }, { wall: t, counter: 3 }])
      }
      expect(await b!.stateHash()).toBe(await a!.stateHash())
    })

    it('a multi-record transaction with an unreadable part is rejected as a whole', async () => {
      const g = keep(await group(make, 1, { collections: [NOTES] }))
      const [a] = g.dbs
      const t = Date.now() + 1_000
      const m1 = await forger(g.id)
      g.replicas[0]!.net.deliver(m1.record(part(0, 3, create('a0')), { wall: t, counter: 0 }))
      g.replicas[0]!.net.deliver(m1.unreadable())
      g.replicas[0]!.net.deliver(m1.record(part(2, 3, create('a2')), { wall: t + 2, counter: 0 }))
      const m2 = await forger(g.id)
      g.replicas[0]!.net.deliver(m2.record(part(0, 2, create('b0')), { wall: t, counter: 0 }))
      g.replicas[0]!.net.deliver(m2.unreadable())
      await a!.sync()
      expect(await a!.find('Notes')).toEqual([])
      expect((await a!.conflicts()).map((x) => `${x.log === m1.log ? 'm1' : 'm2'}:${x.counter}:${x.error.name}`).sort())
        .toEqual(['m1:2:DecryptionError', 'm1:3:InvalidEventError', 'm2:2:DecryptionError'])
    })

    it('an unreadable record never makes a peer replay events, wherever it sorts', async () => {
      const g = keep(await group(async () => counting(await make()), 1, { collections: [NOTES] }))
      const [a] = g.dbs
      const m = await forger(g.id)
      const t = Date.now() + 1_000
      for (let i = 0; i < 20; i++) g.replicas[0]!.net.deliver(m.record(body(create(`n${i}`)), { wall: t + i, counter: 0 }))
      await a!.sync()
      const store = g.replicas[0]!.store as ReturnType<typeof counting>
      const before = store.batches
      // The first record of a new log sorts before every event of the DB.
      g.replicas[0]!.net.deliver((await forger(g.id)).unreadable())
      await a!.sync()
      expect(store.batches - before).toBe(1)
      expect((await a!.conflicts()).map((x) => `${x.counter}:${x.error.name}`)).toEqual(['1:DecryptionError'])
    })

    it('an unreadable first record sorts before every event', async () => {
      const g = keep(await group(make, 1, { collections: [NOTES] }))
      const m = await forger(g.id)
      g.replicas[0]!.net.deliver(m.unreadable())
      g.replicas[0]!.net.deliver(m.record(body(create('x')), { wall: Date.now() + 1_000, counter: 0 }))
      await g.dbs[0]!.sync()
      const [first] = await g.dbs[0]!.conflicts()
      expect(first).toMatchObject({ counter: 1, time: { wall: 0, counter: 0 }, error: { name: 'DecryptionError' }, ops: [] })
      expect((await g.dbs[0]!.find('Notes')).map((d) => d._id)).toEqual(['x'])
    })
  })
})

/**
 * Bounded clocks (docs/SECURITY.md G4): an event stamped too far ahead waits for its time; a
 * log whose clock goes back has those events rejected everywhere; a local write that an event
 * already applied outranks is reported to its writer; a late event replays only what follows it.
 */
import { describe, expect, it } from 'vitest'
import { body, closeAfterEach, forger, group, onEveryBackend, take } from './helpers.js'

const NOTES = { name: 'Notes', schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' }, color: { type: 'string' }, n: { type: 'integer' } } } }
const create = (id: string, extra: object = {}): object => ({ t: 'create', c: 'Notes', id, doc: { _id: id, ...extra } })
const save = (id: string, patch: object): object => ({ t: 'save', c: 'Notes', id, patch })

const { keep, signal } = closeAfterEach()

onEveryBackend((make) => {
  describe('clocks', () => {
    it('an event stamped beyond the drift is held until its time and then applied', async () => {
      let clock = 1_800_000_000_000
      const g = keep(await group(make, 2, { collections: [NOTES], init: () => ({ now: () => clock, maxClockDriftMs: 60_000 }) }))
      const [a, b] = g.dbs
      const m = await forger(g.id)
      const ahead = m.record(body(create('ahead', { text: 'from the future' })), { wall: clock + 120_000, counter: 0 })
      const behind = m.record(body(create('behind')), { wall: clock + 120_001, counter: 0 })
      g.replicas[0]!.net.deliver(ahead)
      g.replicas[0]!.net.deliver(behind)
      await a!.sync()
      // Held: not applied, not counted, and the later record of its log waits behind it.
      expect(await a!.find('Notes')).toEqual([])
      expect(await a!.conflicts()).toEqual([])
      // An honest write made meanwhile is applied at once.
      await a!.create('Notes', [{ _id: 'now' }])
      expect((await a!.find('Notes')).map((d) => d._id)).toEqual(['now'])
      clock += 60_001
      await a!.sync()
      expect((await a!.find('Notes')).map((d) => d._id)).toEqual(['ahead', 'behind', 'now'])
      // A peer that receives the records once their time has come holds the same state.
      await g.settle()
      expect(await b!.stateHash()).toBe(await a!.stateHash())
    })

    it('a held event is applied by a timer when its time comes, without a sync', async () => {
      const g = keep(await group(make, 1, { collections: [NOTES], init: () => ({ maxClockDriftMs: 50 }) }))
      const [a] = g.dbs
      const created = take(a!.listen([{ type: 'create', collection: 'Notes' }], { signal: signal() }), 1)
      const m = await forger(g.id)
      g.replicas[0]!.net.deliver(m.record(body(create('soon')), { wall: Date.now() + 300, counter: 0 }))
      const [event] = await created
      expect(event).toMatchObject({ type: 'create', instanceID: 'soon' })
      expect(await a!.conflicts()).toEqual([])
    })

    it('an event whose time does not increase within its log is rejected on every peer', async () => {
      const g = keep(await group(make, 3, { collections: [NOTES] }))
      const m = await forger(g.id)
      const t = Date.now() + 1_000
      const records = [
        m.record(body(create('first')), { wall: t + 100, counter: 0 }),
        m.record(body(create('back')), { wall: t + 50, counter: 0 }),
        m.record(body(create('same')), { wall: t + 100, counter: 0 }),
        m.record(body(create('later')), { wall: t + 200, counter: 0 })
      ]
      // Each peer gets them differently: all at once, one by one, the last ones first after a sync.
      for (const r of records) g.replicas[0]!.net.deliver(r)
      for (const r of records) { g.replicas[1]!.net.deliver(r); await g.dbs[1]!.sync() }
      g.replicas[2]!.net.deliver(records[0]!)
      await g.dbs[2]!.sync()
      for (const r of records.slice(1)) g.replicas[2]!.net.deliver(r)
      await g.settle()
      const hashes = await Promise.all(g.dbs.map(async (db) => await db.stateHash()))
      for (const db of g.dbs) {
        expect(await db.stateHash()).toBe(hashes[0])
        expect((await db.find('Notes')).map((d) => d._id)).toEqual(['first', 'later'])
        const conflicts = await db.conflicts()
        expect(conflicts.map((x) => `${x.counter}:${x.error.name}`)).toEqual(['2:ClockRegressionError', '3:ClockRegressionError'])
        // A rejected event sits where the log's previous record does.
        expect(conflicts.map((x) => x.time.wall)).toEqual([t + 100, t + 100])
      }
    })

    it('a local save outranked by an applied event rejects with WriteOutrankedError', async () => {
      // This peer accepts events up to 10 minutes ahead; its net's clock does not follow one 5 minutes ahead.
      const g = keep(await group(make, 2, { collections: [NOTES], init: () => ({ maxClockDriftMs: 600_000 }) }))
      const [a, b] = g.dbs
      await a!.create('Notes', [{ _id: 'x', color: 'green', n: 1 }])
      await g.settle()
      const m = await forger(g.id)
      g.replicas[0]!.net.deliver(m.record(body(save('x', { color: 'blue' })), { wall: Date.now() + 300_000, counter: 0 }))
      await a!.sync()
      expect(await a!.findByID('Notes', 'x')).toEqual({ _id: 'x', color: 'blue', n: 1 })
      const records = g.replicas[0]!.net.held(g.id).length
      await expect(a!.save('Notes', [{ _id: 'x', color: 'red', n: 1 }])).rejects.toMatchObject({ name: 'WriteOutrankedError' })
      // The record exists and is applied at its place: the later event's colour stands.
      expect(g.replicas[0]!.net.held(g.id).length).toBe(records + 1)
      expect(await a!.findByID('Notes', 'x')).toEqual({ _id: 'x', color: 'blue', n: 1 })
      // A write whose effect survives is not outranked, even where it sorts before that event.
      await a!.save('Notes', [{ _id: 'x', color: 'blue', n: 2 }])
      expect(await a!.findByID('Notes', 'x')).toEqual({ _id: 'x', color: 'blue', n: 2 })
      await g.settle()
      expect(await b!.stateHash()).toBe(await a!.stateHash())
    })

    it('a late event rewinds the events ordered after it, replays them, and listeners see the net change', async () => {
      const g = keep(await group(make, 1, { collections: [NOTES] }))
      const [a] = g.dbs
      const m = await forger(g.id)
      const t = Date.now() + 1_000
      for (let i = 0; i < 1_200; i++) g.replicas[0]!.net.deliver(m.record(body(create(`e${String(i).padStart(4, '0')}`, { n: i })), { wall: t + 10 * i, counter: 0 }))
      const clash = await forger(g.id)
      g.replicas[0]!.net.deliver(clash.record(body(save('e0500', { text: 'second' })), { wall: t + 20_000, counter: 0 }))
      await a!.sync()
      const seen = take(a!.listen([{ collection: 'Notes' }], { signal: signal() }), 2)
      // Sorts after 1,000 events and before the last 201; one of its saves is overwritten by a later event.
      const late = await forger(g.id)
      g.replicas[0]!.net.deliver(late.record(body(create('late', { n: -1 }), save('e0500', { text: 'first' }), save('e0501', { color: 'red' })), { wall: t + 9_995, counter: 0 }))
      await a!.sync()
      expect((await seen).map((e) => `${e.type}:${'instanceID' in e ? e.instanceID : ''}`).sort()).toEqual(['create:late', 'save:e0501'])
      expect(await a!.findByID('Notes', 'e0500')).toEqual({ _id: 'e0500', n: 500, text: 'second' })
      expect(await a!.findByID('Notes', 'e0501')).toEqual({ _id: 'e0501', n: 501, color: 'red' })
      expect((await a!.find('Notes')).length).toBe(1_201)
      expect(await a!.conflicts()).toEqual([])
    })
  })
})

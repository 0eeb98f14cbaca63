/**
 * Frozen logs (docs/SECURITY.md G3, the DB's part): when the net proves that a log forked at a
 * record, none of that log's records at or past it applies — on every peer that has the proof,
 * whenever it arrives — and the fork is listed once in conflicts.
 */
import { describe, expect, it } from 'vitest'
import type { LogID, ThreadID } from '../../src/core/types.js'
import { dbNetFromNet, type Fork, type ForkNotice } from '../../src/db/index.js'
import type { Net } from '../../src/net/types.js'
import type { LogStore } from '../../src/store/logstore-types.js'
import { body, closeAfterEach, forger, group, onEveryBackend, take } from './helpers.js'

const NOTES = { name: 'Notes', schema: { type: 'object', properties: { _id: { type: 'string' }, n: { type: 'integer' } } } }
const create = (id: string, n = 0): object => ({ t: 'create', c: 'Notes', id, doc: { _id: id, n } })

const { keep, signal } = closeAfterEach()

onEveryBackend((make) => {
  describe('forks', () => {
    it('a fork notice drops the log\'s records at and past the fork on every peer, whenever it arrives', async () => {
      const g = keep(await group(make, 3, { collections: [NOTES] }))
      const [a, b, c] = g.dbs
      const m = await forger(g.id)
      const t = Date.now() + 1_000
      const records = [1, 2, 3, 4].map((i) => m.record(body(create(`m${i}`, i)), { wall: t + i, counter: 0 }))
      await a!.create('Notes', [{ _id: 'honest', n: 9 }])
      // Peer 0 has applied all four when the notice comes.
      for (const r of records) g.replicas[0]!.net.deliver(r)
      await a!.sync()
      expect((await a!.find('Notes')).length).toBe(5)
      const seen = take(a!.listen([{ collection: 'Notes' }, { type: 'rejected' }], { signal: signal() }), 3)
      g.replicas[0]!.net.fork(g.id, m.log, 3)
      // Peer 1 learns of the fork before it has any of the records; peer 2 only on sync.
      g.replicas[1]!.net.fork(g.id, m.log, 3)
      await b!.sync()
      await g.settle()
      expect((await seen).map((e) => e.type === 'rejected' ? `rejected:${e.error.name}` : `${e.type}:${e.instanceID}`).sort())
        .toEqual(['delete:m3', 'delete:m4', 'rejected:EquivocationError'])
      expect((await c!.find('Notes')).length).toBe(5)
      g.replicas[2]!.net.fork(g.id, m.log, 3)
      await c!.sync()
      const hashes = await Promise.all(g.dbs.map(async (db) => await db.stateHash()))
      for (const db of g.dbs) {
        expect(await db.stateHash()).toBe(hashes[0])
        expect((await db.find('Notes')).map((d) => d._id)).toEqual(['honest', 'm1', 'm2'])
        const conflicts = await db.conflicts()
        expect(conflicts.map((x) => `${x.log}:${x.counter}:${x.error.name}`)).toEqual([`${m.log}:3:EquivocationError`])
        expect(conflicts[0]!.author).toBe(m.author)
      }
      // A tighter fork drops more; the same notice twice changes nothing.
      for (const r of g.replicas) { r.net.fork(g.id, m.log, 2); r.net.fork(g.id, m.log, 2) }
      for (const db of g.dbs) await db.sync()
      for (const db of g.dbs) {
        expect((await db.find('Notes')).map((d) => d._id)).toEqual(['honest', 'm1'])
        expect((await db.conflicts()).map((x) => `${x.counter}:${x.error.name}`)).toEqual(['2:EquivocationError', '3:EquivocationError'])
      }
      // Honest writes keep flowing.
      await b!.create('Notes', [{ _id: 'after', n: 1 }])
      await g.settle()
      expect((await c!.find('Notes')).map((d) => d._id)).toEqual(['after', 'honest', 'm1'])
    })

    it('a multi-record transaction cut by a fork does not apply', async () => {
      const g = keep(await group(make, 1, { collections: [NOTES] }))
      const [a] = g.dbs
      const m = await forger(g.id)
      const t = Date.now() + 1_000
      const part = (k: number, ops: object[]): object => ({ ...body(...ops), txn: { id: 'tx', part: k, parts: 2 } })
      g.replicas[0]!.net.deliver(m.record(part(0, [create('p0')]), { wall: t, counter: 0 }))
      g.replicas[0]!.net.deliver(m.record(part(1, [create('p1')]), { wall: t + 1, counter: 0 }))
      g.replicas[0]!.net.fork(g.id, m.log, 2)
      await a!.sync()
      expect(await a!.find('Notes')).toEqual([])
      expect((await a!.conflicts()).map((x) => `${x.counter}:${x.error.name}`)).toEqual(['2:EquivocationError'])
    })
  })
})

describe('dbNetFromNet', () => {
  it('passes on the forks of its fork source, and has none without one', async () => {
    const thread = 'bafkthread' as ThreadID
    const known: Fork[] = [{ log: 'L1' as LogID, counter: 4 }]
    const notices: ForkNotice[] = [{ thread, log: 'L2' as LogID, counter: 7 }]
    const source = {
      forks: async (id: ThreadID) => id === thread ? known : [],
      async * subscribe() { yield * notices }
    }
    const net = dbNetFromNet({} as Net, {} as LogStore, source)
    expect(await net.forks!(thread)).toEqual(known)
    const got: ForkNotice[] = []
    for await (const n of net.forkNotices!({ threads: [thread] })) got.push(n)
    expect(got).toEqual(notices)
    const plain = dbNetFromNet({} as Net, {} as LogStore)
    expect(plain.forks).toBeUndefined()
    expect(plain.forkNotices).toBeUndefined()
  })
})

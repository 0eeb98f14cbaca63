/**
 * End to end on real libp2p peers (TCP on loopback): A creates a DB with a collection, B joins
 * from A's address and key and gets the collection definition from the thread; writes on either
 * side reach the other and fire its listeners; concurrent conflicting saves converge.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createDBManager, dbNetFromNet, where, type DBManager, type ListenEvent } from '../../src/db/index.js'
import { memoryStore } from '../../src/store/memory.js'
import type { Peer } from '../../src/node/peer.js'
import { startPeer, stopAll, until } from '../net/helpers.js'
import { take } from './helpers.js'

const managers: DBManager[] = []
const controllers: AbortController[] = []
afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort()
  await Promise.all(managers.splice(0).map(async (m) => { await m.close() }))
  await stopAll()
})

async function dbPeer(peer: Peer): Promise<DBManager> {
  const m = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore), kv: memoryStore(), logPrefix: peer.peerId.slice(-4) })
  managers.push(m)
  return m
}

function listener(events: AsyncIterable<ListenEvent>, count: number): Promise<ListenEvent[]> {
  return take(events, count, 20_000)
}

describe('DB between two real peers', () => {
  it('joins from an address, syncs writes both ways with listeners, and converges after concurrent saves', async () => {
    const [a, b] = await Promise.all([startPeer(), startPeer()])
    const ma = await dbPeer(a!)
    const mb = await dbPeer(b!)
    const dbA = await ma.newDB(undefined, {
      name: 'shared',
      collections: [{
        name: 'Persons',
        schema: { type: 'object', properties: { _id: { type: 'string' }, name: { type: 'string' }, age: { type: 'integer' }, city: { type: 'string' } } },
        indexes: [{ path: 'name', unique: true }]
      }]
    })
    await dbA.create('Persons', [{ _id: 'alice', name: 'Alice', age: 30 }])
    const info = await ma.getDBInfo(dbA.id)
    expect(info.name).toBe('shared')
    const addr = info.addrs.find((x) => x.includes('/tcp/') && !x.includes('/ws'))!

    const dbB = await mb.newDBFromAddr(addr, info.key)
    expect(dbB.id).toBe(dbA.id)
    // The collection definition and the instance came with the thread.
    expect((await dbB.getCollectionInfo('Persons')).indexes).toEqual([{ path: 'name', unique: true }])
    expect(await dbB.findByID('Persons', 'alice')).toEqual({ _id: 'alice', name: 'Alice', age: 30 })

    // Once A knows B's log, a write on B fires A's listener, and the other way round.
    await until(async () => (await a!.net.getThread(dbA.id)).logs.length === 2, 20_000, 'A to learn B\'s log')
    const ca = new AbortController()
    const cb = new AbortController()
    controllers.push(ca, cb)
    const onA = listener(dbA.listen([{ type: 'create', collection: 'Persons' }], { signal: ca.signal }), 1)
    const onB = listener(dbB.listen([{ type: 'create', collection: 'Persons' }], { signal: cb.signal }), 2)
    await dbB.create('Persons', [{ _id: 'bob', name: 'Bob', age: 40 }])
    expect(await onA).toMatchObject([{ type: 'create', instanceID: 'bob', instance: { name: 'Bob' } }])
    await dbA.create('Persons', [{ _id: 'carol', name: 'Carol', age: 50 }])
    expect((await onB).map((e) => e.instanceID)).toEqual(['bob', 'carol'])
    expect((await dbB.find('Persons', where('name').eq('Carol'))).map((d) => d._id)).toEqual(['carol'])

    // Concurrent saves of the same fields, and of different fields, of one instance.
    const settled = await Promise.allSettled([
      dbA.save('Persons', [{ _id: 'alice', name: 'Alice', age: 31, city: 'Paris' }]),
      dbB.save('Persons', [{ _id: 'alice', name: 'Alice', age: 32 }]),
      dbB.create('Persons', [{ _id: 'dup-b', name: 'Dup' }]),
      dbA.create('Persons', [{ _id: 'dup-a', name: 'Dup' }])
    ])
    // A create may be refused locally if the other's record arrived first; nothing else may fail.
    const refusedLocally = settled.filter((x) => x.status === 'rejected')
    for (const x of refusedLocally) expect((x as PromiseRejectedResult).reason).toMatchObject({ name: 'UniqueConstraintError' })
    expect(settled.slice(0, 2).every((x) => x.status === 'fulfilled')).toBe(true)
    await until(async () => {
      const [x, y] = await Promise.all([a!.net.getThread(dbA.id), b!.net.getThread(dbA.id)])
      const total = (t: typeof x): number => t.logs.reduce((n, l) => n + l.head.counter, 0)
      return total(x) === total(y) && total(x) >= 8 - refusedLocally.length
    }, 20_000, 'both peers to hold every record')
    await dbA.sync()
    await dbB.sync()
    expect(await dbA.stateHash()).toBe(await dbB.stateHash())
    const aliceA = await dbA.findByID('Persons', 'alice')
    expect(aliceA).toEqual(await dbB.findByID('Persons', 'alice'))
    expect(aliceA.city).toBe('Paris') // a different field from one writer survives the other's save
    expect([31, 32]).toContain(aliceA.age)
    // Exactly one of the two "Dup" creates won; the other is a visible conflict on both peers
    // (or was refused before it became a record).
    expect(await dbA.find('Persons', where('name').eq('Dup'))).toHaveLength(1)
    const [conflictsA, conflictsB] = await Promise.all([dbA.conflicts(), dbB.conflicts()])
    expect(conflictsA.map((c) => c.error.name)).toEqual(refusedLocally.length === 0 ? ['UniqueConstraintError'] : [])
    expect(conflictsB).toEqual(conflictsA)
  })
})

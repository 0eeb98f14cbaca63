/**
 * Transactions larger than one record span consecutive records of the writer's log and still
 * apply as one event: nothing until the last part arrives, then all of it or none of it, on the
 * writer and on every other peer.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { where } from '../../src/db/index.js'
import { createFakeWorld, exchange, replica, take, type TestReplica } from './helpers.js'

const open: TestReplica[] = []
const controllers: AbortController[] = []
afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort()
  await Promise.all(open.splice(0).map(async (r) => { await r.manager.close() }))
})

async function pair() {
  const world = createFakeWorld()
  const a = await replica(world, 'a', { maxEventBytes: 300 })
  const b = await replica(world, 'b', { maxEventBytes: 300 })
  open.push(a, b)
  const dbA = await a.manager.newDB(undefined, { collections: [{ name: 'Things', indexes: [{ path: 'k', unique: true }] }, { name: 'Other' }] })
  const dbB = await b.manager.newDBFromAddr(`fake://a/${dbA.id}`, (await a.manager.getDBInfo(dbA.id)).key)
  return { a, b, dbA, dbB }
}

describe('transactions over several records', () => {
  it('commits a large transaction as consecutive records applied as one event on every peer', async () => {
    const { a, b, dbA, dbB } = await pair()
    const before = a.net.held(dbA.id).length
    const txn = dbA.writeTransaction('Things')
    await txn.start()
    await txn.create(Array.from({ length: 20 }, (_, i) => ({ _id: `t${i}`, k: i, text: 'x'.repeat(40) })))
    await txn.collection('Other').create([{ _id: 'o1' }])
    await txn.end()
    const parts = a.net.held(dbA.id).slice(before)
    expect(parts.length).toBeGreaterThan(2)
    expect(parts.map((r) => (r.body as { txn?: { part: number } }).txn?.part)).toEqual(parts.map((_, i) => i))
    expect(await dbA.find('Things', {})).toHaveLength(20)

    // B sees nothing until the last part, then everything at once.
    const c = new AbortController()
    controllers.push(c)
    const events = take(dbB.listen([], { signal: c.signal }), 21)
    for (const r of parts.slice(0, -1)) b.net.deliver(r)
    await dbB.sync()
    expect(await dbB.find('Things', {})).toEqual([])
    b.net.deliver(parts[parts.length - 1]!)
    await dbB.sync()
    expect(await dbB.find('Things', {})).toHaveLength(20)
    expect(await dbB.findByID('Other', 'o1')).toEqual({ _id: 'o1' })
    expect((await events).length).toBe(21)
    expect(await dbB.stateHash()).toBe(await dbA.stateHash())
  })

  it('rejects the whole multi-record transaction when its last part conflicts', async () => {
    const { a, b, dbA, dbB } = await pair()
    // B takes k=19 first (in HLC order), without A knowing.
    await dbB.create('Things', [{ _id: 'b', k: 19 }])
    const txn = dbA.writeTransaction('Things')
    await txn.start()
    await txn.create(Array.from({ length: 20 }, (_, i) => ({ _id: `t${i}`, k: i, text: 'x'.repeat(40) })))
    await txn.end()
    exchange([a.net, b.net], dbA.id)
    await dbA.sync()
    await dbB.sync()
    for (const db of [dbA, dbB]) {
      expect((await db.find('Things', {})).map((d) => d._id)).toEqual(['b'])
      expect((await db.conflicts()).map((x) => x.error.name)).toEqual(['UniqueConstraintError'])
    }
    expect(await dbA.find('Things', where('k').eq(0))).toEqual([])
    expect(await dbB.stateHash()).toBe(await dbA.stateHash())
  })
})

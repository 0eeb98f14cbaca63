/**
 * Listeners: filters are OR-ed, deletes and rejections are delivered, a read filter applies per
 * listener identity, and a listener that falls behind ends with SubscriberOverflowError instead
 * of losing events.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/index.js'
import { createFakeWorld, replica, take, type TestReplica } from './helpers.js'

let r: TestReplica
let db: Database
const controllers: AbortController[] = []
beforeEach(async () => {
  r = await replica(createFakeWorld(), 'l')
  db = await r.manager.newDB(undefined, {
    collections: [
      { name: 'A', readFilter: 'return reader === "admin" || !instance.secret ? instance : null' },
      { name: 'B', indexes: [{ path: 'k', unique: true }] }
    ]
  })
})
afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort()
  await r.manager.close()
})

function signal(): AbortSignal {
  const c = new AbortController()
  controllers.push(c)
  return c.signal
}

describe('listeners', () => {
  it('OR-combines filters and delivers deletes', async () => {
    const events = take(db.listen([{ type: 'delete' }, { type: 'create', collection: 'B' }], { signal: signal() }), 3)
    await db.create('A', [{ _id: 'a1' }])
    await db.create('B', [{ _id: 'b1' }])
    await db.delete('A', ['a1'])
    await db.delete('B', ['b1'])
    expect((await events).map((e) => `${e.type}:${e.collection}/${e.instanceID}`)).toEqual(['create:B/b1', 'delete:A/a1', 'delete:B/b1'])
  })

  it('applies the read filter with the listener identity', async () => {
    const plain = take(db.listen([{ collection: 'A' }], { signal: signal() }), 1)
    const admin = take(db.listen([{ collection: 'A' }], { signal: signal(), identity: 'admin' }), 2)
    await db.create('A', [{ _id: 'hidden', secret: true }])
    await db.create('A', [{ _id: 'shown' }])
    expect((await plain).map((e) => e.instanceID)).toEqual(['shown'])
    expect((await admin).map((e) => e.instanceID)).toEqual(['hidden', 'shown'])
  })

  it('ends a listener that falls too far behind with SubscriberOverflowError', async () => {
    const it = db.listen([], { signal: signal(), bufferSize: 3 })[Symbol.asyncIterator]()
    for (let i = 0; i < 5; i++) await db.create('B', [{ k: i }])
    const got: string[] = []
    await expect((async () => {
      for (;;) {
        const n = await it.next()
        if (n.done === true) return
        got.push(n.value.instanceID ?? '')
      }
    })()).rejects.toMatchObject({ name: 'SubscriberOverflowError' })
    expect(got).toHaveLength(3)
  })
})

/**
 * Joining on real peers (TCP on loopback): the joining DB opens once its thread exists and folds
 * the records in large batches while the pull goes on, not after it; a join that fails after the
 * DB folded part of the thread leaves that part, and joining again ends with the source's state.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { newThreadID } from '../../src/core/index.js'
import type { ThreadID } from '../../src/core/types.js'
import { createDBManager, dbNetFromNet, type Database, type DBManager, type DBNet } from '../../src/db/index.js'
import { createLayout } from '../../src/db/keys.js'
import type { KVStore } from '../../src/store/kv.js'
import { memoryStore } from '../../src/store/memory.js'
import type { Peer } from '../../src/node/peer.js'
import { startPeer, stopAll, until } from '../net/helpers.js'

const PEOPLE = {
  name: 'People',
  schema: { type: 'object', properties: { _id: { type: 'string' }, name: { type: 'string' } }, required: ['name'] }
}
/** More records than the joining DB waits for before it folds a batch. */
const DOCS = 2_100

const managers: DBManager[] = []
afterEach(async () => {
  await Promise.all(managers.splice(0).map(async (m) => { await m.close() }))
  await stopAll()
})

async function manager(net: DBNet, kv: KVStore): Promise<DBManager> {
  const m = await createDBManager({ net, kv })
  managers.push(m)
  return m
}

async function eventsStored(kv: KVStore, id: ThreadID): Promise<number> {
  let n = 0
  for await (const _ of kv.range({ prefix: createLayout(id).eventPrefix() })) n++
  return n
}

async function source(): Promise<{ a: Peer; db: Database; address: string; key: string }> {
  const a = await startPeer()
  const db = await (await manager(dbNetFromNet(a.net, a.logStore), memoryStore())).newDB(undefined, { collections: [PEOPLE] })
  await Promise.all(Array.from({ length: 20 }, async (_, w) => {
    for (let i = w; i < DOCS; i += 20) await db.create('People', [{ _id: `p${i}`, name: `p${i}` }])
  }))
  const info = await managers[0]!.getDBInfo(db.id)
  return { a, db, address: info.addrs[0]!, key: info.key }
}

describe('joining a DB on real peers', () => {
  it('folds records while its pull is still going on', async () => {
    const src = await source()
    const b = await startPeer()
    const kv = memoryStore()
    const net = dbNetFromNet(b.net, b.logStore)
    let foldedBeforePullEnded = 0
    // The pull does not end until the joining DB folded some of what it delivered.
    const held: DBNet = Object.create(net) as DBNet
    held.addThread = async (address, options) => {
      const info = await net.addThread(address, options)
      await until(async () => (foldedBeforePullEnded = await eventsStored(kv, src.db.id)) > 0, 20_000, 'the DB to fold records during the pull')
      return info
    }
    const joined = await (await manager(held, kv)).newDBFromAddr(src.address, src.key)
    expect(foldedBeforePullEnded).toBeGreaterThan(0)
    expect(await joined.find('People', {})).toHaveLength(DOCS)
    expect(await joined.stateHash()).toBe(await src.db.stateHash())
  }, 60_000)

  it('keeps what it folded when the join fails, and ends with the source state when joined again', async () => {
    const src = await source()
    const b = await startPeer()
    const kv = memoryStore()
    const net = dbNetFromNet(b.net, b.logStore)
    const failing: DBNet = Object.create(net) as DBNet
    failing.addThread = async (address, options) => {
      await net.addThread(address, options)
      await until(async () => await eventsStored(kv, src.db.id) > 0, 20_000, 'the DB to fold records during the pull')
      throw new Error('the connection dropped')
    }
    await expect((await manager(failing, kv)).newDBFromAddr(src.address, src.key)).rejects.toThrow('the connection dropped')
    expect(await eventsStored(kv, src.db.id)).toBeGreaterThan(0)
    const again = await manager(net, kv)
    const joined = await again.newDBFromAddr(src.address, src.key)
    expect(await joined.find('People', {})).toHaveLength(DOCS)
    expect(await joined.stateHash()).toBe(await src.db.stateHash())
    expect(await joined.conflicts()).toEqual([])
  }, 60_000)

  it('ends with the state of the writers when the thread holds several logs', async () => {
    const [a, c, b] = await Promise.all([startPeer(), startPeer(), startPeer()])
    const ma = await manager(dbNetFromNet(a.net, a.logStore), memoryStore())
    // An ungoverned DB: anyone with the key writes.
    const dbA = await ma.newDB(newThreadID(), { collections: [PEOPLE] })
    const info = await ma.getDBInfo(dbA.id)
    const half = DOCS
    const write = async (db: Database, w: number): Promise<void> => {
      await Promise.all(Array.from({ length: 20 }, async (_, k) => {
        for (let i = k; i < half; i += 20) await db.create('People', [{ _id: `w${w}-${i}`, name: `w${w}-${i}` }])
      }))
    }
    // A writes, C joins (pulling all of A's log) and writes: C holds both logs.
    await write(dbA, 0)
    const dbC = await (await manager(dbNetFromNet(c.net, c.logStore), memoryStore())).newDBFromAddr(info.addrs[0]!, info.key)
    await write(dbC, 1)
    const kv = memoryStore()
    const mc = managers[managers.length - 1]!
    const fromC = (await mc.getDBInfo(dbC.id)).addrs[0]!
    const joined = await (await manager(dbNetFromNet(b.net, b.logStore), kv)).newDBFromAddr(fromC, info.key)
    expect(await joined.find('People', {})).toHaveLength(2 * half)
    expect(await joined.stateHash()).toBe(await dbC.stateHash())
  }, 90_000)
})

/**
 * One store commit per transaction: when the DB and the peer's log store share a KV store (a Node
 * peer, the worker, the hub), a local transaction's records, its log's head, its documents, index
 * entries and events are written in ONE atomic batch. A batch that fails leaves neither the records
 * nor the documents behind, and the DB goes on writing. Real Node peers (LevelDB repo), real net.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createDBManager, dbNetFromNet, type DBManager } from '../../src/db/index.js'
import type { Peer } from '../../src/node/peer.js'
import type { BatchOp } from '../../src/store/index.js'
import { until } from '../helpers/until.js'
import { startPeer, stopAll, stopPeer } from '../net/helpers.js'

const dirs: string[] = []
const managers: DBManager[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(managers.splice(0).map(async (m) => { await m.close() }))
  await stopAll()
  await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
})

async function repo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-one-batch-'))
  dirs.push(dir)
  return dir
}

async function open(peer: Peer): Promise<DBManager> {
  const m = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore), kv: peer.kv })
  managers.push(m)
  return m
}

const NOTES = { name: 'Notes', schema: { type: 'object', properties: { _id: { type: 'string' }, n: { type: 'number' } }, required: ['_id', 'n'] }, indexes: [{ path: 'n' }] }
const utf8 = (b: Uint8Array): string => new TextDecoder().decode(b)
/** The first tuple segment of a key: `ls` (log store) or `weft-db` (the DB). */
const space = (op: BatchOp): string => utf8(op.key.subarray(0, op.key.indexOf(0)))

describe('one store commit per transaction', () => {
  it('writes a transaction\'s records, log head, documents and index entries in one atomic batch when the DB shares the peer\'s store', async () => {
    const peer = await startPeer({ repo: await repo() })
    const db = await (await open(peer)).newDB(undefined, { collections: [NOTES] })
    const batch = vi.spyOn(peer.kv, 'batch')
    const [id] = await db.create('Notes', [{ n: 1 }])
    expect(batch).toHaveBeenCalledTimes(1)
    const ops = batch.mock.calls[0]![0]
    expect(new Set(ops.map(space))).toEqual(new Set(['ls', 'weft-db']))
    expect(await db.findByID('Notes', id!)).toMatchObject({ n: 1 })
    const txn = db.writeTransaction('Notes')
    await txn.start()
    await txn.save([{ _id: id!, n: 2 }])
    await txn.create([{ n: 3 }])
    batch.mockClear()
    await txn.end()
    expect(batch).toHaveBeenCalledTimes(1)
    expect(await db.find('Notes', { ands: [{ fieldPath: 'n', operation: 'eq', value: 3 }] })).toHaveLength(1)
  })

  it('writes transactions that end together in one batch, each durable when it resolves', async () => {
    const peer = await startPeer({ repo: await repo() })
    const db = await (await open(peer)).newDB(undefined, { collections: [NOTES] })
    const batch = vi.spyOn(peer.kv, 'batch')
    await Promise.all(Array.from({ length: 50 }, async (_, i) => await db.create('Notes', [{ n: i }])))
    expect(batch.mock.calls.length).toBeLessThan(50)
    expect(await db.find('Notes', {})).toHaveLength(50)
    expect((await peer.net.getThread(db.id)).logs[0]!.head.counter).toBe(51)
  })

  it('still rejects a transaction whose reads a one-batch commit changed with TransactionConflictError, and sees new collections at once', async () => {
    const peer = await startPeer({ repo: await repo() })
    const db = await (await open(peer)).newDB(undefined, { collections: [NOTES] })
    const [id] = await db.create('Notes', [{ n: 1 }])
    const txn = db.writeTransaction('Notes')
    await txn.start()
    expect(await txn.findByID(id!)).toMatchObject({ n: 1 })
    await db.save('Notes', [{ _id: id!, n: 5 }])
    await txn.save([{ _id: id!, n: 2 }])
    await expect(txn.end()).rejects.toMatchObject({ name: 'TransactionConflictError' })
    expect(await db.findByID('Notes', id!)).toMatchObject({ n: 5 })
    // A collection defined through a one-batch commit is known to the next call.
    await db.newCollection({ name: 'Tags', schema: { type: 'object', properties: { _id: { type: 'string' } } } })
    const [tag] = await db.create('Tags', [{}])
    expect(await db.findByID('Tags', tag!)).toMatchObject({ _id: tag })
  })

  it('commits a validated write in one batch only when its record carries the time the validator saw, and every peer folds it alike', async () => {
    const a = await startPeer({ repo: await repo() })
    const db = await (await open(a)).newDB(undefined, {
      collections: [{
        name: 'Stamped',
        schema: { type: 'object', properties: { _id: { type: 'string' }, n: { type: 'number' } }, required: ['_id', 'n'] },
        // The answer depends on the time: a dry run at another time than the record's would differ.
        writeValidator: 'return event.timestamp % 3 !== 0 || "the time is a multiple of 3"'
      }]
    })
    const batch = vi.spyOn(a.kv, 'batch')
    const outcomes: Array<'ok' | 'rejected'> = []
    let single = 0
    for (let i = 0; i < 60; i++) {
      batch.mockClear()
      try {
        await db.create('Stamped', [{ n: i }])
        outcomes.push('ok')
      } catch (err) {
        expect((err as Error).name).toBe('ValidatorRejectedError')
        outcomes.push('rejected')
      }
      if (batch.mock.calls.length === 1) single++
    }
    expect(single).toBeGreaterThan(0)
    const held = (await db.find('Stamped', {})) as Array<{ n: number }>
    expect(held.map((d) => d.n).sort((x, y) => x - y)).toEqual(outcomes.flatMap((o, i) => (o === 'ok' ? [i] : [])))
    // A peer that folds the same records from the log reaches the same state.
    const b = await startPeer()
    const mb = await createDBManager({ net: dbNetFromNet(b.net, b.logStore), kv: b.kv })
    managers.push(mb)
    const info = await (managers[0]!).getDBInfo(db.id)
    const joined = await mb.newDBFromAddr(info.addrs.find((x) => x.includes('/tcp/') && !x.includes('/ws'))!, info.key)
    await until(async () => (await joined.find('Stamped', {})).length === held.length && await joined.stateHash() === await db.stateHash(), 'the joined peer to fold every record')
  })

  it('leaves neither the records nor the documents when the batch fails, and keeps writing after it', async () => {
    const dir = await repo()
    const peer = await startPeer({ repo: dir })
    const m = await open(peer)
    const db = await m.newDB(undefined, { collections: [NOTES] })
    await db.create('Notes', [{ n: 1 }])
    const head = async (p: Peer): Promise<number> => (await p.net.getThread(db.id)).logs[0]!.head.counter
    const before = await head(peer)
    const real = peer.kv.batch.bind(peer.kv)
    vi.spyOn(peer.kv, 'batch').mockImplementationOnce(async () => { throw new Error('the disk is full') })
    await expect(db.create('Notes', [{ n: 2 }])).rejects.toThrow('the disk is full')
    expect(await head(peer)).toBe(before)
    expect(await db.find('Notes', { ands: [{ fieldPath: 'n', operation: 'eq', value: 2 }] })).toHaveLength(0)
    vi.spyOn(peer.kv, 'batch').mockImplementation(real)
    await db.create('Notes', [{ n: 3 }])
    expect(await head(peer)).toBe(before + 1)

    // Reopened from the same repo, the peer holds exactly what was acknowledged.
    await m.close()
    managers.splice(managers.indexOf(m), 1)
    await stopPeer(peer)
    const again = await startPeer({ repo: dir })
    const reopened = (await open(again)).getDB(db.id)
    expect((await reopened.find('Notes', {})).map((d) => (d as { n: number }).n).sort()).toEqual([1, 3])
    expect(await reopened.find('Notes', { ands: [{ fieldPath: 'n', operation: 'eq', value: 3 }] })).toHaveLength(1)
    expect(await head(again)).toBe(before + 1)
  })
})

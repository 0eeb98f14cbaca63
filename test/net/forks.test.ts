/**
 * Forks (docs/PROTOCOL.md, "Forks"): a member whose log key signs two branches of its log, handed
 * to different honest peers over real TCP connections. The honest peers find the fork — at once
 * where a record meets ours at its position, or by searching back where the branches parted long
 * before — freeze the log at the same counter, pass the proof on (to a peer that saw neither
 * branch too), tell subscribers, and strike nobody for passing a branch on.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair, privateKeyToBytes } from '../../src/core/identity.js'
import { logIDToBytes, logIDFromPublicKey } from '../../src/core/log-id.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { parseThreadKey, type ReadableThreadKey } from '../../src/core/thread-key.js'
import type { LogID, ThreadID } from '../../src/core/types.js'
import { forkSource } from '../../src/net/index.js'
import type { ForkNotice } from '../../src/net/types.js'
import type { Peer } from '../../src/node/peer.js'
import { forger } from './forge.js'
import { authFields, rawSession } from './raw.js'
import { honestStillSyncs, startPeer, stopAll, until } from './helpers.js'

afterEach(async () => { await stopAll() })

async function members(): Promise<{ a: Peer; b: Peer; e: Peer; id: ThreadID; key: ReadableThreadKey; addr: string }> {
  const a = await startPeer()
  const b = await startPeer()
  const e = await startPeer()
  const id = newThreadID()
  const info = await a.net.createThread(id)
  await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
  return { a, b, e, id, key: parseThreadKey(info.key) as ReadableThreadKey, addr: info.addrs[0]! }
}

function headOf(info: Awaited<ReturnType<Peer['net']['getThread']>>, log: LogID): { counter: number; frozenAt: number | undefined } {
  const l = info.logs.find((x) => x.id === log)
  return { counter: l?.head.counter ?? -1, frozenAt: l?.frozenAt }
}

/** The first fork notice for `log` a peer's net reports (rejects after `ms`). */
async function notice(peer: Peer, id: ThreadID, log: LogID, ms = 15_000): Promise<ForkNotice> {
  const stop = new AbortController()
  const timer = setTimeout(() => { stop.abort() }, ms)
  try {
    for await (const n of peer.net.forkNotices({ threads: [id], signal: stop.signal })) if (n.log === log) return n
    throw new Error(`no fork notice for ${log} at ${peer.peerId}`)
  } finally {
    clearTimeout(timer)
    stop.abort()
  }
}

describe('forks', () => {
  it('peers given different branches of one log find the fork at once, freeze the log at it and strike nobody', async () => {
    const { a, b, e, id, key } = await members()
    const m = await forger(id, key)
    const common = await m.chain('common', 2)
    const x = await m.chain('x', 2, common[1]!.record.cid, 3)
    const y = await m.chain('y', 2, common[1]!.record.cid, 3)
    const atA = notice(a, id, m.log)
    const atB = notice(b, id, m.log)
    await m.push(e, a, [...common, ...x], 1)
    await m.push(e, b, [...common, ...y], 1)
    expect(await atA).toEqual({ thread: id, log: m.log, counter: 3 })
    expect(await atB).toEqual({ thread: id, log: m.log, counter: 3 })
    for (const p of [a, b]) {
      expect(await p.net.forks(id)).toEqual([{ log: m.log, counter: 3 }])
      expect(headOf(await p.net.getThread(id), m.log)).toEqual({ counter: 2, frozenAt: 3 })
      expect(p.net.stats()).toMatchObject({ strikes: 0, bans: 0, rejected: 0 })
    }
    // No record of the log at or past the fork is taken again.
    const again = await m.push(e, a, y, 3)
    expect(again.slice(1)).toEqual([expect.objectContaining({ type: 'error', code: 'INVALID_RECORD' }), expect.objectContaining({ type: 'error', code: 'INVALID_RECORD' })])
    expect(headOf(await a.net.getThread(id), m.log).counter).toBe(2)
    expect(a.net.stats().strikes).toBe(0)
    await honestStillSyncs(a, b, id, 1)
  })

  it('finds a fork far behind the heads by searching back with the peer, and both peers freeze the log at it', async () => {
    const a = await startPeer()
    const b = await startPeer()
    const e = await startPeer()
    const id = newThreadID()
    const info = await a.net.createThread(id)
    const key = parseThreadKey(info.key) as ReadableThreadKey
    // B holds the thread too but has not met A: each is handed its own branch first.
    await b.net.createThread(id, { threadKey: info.key })
    const m = await forger(id, key)
    const common = await m.chain('common', 3)
    const x = await m.chain('x', 40, common[2]!.record.cid, 4)
    const y = await m.chain('y', 10, common[2]!.record.cid, 4)
    await m.push(e, a, [...common, ...x], 1)
    await m.push(e, b, [...common, ...y], 1)
    const atA = notice(a, id, m.log)
    const atB = notice(b, id, m.log)
    // Now B meets A: its pull finds A's record 14 does not follow its record 13, and searches back.
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    expect(await atB).toEqual({ thread: id, log: m.log, counter: 4 })
    expect(await atA).toEqual({ thread: id, log: m.log, counter: 4 })
    for (const p of [a, b]) {
      expect(headOf(await p.net.getThread(id), m.log)).toEqual({ counter: 3, frozenAt: 4 })
      expect(p.net.stats().strikes).toBe(0)
    }
    await honestStillSyncs(a, b, id, 1)
  })

  it('a member that saw neither branch learns the fork from the proof and freezes the log at the same counter', async () => {
    const { a, b, e, id, key, addr } = await members()
    const m = await forger(id, key)
    const common = await m.chain('common', 5)
    await m.push(e, a, [...common, ...await m.chain('x', 1, common[4]!.record.cid, 6)], 1)
    await m.push(e, b, [...common, ...await m.chain('y', 1, common[4]!.record.cid, 6)], 1)
    await until(async () => (await a.net.forks(id)).length > 0 && (await b.net.forks(id)).length > 0, 15_000, 'A and B to freeze the log')
    const c = await startPeer()
    const atC = notice(c, id, m.log)
    await c.net.addThread(addr, { threadKey: (await a.net.getThread(id)).key })
    expect(await atC).toEqual({ thread: id, log: m.log, counter: 6 })
    expect(headOf(await c.net.getThread(id), m.log)).toEqual({ counter: 5, frozenAt: 6 })
    // The DB layer's view of the same forks.
    expect(await forkSource(c.net).forks(id)).toEqual([{ log: m.log, counter: 6 }])
    expect(c.net.stats().strikes).toBe(0)
  })

  it('a forged fork proof is refused with BAD_REQUEST, counted against its sender, and freezes nothing', async () => {
    const { a, e, id, key } = await members()
    const m = await forger(id, key)
    const [r1] = await m.chain('one', 1)
    await m.push(e, a, [r1!], 1)
    // The second record is signed by another key: no proof that the log's owner equivocated.
    const other = await forger(id, key)
    const [stranger] = await other.chain('other', 1)
    const s = await rawSession(e, a)
    const auth = authFields(key.service, id, e, a)
    const { publicKeyToBytes } = await import('../../src/core/identity.js')
    const answer = await s.ask({
      type: 'pushLog', ...auth,
      log: { id: logIDToBytes(m.log), pubKey: publicKeyToBytes(m.key.publicKey), addrs: [], counter: 1, fork: { counter: 1, records: [r1!.record.bytes, stranger!.record.bytes] } }
    })
    expect(answer).toMatchObject({ type: 'error', code: 'BAD_REQUEST' })
    expect(a.net.stats().strikes).toBe(1)
    expect(await a.net.forks(id)).toEqual([])
  })

  it('a log key used on two devices forks the log: its writer learns it and may not write to it any more', async () => {
    const { a, b, id } = await members()
    const key = await generateKeyPair()
    const log = logIDFromPublicKey(key.publicKey)
    const info = await a.net.getThread(id)
    // A adds a log of its own keyed with `key`; another device holding the same key writes to it alone.
    await a.net.addLog(id, { logKey: privateKeyToBytes(key) })
    const twin = await startPeer()
    await twin.net.createThread(id, { threadKey: info.key, logKey: privateKeyToBytes(key) })
    await twin.net.createRecord(id, { from: 'twin' })
    await a.net.createRecord(id, { from: 'a' }, { log })
    const frozen = notice(a, id, log)
    // The twin meets B, which holds A's record 1 of the log.
    await until(async () => headOf(await b.net.getThread(id), log).counter === 1, 10_000, 'B to hold A\'s record')
    await twin.net.addThread((await b.net.getThread(id)).addrs[0]!, { threadKey: info.key })
    expect(await frozen).toEqual({ thread: id, log, counter: 1 })
    await expect(a.net.createRecord(id, { from: 'a again' }, { log })).rejects.toMatchObject({ name: 'LogFrozenError' })
    // A's first log is untouched.
    await honestStillSyncs(a, b, id, 1)
  })
})

/**
 * Helpers for multi-peer net tests: real libp2p nodes on 127.0.0.1 over TCP.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { createPeer, type Peer, type PeerInit } from '../../src/node/peer.js'
import type { NetRecord } from '../../src/net/types.js'
import type { ThreadID } from '../../src/core/types.js'
import { take } from '../helpers/take.js'
import { until as pollUntil } from '../helpers/until.js'

export { freePort } from '../helpers/ports.js'

export const started: Peer[] = []
const dirs: string[] = []

/** A peer on loopback, logging under its own prefix, stopped by `stopAll`. */
export async function startPeer(init: PeerInit = {}): Promise<Peer> {
  const peer = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0, listen: ['/ip4/127.0.0.1/tcp/0'], ...init })
  started.push(peer)
  return peer
}

export async function stopPeer(peer: Peer): Promise<void> {
  const i = started.indexOf(peer)
  if (i >= 0) started.splice(i, 1)
  await peer.stop()
}

export async function stopAll(): Promise<void> {
  const all = started.splice(0)
  await Promise.all(all.map(async (p) => { await p.stop().catch(() => undefined) }))
}

/** The first TCP address of a peer with its /p2p/ suffix. */
export function tcpAddr(peer: Peer): string {
  const a = peer.addrs().find((s) => s.includes('/tcp/') && !s.includes('/ws') && !s.includes('p2p-circuit'))
  if (a == null) throw new Error('peer has no tcp address')
  return a
}

/** Collect records from a subscription until `count` have arrived (failing after `timeoutMs`). */
export async function collect(iterable: AsyncIterable<NetRecord>, count: number, timeoutMs = 20_000): Promise<NetRecord[]> {
  return await take(iterable, count, timeoutMs, 'records')
}

/** Poll a condition without fixed sleeps on the thing itself: resolves when it holds. */
export async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  await pollUntil(condition, what, timeoutMs)
}

export async function counterOf(peer: Peer, thread: ThreadID): Promise<number> {
  const info = await peer.net.getThread(thread)
  return info.logs.reduce((n, l) => n + l.head.counter, 0)
}

/** A temporary directory (a peer's repo), removed by `removeTempDirs()`. */
export async function tempDir(prefix = 'weft-net-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
}

/** A record A writes reaches B through the subscription, within 10 s (honest sync still works). */
export async function honestStillSyncs(a: Peer, b: Peer, id: ThreadID, n: number): Promise<void> {
  const stop = new AbortController()
  const sub = b.net.subscribe({ threads: [id], signal: stop.signal })
  const seen: unknown[] = []
  const got = (async () => {
    for await (const rec of sub) {
      seen.push(rec.body)
      if ((rec.body as { honest?: number } | undefined)?.honest === n) return rec
    }
    return undefined
  })()
  const sent = await a.net.createRecord(id, { honest: n })
  const timer = setTimeout(() => { stop.abort() }, 10_000)
  const rec = await got
  clearTimeout(timer)
  stop.abort()
  expect(rec?.cid.toString(), `B saw ${JSON.stringify(seen)}`).toBe(sent.cid.toString())
}

/** The first remote record of `thread` whose body names `from` that reaches `peer` (rejects after `ms`). */
export async function receive(peer: Peer, thread: ThreadID, from: string, ms: number): Promise<NetRecord> {
  const stop = new AbortController()
  const timer = setTimeout(() => { stop.abort() }, ms)
  try {
    for await (const r of peer.net.subscribe({ threads: [thread], signal: stop.signal })) {
      if (r.origin === 'remote' && (r.body as { from?: string } | undefined)?.from === from) return r
    }
    throw new Error(`no record from ${from} reached ${peer.peerId} within ${ms} ms`)
  } finally {
    clearTimeout(timer)
    stop.abort()
  }
}

/**
 * Stop both peers, start both again with the same settings, let each write one record at once and
 * require each to receive the other's within 5 s — nobody else writing. Returns the new peers.
 */
export async function restartBothAndExchange(a: Peer, b: Peer, init: [PeerInit, PeerInit], thread: ThreadID): Promise<[Peer, Peer]> {
  await Promise.all([stopPeer(a), stopPeer(b)])
  const [a2, b2] = await Promise.all([startPeer(init[0]), startPeer(init[1])])
  const atA = receive(a2, thread, 'b', 5_000)
  const atB = receive(b2, thread, 'a', 5_000)
  await a2.net.createRecord(thread, { from: 'a' })
  await b2.net.createRecord(thread, { from: 'b' })
  await expect(atA).resolves.toMatchObject({ body: { from: 'b' } })
  await expect(atB).resolves.toMatchObject({ body: { from: 'a' } })
  return [a2, b2]
}

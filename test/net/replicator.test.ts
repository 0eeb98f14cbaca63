/**
 * Node peers set up as the README shows — `createPeer({ repo })`, `addReplicator` on the relay
 * running as a real process, no `relays` option — against restarts, and `addReplicator` resolving
 * only once the relay holds what we had.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { newThreadID } from '../../src/core/thread-id.js'
import type { ThreadID } from '../../src/core/types.js'
import type { Peer, PeerInit } from '../../src/node/peer.js'
import { cleanupRelays, startRelayProcess } from '../relay/harness.js'
import { counterOf, startPeer, stopAll, stopPeer, until } from './helpers.js'

const dirs: string[] = []
afterEach(async () => {
  await stopAll()
  await cleanupRelays()
  await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
})

async function repo(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'weft-net-replicator-'))
  dirs.push(d)
  return d
}

/** Resolves with the first remote record from `from` that `peer` sees (rejects after `ms`). */
async function next(peer: Peer, id: ThreadID, from: string, ms: number): Promise<unknown> {
  const stop = new AbortController()
  const timer = setTimeout(() => { stop.abort() }, ms)
  try {
    for await (const r of peer.net.subscribe({ threads: [id], signal: stop.signal })) {
      if (r.origin === 'remote' && (r.body as { from?: string }).from === from) return r.body
    }
    throw new Error(`no record from ${from} within ${ms} ms`)
  } finally {
    clearTimeout(timer)
  }
}

describe('members and a relay process', () => {
  it('addReplicator resolves once the relay holds everything, so a fresh member joining from it gets everything', async () => {
    const relay = await startRelayProcess()
    const a = await startPeer()
    const id = newThreadID()
    const info = await a.net.createThread(id)
    for (let i = 0; i < 500; i++) await a.net.createRecord(id, { i, pad: 'z'.repeat(500) })
    await a.net.addReplicator(id, relay.tcpAddr)
    // Nothing else happens: the writer leaves at once, and a newcomer joins from the relay alone.
    await stopPeer(a)
    const late = await startPeer()
    await late.net.addThread(`${relay.tcpAddr}/thread/${id}`, { threadKey: info.key })
    expect(await counterOf(late, id)).toBe(500)
  }, 60_000)

  it('members set up as the README shows catch up by themselves after both restart, without anyone writing again', async () => {
    const relay = await startRelayProcess()
    const init: [PeerInit, PeerInit] = [{ repo: await repo() }, { repo: await repo() }]
    const a = await startPeer(init[0])
    const b = await startPeer(init[1])
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await a.net.addReplicator(id, relay.tcpAddr)
    await b.net.addThread(`${relay.tcpAddr}/thread/${id}`, { threadKey: info.key })
    await b.net.addReplicator(id, relay.tcpAddr)
    // Both restart: on new ports (tcp/0), so each only knows the other's old address — and the relay's.
    await Promise.all([stopPeer(a), stopPeer(b)])
    const [a2, b2] = await Promise.all([startPeer(init[0]), startPeer(init[1])])
    const atA = next(a2!, id, 'b', 5_000)
    const atB = next(b2!, id, 'a', 5_000)
    await a2!.net.createRecord(id, { from: 'a' })
    await b2!.net.createRecord(id, { from: 'b' })
    await expect(atA).resolves.toEqual({ from: 'b' })
    await expect(atB).resolves.toEqual({ from: 'a' })
    // One goes away; the other writes; the one away returns and gets it from the relay.
    await stopPeer(b2!)
    await a2!.net.createRecord(id, { from: 'a', n: 2 })
    await until(async () => (await a2!.net.syncStatus(id)).pendingPush === 0, 10_000, 'the relay to take the record')
    const b3 = await startPeer(init[1])
    await until(async () => (await counterOf(b3, id)) === 3, 10_000, 'B to catch up from the relay by itself')
  }, 60_000)

  it('a hand-over by a stranger under another key neither blocks the owner\'s nor tells the stranger anything', async () => {
    const relay = await startRelayProcess()
    const owner = await startPeer()
    const stranger = await startPeer()
    const id = newThreadID()
    const info = await owner.net.createThread(id)
    await owner.net.createRecord(id, { secret: 1 })
    // The stranger knows the thread ID (it is public) and makes a thread of that ID with its own key.
    await stranger.net.createThread(id)
    await stranger.net.createRecord(id, { squat: 1 })
    await stranger.net.addReplicator(id, relay.tcpAddr)
    await owner.net.addReplicator(id, relay.tcpAddr)
    const member = await startPeer()
    await member.net.addThread(`${relay.tcpAddr}/thread/${id}`, { threadKey: info.key })
    // The member got the owner's thread: the owner's log, none of the stranger's.
    const theirs = (await member.net.getThread(id)).logs.filter((l) => !l.managed)
    expect(theirs.map((l) => l.head.counter)).toEqual([1])
    const rec = await member.net.getRecord(id, theirs[0]!.head.cid!)
    expect(rec.body).toEqual({ secret: 1 })
  }, 60_000)
})

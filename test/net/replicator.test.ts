/**
 * Node peers set up as the README shows — `createPeer({ repo })`, `addReplicator` on the relay
 * running as a real process, no `relays` option — against restarts, and `addReplicator` resolving
 * only once the relay holds what we had.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { newThreadID } from '../../src/core/thread-id.js'
import type { PeerInit } from '../../src/node/peer.js'
import { cleanupRelays, startRelayProcess } from '../relay/harness.js'
import { counterOf, removeTempDirs, restartBothAndExchange, startPeer, stopAll, stopPeer, tempDir, until } from './helpers.js'

afterEach(async () => {
  await stopAll()
  await cleanupRelays()
  await removeTempDirs()
})

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
    const init: [PeerInit, PeerInit] = [{ repo: await tempDir('weft-net-replicator-') }, { repo: await tempDir('weft-net-replicator-') }]
    const a = await startPeer(init[0])
    const b = await startPeer(init[1])
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await a.net.addReplicator(id, relay.tcpAddr)
    await b.net.addThread(`${relay.tcpAddr}/thread/${id}`, { threadKey: info.key })
    await b.net.addReplicator(id, relay.tcpAddr)
    // Both restart: on new ports (tcp/0), so each only knows the other's old address — and the relay's.
    const [a2, b2] = await restartBothAndExchange(a, b, init, id)
    // One goes away; the other writes; the one away returns and gets it from the relay.
    await stopPeer(b2)
    await a2.net.createRecord(id, { from: 'a', n: 2 })
    await until(async () => (await a2.net.syncStatus(id)).pendingPush === 0, 10_000, 'the relay to take the record')
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

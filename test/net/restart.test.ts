/**
 * Peers that always find each other again, on real libp2p nodes (TCP and WebSocket on loopback,
 * LevelDB repos): after restarts on either or both sides, after one side was away, and across
 * `net.stop()` / `net.start()`, nobody needs to write again or call `addThread` again.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createDBManager, dbNetFromNet, type DBManager } from '../../src/db/index.js'
import { newThreadID } from '../../src/core/thread-id.js'
import type { ThreadID } from '../../src/core/types.js'
import { memoryStore } from '../../src/store/memory.js'
import { createNet } from '../../src/net/net.js'
import { libp2pTransport } from '../../src/net/libp2p-transport.js'
import { PROTOCOL } from '../../src/net/messages.js'
import type { Transport } from '../../src/net/transport.js'
import type { Peer, PeerInit } from '../../src/node/peer.js'
import { counterOf, freePort, removeTempDirs, restartBothAndExchange, startPeer, stopAll, stopPeer, tempDir, until } from './helpers.js'
import { take } from '../helpers/take.js'

const managers: DBManager[] = []
afterEach(async () => {
  await Promise.all(managers.splice(0).map(async (m) => { await m.close() }))
  await stopAll()
  await removeTempDirs()
})

async function pair(transport: 'tcp' | 'ws'): Promise<{ init: [PeerInit, PeerInit]; a: Peer; b: Peer; id: ThreadID }> {
  const listen = async (): Promise<string[]> => {
    const port = await freePort()
    return [transport === 'tcp' ? `/ip4/127.0.0.1/tcp/${port}` : `/ip4/127.0.0.1/tcp/${port}/ws`]
  }
  const init: [PeerInit, PeerInit] = [{ repo: await tempDir('weft-net-restart-'), listen: await listen() }, { repo: await tempDir('weft-net-restart-'), listen: await listen() }]
  const a = await startPeer(init[0])
  const b = await startPeer(init[1])
  const id = newThreadID()
  const info = await a.net.createThread(id)
  await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
  await until(async () => (await a.net.getThread(id)).logs.length === 2, 10_000, 'A to learn B\'s log')
  return { init, a, b, id }
}

describe('peers find each other again', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`both members restart, each writes, each receives the other's record within 5 s without anyone else writing (${transport})`, async () => {
      const { init, a, b, id } = await pair(transport)
      await restartBothAndExchange(a, b, init, id)
    })
  }

  it('a peer restarted while the other was away catches up when it returns', async () => {
    const { init, a, b, id } = await pair('tcp')
    // A goes away; B restarts (on another port: it listens on a fixed one only because pair() chose it) and writes.
    await stopPeer(a)
    await stopPeer(b)
    const b2 = await startPeer({ ...init[1], listen: ['/ip4/127.0.0.1/tcp/0'] })
    await b2.net.createRecord(id, { from: 'b', n: 1 })
    await b2.net.createRecord(id, { from: 'b', n: 2 })
    // The pushes fail while A is away, and say why.
    await until(async () => (await b2.net.syncStatus(id)).lastError != null, 10_000, 'B to report the failed push')
    const status = await b2.net.syncStatus(id)
    expect(status.lastError!.name).toBe('PeerUnreachableError')
    expect(status.lastError!.message).not.toMatch(/\[object |^Error: /)
    expect(status.pendingPush).toBe(2)
    expect(status.peers[0]).toMatchObject({ connected: false, strikes: 0 })
    expect(status.peers[0]!.nextAttemptAt).toBeGreaterThan(Date.now() - 1000)
    // A returns at its address; B, retrying with backoff, finds it; nobody writes again.
    const a2 = await startPeer(init[0])
    await until(async () => (await counterOf(a2, id)) === 2, 20_000, 'A to get B\'s records')
    await until(async () => (await b2.net.syncStatus(id)).pendingPush === 0, 10_000, 'B\'s pending pushes to clear')
  }, 40_000)

  it('a restarted peer reaches its thread peers at once: their addresses are remembered', async () => {
    const { init, a, b, id } = await pair('tcp')
    await a.net.createRecord(id, { from: 'a' })
    await until(async () => (await counterOf(b, id)) === 1, 10_000, 'B to get the record')
    await stopPeer(b)
    await a.net.createRecord(id, { from: 'a', n: 2 })
    const b2 = await startPeer(init[1])
    // No addThread, no dial by hand: the address book was refilled from the logs' addresses.
    await b2.net.pullThread(id)
    expect(await counterOf(b2, id)).toBe(2)
  })

  it('keeps subscriptions, listeners and remote apply working across net.stop() and net.start()', async () => {
    const [a, b] = await Promise.all([startPeer(), startPeer()])
    const ma = await createDBManager({ net: dbNetFromNet(a.net, a.logStore), kv: memoryStore() })
    const mb = await createDBManager({ net: dbNetFromNet(b.net, b.logStore), kv: memoryStore() })
    managers.push(ma, mb)
    const dbA = await ma.newDB(undefined, { name: 'restart', collections: [{ name: 'Notes', schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' } } } }] })
    const info = await ma.getDBInfo(dbA.id)
    const dbB = await mb.newDBFromAddr(info.addrs.find((x) => x.includes('/tcp/'))!, info.key)
    const sub = b.net.subscribe({ threads: [dbA.id] })
    for (let round = 1; round <= 3; round++) {
      await b.net.stop()
      await b.net.stop() // idempotent
      await Promise.all([b.net.start(), b.net.start()]) // concurrent starts share one
      await dbA.create('Notes', [{ _id: `n${round}`, text: `round ${round}` }])
      await until(async () => (await dbB.has('Notes', [`n${round}`])), 10_000, `B's DB to apply note ${round}`)
    }
    const records = await take(sub, 3, 5_000, 'records')
    expect(records.every((r) => r.origin === 'remote')).toBe(true)
    await expect(dbB.findByID('Notes', 'n3')).resolves.toEqual({ _id: 'n3', text: 'round 3' })
  })

  it('undoes a failed start, and starts on the next try', async () => {
    const peer = await startPeer()
    await peer.net.stop()
    const real = libp2pTransport(peer.libp2p)
    let failures = 1
    const flaky: Transport = {
      ...real,
      peerId: real.peerId,
      async start(events) {
        await real.start(events)
        if (failures-- > 0) throw new Error('the platform refused')
      }
    }
    const net = createNet({ transport: flaky, logStore: peer.logStore }, { allowPrivateAddrs: true, syncIntervalMs: 0 })
    await expect(net.start()).rejects.toThrow('the platform refused')
    expect(peer.libp2p.getProtocols()).not.toContain(PROTOCOL)
    await expect(net.createThread(newThreadID())).rejects.toMatchObject({ name: 'NotStartedError' })
    await net.start()
    expect(peer.libp2p.getProtocols()).toContain(PROTOCOL)
    await expect(net.createThread(newThreadID())).resolves.toMatchObject({ readable: true })
    await net.stop()
  })
})

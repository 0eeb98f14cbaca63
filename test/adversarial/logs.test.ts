/**
 * G7, owner-only log metadata and bounded announcements (docs/SECURITY.md). Mallory, a member,
 * announces Bob's log with addresses of her choosing — unsigned, with Bob's signature over other
 * addresses, an older list of Bob's own, more than 32 — and announces a thousand logs of her own,
 * naming a thousand unreachable peers that accept connections and never answer. Before this work her
 * addresses piled up on Bob's log past 32 until every new member joined without a way to reach
 * Bob, and about a thousand unreachable addresses turned each honest write into 5–10 s. Now only
 * Bob changes Bob's addresses, no log holds more than 32, and honest writes arrive as fast as
 * before the attack. (The 4,096 logs a thread may hold are shown by the log store's own tests.)
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Server, type Socket } from 'node:net'
import { generateKeyPair } from '../../src/core/identity.js'
import { logIDFromBytes, logIDFromPublicKey } from '../../src/core/log-id.js'
import type { Database } from '../../src/db/index.js'
import type { WireLog } from '../../src/net/messages.js'
import { startAttacker } from './attacker.js'
import { ForgedLog } from './forge.js'
import { HostileMember } from './member.js'
import {
  announcedLogs, cleanupWorld, converged, honestPeer, honestWriteArrives, startRelayProcess, tcpOf, team, until
} from './world.js'

afterEach(async () => {
  // The tarpits first, so that dials hanging on them fail at once and the peers stop quickly.
  for (const s of held.splice(0)) s.destroy()
  await Promise.all(tarpits.splice(0).map(async (s) => { await new Promise<void>((resolve) => { s.close(() => { resolve() }) }) }))
  await cleanupWorld()
})

const tarpits: Server[] = []
const held: Socket[] = []

/** A TCP port on 127.0.0.2 that accepts connections and never says a word. */
async function tarpit(): Promise<number> {
  const server = createServer((socket) => { held.push(socket); socket.on('error', () => undefined) })
  tarpits.push(server)
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.2', () => { resolve() }) })
  return (server.address() as { port: number }).port
}

/** `n` addresses of peers that do not exist, at a tarpit. */
async function fakePeers(n: number, port: number): Promise<string[]> {
  return await Promise.all(Array.from({ length: n }, async () => `/ip4/127.0.0.2/tcp/${port}/p2p/${logIDFromPublicKey((await generateKeyPair()).publicKey)}`))
}

describe('log announcements', () => {
  it('a member cannot change the addresses of another member\'s log', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob'])
    const [ann, bob] = [t.owner, t.members[0]!]
    const annAddr = tcpOf(ann.peer.addrs())
    const bobLog = (await bob.peer.net.getThread(t.id)).logs.find((l) => l.managed)!.id
    const mallory = new HostileMember(await startAttacker({ ip: '127.0.0.2' }), t.id, t.threadKey)

    // Bob's log as Ann announces it now (signed by Bob, whatever the form); Bob's addresses then
    // change (he names the relay), which he signs anew.
    const stale = (await mallory.ask(annAddr, { type: 'getLogs' }))
    if (stale === 'closed' || stale.type !== 'logs') throw new Error('getLogs failed')
    const bobWire = stale.logs.find((l) => logIDFromBytes(l.id) === bobLog)!
    await t.owner.peer.net.addReplicator(t.id, relay.tcpAddr)
    await bob.peer.net.addReplicator(t.id, relay.tcpAddr)
    const truth = async (): Promise<string[]> => (await bob.peer.net.getThread(t.id)).logs.find((l) => l.managed)!.addrs
    await until(async () => sameSet((await announcedLogs(annAddr, t.id, t.threadKey)).get(bobLog)!.addrs, await truth()), 'Ann to learn Bob\'s new addresses')

    // Her announcements of Bob's log, to Ann and to the relay.
    const port = await tarpit()
    const fake = await fakePeers(40, port)
    const attempts: Array<{ name: string; log: WireLog }> = [
      { name: 'unsigned', log: { id: bobWire.id, pubKey: bobWire.pubKey, addrs: fake.slice(0, 8), counter: 0 } },
      { name: 'Bob\'s signature over other addresses', log: { ...bobWire, addrs: [...bobWire.addrs, ...fake.slice(8, 16)] } },
      { name: 'Bob\'s older list', log: bobWire },
      ...[0, 1, 2, 3].map((i) => ({ name: `unsigned batch ${i}`, log: { id: bobWire.id, pubKey: bobWire.pubKey, addrs: fake.slice(i * 10, i * 10 + 10), counter: 0 } }))
    ]
    for (const target of [annAddr, relay.tcpAddr]) {
      for (const a of attempts) await mallory.announce(target, a.log)
    }
    for (const target of [annAddr, relay.tcpAddr]) {
      const seen = (await announcedLogs(target, t.id, t.threadKey)).get(bobLog)!
      expect(seen.addrs.filter((a) => fake.includes(a)), target).toEqual([])
      expect(sameSet(seen.addrs, await truth()), target).toBe(true)
      expect(seen.addrs.length).toBeLessThanOrEqual(32)
    }

    // A new member joining from Ann reaches Bob at his own addresses.
    const dan = await honestPeer('dan')
    const danDb = await dan.manager.newDBFromAddr(`${annAddr}/thread/${t.id}`, t.key)
    expect(sameSet((await dan.peer.net.getThread(t.id)).logs.find((l) => l.id === bobLog)!.addrs, await truth())).toBe(true)
    await honestWriteArrives(t.dbs[1]!, danDb)
    await until(async () => (await dan.peer.net.syncStatus(t.id)).peers.some((p) => p.peer === bob.peer.peerId && p.connected), 'Dan to reach Bob')
    await converged([...t.dbs, danDb])
  }, 120_000)

  it('announcing a thousand logs naming a thousand unreachable peers leaves honest write latency unchanged', async () => {
    const t = await team(['ann', 'bob'])
    const [annDb, bobDb] = t.dbs as [Database, Database]
    const baseline: number[] = []
    for (let i = 0; i < 3; i++) baseline.push(await honestWriteArrives(annDb, bobDb))

    // 1,000 logs of hers, each address list signed by its log's key (they are hers to announce):
    // the first 32 name 32 peers each that do not exist (1,024 in all), at a port that accepts
    // connections and never answers — every honest write would be pushed to them.
    const port = await tarpit()
    const fake = await fakePeers(32 * 32, port)
    const mallory = new HostileMember(await startAttacker({ ip: '127.0.0.2' }), t.id, t.threadKey)
    const logs = await Promise.all(Array.from({ length: 1000 }, async () => await ForgedLog.create(t.threadKey)))
    const wires = await Promise.all(logs.map(async (l, i) => await l.signedWire(t.id, i < 32 ? fake.slice(i * 32, i * 32 + 32) : [])))
    let announced = 0
    // To Ann; Bob learns them from Ann, as members do.
    const target = tcpOf(t.owner.peer.addrs())
    const flood = Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(async (lane) => {
      for (let i = lane; i < wires.length; i += 8) {
        const res = await mallory.announce(target, wires[i]!)
        if (res === 'closed' || res.type !== 'ok') throw new Error(`announcement ${i} to ${target}: ${JSON.stringify(res)}`)
        announced++
      }
    }))

    // While she announces them, and after: honest writes arrive as they did before.
    const bound = Math.max(2_000, 4 * Math.max(...baseline))
    const during: number[] = []
    await until(() => announced >= 200, 'her first announcements', 60_000)
    for (let i = 0; i < 4; i++) during.push(await honestWriteArrives(i % 2 === 0 ? annDb : bobDb, i % 2 === 0 ? bobDb : annDb, bound))
    await flood
    for (let i = 0; i < 4; i++) during.push(await honestWriteArrives(i % 2 === 0 ? annDb : bobDb, i % 2 === 0 ? bobDb : annDb, bound))
    expect(Math.max(...during), `baseline ${baseline.join(', ')} ms; during the attack ${during.join(', ')} ms`).toBeLessThanOrEqual(bound)
    // Both peers hold her logs as she signed them: her 1,000 and the two honest ones, 32 addresses at most each.
    for (const h of [t.owner, t.members[0]!]) {
      await until(async () => (await h.peer.net.getThread(t.id)).logs.length === 1002, `${h.name} to hold her logs`, 60_000)
      const held = (await h.peer.net.getThread(t.id)).logs
      expect(Math.max(...held.map((l) => l.addrs.length))).toBeLessThanOrEqual(32)
    }
    await converged(t.dbs)
  }, 90_000)
})

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}

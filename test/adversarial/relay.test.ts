/**
 * G8, a relay that can run in public (docs/SECURITY.md), against strangers who hold only what is
 * public — peer IDs, thread IDs, the relay's addresses — and as many peer IDs as they like, from
 * their own IPs (127.0.0.2 and .3 here; the honest peers come from 127.0.0.1). Before this work
 * strangers squatted thread IDs so that the owner's `addReplicator` failed with `UNAUTHORIZED`
 * forever, handed over 8,865 threads in 60 s and 200 × 1 MB records, held reservations after
 * they left, kept 22 % of health probes out with 64 slow sockets, had 645 garbage streams from
 * 215 fresh peer IDs all served, and enumerated 3,000 unknown thread IDs unthrottled. Each of
 * those is bounded now, on the relay process, while honest members keep replicating through it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { connect, type Socket } from 'node:net'
import { probe } from '../relay/harness.js'
import { once } from 'node:events'
import { multiaddr } from '@multiformats/multiaddr'
import { randomBytes } from '../../src/core/bytes.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { newThreadKey, type ReadableThreadKey } from '../../src/core/thread-key.js'
import type { ThreadID } from '../../src/core/types.js'
import type { Response } from '../../src/net/messages.js'
import { startAttacker, type Attacker } from './attacker.js'
import { ForgedLog } from './forge.js'
import { HostileMember } from './member.js'
import {
  cleanupWorld, converged, diskBytes, heldLogs, honestPeer, honestWriteArrives, metric, refusals, rssOf, scrape, startRelayProcess, team, until,
  metricValue, type RelayProcess
} from './world.js'

afterEach(async () => { await cleanupWorld() })

/** A stranger hands `id` to the relay under a key of its own making, with one empty log. */
async function handOver(attacker: Attacker, relay: RelayProcess, id: ThreadID, key: ReadableThreadKey = newThreadKey()): Promise<Response | 'closed'> {
  const stranger = new HostileMember(attacker, id, key)
  const log = await ForgedLog.create(key)
  try {
    return await stranger.announce(relay.tcpAddr, log.wire(), key.service)
  } finally {
    await stranger.close()
  }
}

/** An answer without its request ID, to compare two answers. */
function shape(r: Response | 'closed'): unknown {
  return r === 'closed' ? r : { ...r, re: 0 }
}

describe('a stranger and the relay', () => {
  it('a stranger\'s hand-over of a thread ID does not block its owner\'s', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob'])
    // The thread ID is public (it is in every invite). Mallory hands it over first, under her own
    // key, and writes into "her" thread.
    const mallory = await startAttacker({ ip: '127.0.0.2' })
    const mKey = newThreadKey()
    const squat = new HostileMember(mallory, t.id, mKey)
    const mLog = await ForgedLog.create(mKey)
    await mLog.append({ body: { squatting: true } })
    expect(await squat.announce(relay.tcpAddr, mLog.wire(), mKey.service)).toMatchObject({ type: 'ok' })
    expect(await squat.push(relay.tcpAddr, mLog, 1)).toMatchObject({ type: 'ok' })

    // The owner's hand-over goes through, and the relay replicates the real thread.
    expect(await t.owner.peer.net.addReplicator(t.id, relay.tcpAddr)).toBe(relay.peerId)
    await honestWriteArrives(t.dbs[1]!, t.dbs[0]!)
    const real = await heldLogs(relay.tcpAddr, t.id, t.threadKey)
    const ownerLog = (await t.owner.peer.net.getThread(t.id)).logs.find((l) => l.managed)!
    await until(async () => (await heldLogs(relay.tcpAddr, t.id, t.threadKey)).get(ownerLog.id) === ownerLog.head.counter, 'the relay to hold the owner\'s log')
    expect(real.has(mLog.id)).toBe(false)
    // Her thread holds only what she wrote; she learns nothing of the real one.
    expect([...(await heldLogs(relay.tcpAddr, t.id, mKey)).entries()]).toEqual([[mLog.id, 1]])

    // A second stranger coming after the owner changes nothing either.
    const late = await startAttacker({ ip: '127.0.0.3' })
    expect(await handOver(late, relay, t.id)).toMatchObject({ type: 'ok' })
    expect(await t.owner.peer.net.addReplicator(t.id, relay.tcpAddr)).toBe(relay.peerId)

    // A newcomer joining through the relay alone gets the real DB.
    const carol = await honestPeer('carol')
    const carolDb = await carol.manager.newDBFromAddr(`${relay.tcpAddr}/thread/${t.id}`, t.key)
    await converged([...t.dbs, carolDb], async (db) => await db.has('Tasks', ['task-ann', 'task-bob']))
  }, 120_000)

  it('handing over a thread answers alike whether or not the relay holds it', async () => {
    const relay = await startRelayProcess({ env: { WEFT_RELAY_MAX_THREADS_PER_PEER: '2' } })
    const t = await team(['ann', 'bob'], relay)
    const other = await team(['dan'], relay)
    const mallory = await startAttacker({ ip: '127.0.0.2' })

    // Within her quota: a thread the relay holds (under the owner's key) and one it never saw.
    const held = await handOver(mallory, relay, t.id)
    const unknown = await handOver(mallory, relay, newThreadID())
    expect(held).toMatchObject({ type: 'ok' })
    expect(shape(held)).toEqual(shape(unknown))

    // At her quota: the same refusal for a thread the relay holds under another key and for one
    // it never saw.
    let filling: Response | 'closed' = 'closed'
    for (let i = 0; i < 4; i++) {
      filling = await handOver(mallory, relay, newThreadID())
      if (filling === 'closed' || filling.type !== 'ok') break
    }
    expect(filling).toMatchObject({ type: 'error', code: 'QUOTA_EXCEEDED' })
    const heldPast = await handOver(mallory, relay, other.id)
    const unknownPast = await handOver(mallory, relay, newThreadID())
    expect(unknownPast).toMatchObject({ type: 'error', code: 'QUOTA_EXCEEDED' })
    expect(shape(heldPast)).toEqual(shape(unknownPast))

    // Any request under a key she cannot prove: the same answer, held or not.
    const probe = new HostileMember(mallory, t.id, newThreadKey())
    const nobody = new HostileMember(mallory, newThreadID(), newThreadKey())
    for (const req of [{ type: 'getLogs' }, { type: 'heads', digest: randomBytes(32) }, { type: 'pushLog', log: (await ForgedLog.create(newThreadKey())).wire() }]) {
      const a = await probe.ask(relay.tcpAddr, req)
      const b = await nobody.ask(relay.tcpAddr, req)
      expect(a, req.type).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' })
      expect(shape(a)).toEqual(shape(b))
    }
    // The owners' threads are untouched.
    await honestWriteArrives(t.dbs[1]!, t.dbs[0]!)
    const annLog = (await t.owner.peer.net.getThread(t.id)).logs.find((l) => l.managed)!
    await until(async () => (await heldLogs(relay.tcpAddr, t.id, t.threadKey)).get(annLog.id) === (await t.owner.peer.net.getThread(t.id)).logs.find((l) => l.managed)!.head.counter, 'the relay to hold Ann\'s writes')
  }, 120_000)

  it('a stranger\'s thread under the same ID does not use up the owner\'s quotas', async () => {
    const relay = await startRelayProcess({ env: { WEFT_RELAY_MAX_THREAD_RECORDS: '12' } })
    const t = await team(['ann'], relay)
    // Mallory squats the ID under her key and fills her thread to its record quota.
    const mKey = newThreadKey()
    const squat = new HostileMember(await startAttacker({ ip: '127.0.0.2' }), t.id, mKey)
    const mLog = await ForgedLog.create(mKey)
    expect(await squat.announce(relay.tcpAddr, mLog.wire(), mKey.service)).toMatchObject({ type: 'ok' })
    const answers: string[] = []
    for (let i = 1; i <= 14; i++) {
      await mLog.append({ body: { i } })
      const r = await squat.push(relay.tcpAddr, mLog, mLog.counter)
      answers.push(r === 'closed' ? r : r.type === 'error' ? r.code : r.type)
      if (answers.at(-1) !== 'ok') mLog.records.pop()
    }
    expect(answers.filter((a) => a === 'ok').length).toBeLessThanOrEqual(12)
    expect(answers.at(-1)).toBe('QUOTA_EXCEEDED')
    // The owner's thread still takes its own records up to its own quota.
    const annLog = (await t.owner.peer.net.getThread(t.id)).logs.find((l) => l.managed)!.id
    for (let i = 0; i < 6; i++) await t.dbs[0]!.create('Board', [{ _id: `b${i}`, text: 'mine' }])
    const mine = (await t.owner.peer.net.getThread(t.id)).logs.find((l) => l.managed)!.head.counter
    await until(async () => (await heldLogs(relay.tcpAddr, t.id, t.threadKey)).get(annLog) === mine, 'the relay to store the owner\'s records')
  }, 60_000)

  it('hand-overs from peer IDs rotated on one IP stop at the per-IP quota and the owner\'s still go through', async () => {
    const relay = await startRelayProcess()
    const rssBefore = await rssOf(relay.pid)
    const diskBefore = await diskBytes(relay.repo)
    let mallory = await startAttacker({ ip: '127.0.0.2' })
    const answers: Record<string, number> = {}
    let fromThisPeer = 0
    // The first peer ID tries a few past its own quota (64); then she comes back under new ones.
    let perPeer = 70
    for (let i = 0; i < 600; i++) {
      if (fromThisPeer === perPeer) {
        await mallory.stop()
        mallory = await mallory.rotate()
        fromThisPeer = 0
        perPeer = 64
      }
      const r = await handOver(mallory, relay, newThreadID())
      const k = r === 'closed' ? r : r.type === 'error' ? r.code : r.type
      answers[k] = (answers[k] ?? 0) + 1
      fromThisPeer++
    }
    expect(answers).toEqual({ ok: 256, QUOTA_EXCEEDED: 344 })
    expect(await refusals(relay)).toMatchObject({ threads_per_peer: 6, threads_per_ip: 338 })
    expect(await metric(relay, 'weft_relay_threads')).toBe(256)
    // 256 empty threads cost the relay little, whatever was attempted.
    expect(await diskBytes(relay.repo) - diskBefore).toBeLessThan(4 * 1024 * 1024)
    expect(await rssOf(relay.pid) - rssBefore).toBeLessThan(64 * 1024 * 1024)

    // The owner, from its own IP, hands its thread over and replicates through the relay.
    const t = await team(['ann', 'bob'], relay)
    await honestWriteArrives(t.dbs[0]!, t.dbs[1]!)
    expect(await metric(relay, 'weft_relay_threads')).toBe(257)
  }, 120_000)

  it('records past the thread and store quotas are refused and the relay\'s disk and memory stay bounded', async () => {
    const MiB = 1024 * 1024
    const relay = await startRelayProcess({ env: { WEFT_RELAY_MAX_THREAD_BYTES: String(16 * MiB), WEFT_RELAY_MAX_STORE_BYTES: String(40 * MiB) } })
    const t = await team(['ann', 'bob'], relay)
    const rssBefore = await rssOf(relay.pid)
    const diskBefore = await diskBytes(relay.repo)
    // 200 records of 1 MB each, in threads of her own, 40 a thread.
    const answers: Record<string, number> = {}
    let mallory = await startAttacker({ ip: '127.0.0.2' })
    for (let th = 0; th < 5; th++) {
      const key = newThreadKey()
      const member = new HostileMember(mallory, newThreadID(), key)
      const log = await ForgedLog.create(key)
      expect(await member.announce(relay.tcpAddr, log.wire(), key.service)).toMatchObject({ type: 'ok' })
      for (let i = 1; i <= 40; i++) {
        await log.append({ body: randomBytes(1_000_000) })
        const r = await member.push(relay.tcpAddr, log, log.counter)
        const k = r === 'closed' ? r : r.type === 'error' ? r.code : r.type
        answers[k] = (answers[k] ?? 0) + 1
        if (k !== 'ok') log.records.pop()
      }
      await member.close()
      await mallory.stop()
      mallory = await mallory.rotate()
    }
    const stored = await metric(relay, 'weft_relay_stored_bytes')
    expect(answers.ok! * 1_000_000).toBeLessThanOrEqual(40 * MiB)
    expect(answers.QUOTA_EXCEEDED).toBe(200 - answers.ok!)
    expect(stored).toBeLessThanOrEqual(40 * MiB)
    const kinds = await refusals(relay)
    expect(kinds.thread_bytes).toBeGreaterThan(0)
    expect(kinds.store_bytes).toBeGreaterThan(0)
    // What the relay holds on disk and in memory follows the quota, not the 200 MB sent.
    expect(await diskBytes(relay.repo) - diskBefore).toBeLessThan(stored * 2 + 8 * MiB)
    expect(await rssOf(relay.pid) - rssBefore).toBeLessThan(120 * MiB)
    // Another 1 MB record does not fit in any thread of hers; the honest members go on.
    const key = newThreadKey()
    const member = new HostileMember(mallory, newThreadID(), key)
    const log = await ForgedLog.create(key)
    await log.append({ body: randomBytes(1_000_000) })
    expect(await member.announce(relay.tcpAddr, log.wire(), key.service)).toMatchObject({ type: 'ok' })
    expect(await member.push(relay.tcpAddr, log, 1)).toMatchObject({ type: 'error', code: 'QUOTA_EXCEEDED' })
    await honestWriteArrives(t.dbs[1]!, t.dbs[0]!)
  }, 180_000)

  it('records pushed at once to many logs cannot take a thread past its byte quota together', async () => {
    const relay = await startRelayProcess({ env: { WEFT_RELAY_MAX_THREAD_BYTES: '40000' } })
    const t = await team(['ann', 'bob'], relay)
    const key = newThreadKey()
    const sessions = await Promise.all([0, 1, 2].map(async () => new HostileMember(await startAttacker({ ip: '127.0.0.2' }), newThreadID(), key)))
    const member = new HostileMember(sessions[0]!.attacker, sessions[0]!.id, key)
    // 96 logs of her thread, each with a first record of 10 kB, pushed all at once over three peers.
    const logs = await Promise.all(Array.from({ length: 96 }, async () => {
      const l = await ForgedLog.create(key)
      await l.append({ body: randomBytes(10_000) })
      return l
    }))
    expect(await member.announce(relay.tcpAddr, logs[0]!.wire(), key.service)).toMatchObject({ type: 'ok' })
    const pushers = sessions.map((s) => new HostileMember(s.attacker, member.id, key))
    for (const [i, l] of logs.entries()) expect(await pushers[i % 3]!.announce(relay.tcpAddr, l.wire())).toMatchObject({ type: 'ok' })
    const answers = await Promise.all(logs.map(async (l, i) => {
      const r = await pushers[i % 3]!.push(relay.tcpAddr, l, 1)
      return r === 'closed' ? r : r.type === 'error' ? r.code : r.type
    }))
    const ok = answers.filter((a) => a === 'ok').length
    expect(answers.filter((a) => a !== 'ok' && a !== 'QUOTA_EXCEEDED')).toEqual([])
    expect(ok).toBeGreaterThan(0)
    expect(ok * 10_000).toBeLessThanOrEqual(40_000)
    await honestWriteArrives(t.dbs[0]!, t.dbs[1]!)
  }, 120_000)

  it('reservations of peers that left are freed and peers rotated on one IP hold at most the per-IP cap', async () => {
    const relay = await startRelayProcess()
    const reservations = async (): Promise<number> => await metric(relay, 'weft_relay_reservations')
    // Twenty peer IDs from one IP ask for a reservation each.
    const crowd: Attacker[] = []
    for (let i = 0; i < 20; i++) crowd.push(await startAttacker({ ip: '127.0.0.2', relays: [relay.tcpAddr] }))
    await until(async () => await reservations() === 8 && ((await refusals(relay)).reservations_per_ip ?? 0) >= 12, 'the relay to grant 8 and refuse the rest')
    // An honest peer from another IP still gets one.
    const ann = await honestPeer('ann', { relays: [relay.tcpAddr] })
    await until(() => ann.peer.addrs().some((a) => a.includes('/p2p-circuit')), 'Ann to get a circuit address')
    expect(await reservations()).toBe(9)
    // They leave: their slots are free at once, not after the reservations' two hours.
    for (const a of crowd) await a.stop()
    await until(async () => await reservations() === 1, 'the relay to free the reservations of peers that left')
    const back = await startAttacker({ ip: '127.0.0.2', relays: [relay.tcpAddr] })
    await until(async () => back.addrs().some((a) => a.includes('/p2p-circuit')), 'a new peer from that IP to get a reservation')
    expect(await reservations()).toBe(2)
  }, 120_000)

  it('a few IPs cannot take every connection slot of the relay', async () => {
    // A relay of 100 connections; each of two IPs opens 50 (one peer ID, fresh connections).
    const relay = await startRelayProcess({ env: { WEFT_RELAY_CONN_HIGH: '100' } })
    let held = 0
    for (const ip of ['127.0.0.2', '127.0.0.3']) {
      const mallory = await startAttacker({ ip })
      for (let i = 0; i < 50; i++) {
        try {
          await mallory.libp2p.dial(multiaddr(relay.tcpAddr), { force: true, signal: AbortSignal.timeout(5_000) })
        } catch {
          // refused: the relay resets the socket
        }
      }
      held += mallory.libp2p.getConnections().length
    }
    expect(held).toBeLessThanOrEqual(2 * 32)
    expect((await refusals(relay)).connections_per_ip).toBeGreaterThanOrEqual(2 * (50 - 32))
    // Honest peers still connect, hand a thread over and replicate through the relay.
    const t = await team(['ann', 'bob'], relay)
    const carol = await honestPeer('carol')
    const carolDb = await carol.manager.newDBFromAddr(`${relay.tcpAddr}/thread/${t.id}`, t.key)
    await honestWriteArrives(t.dbs[1]!, carolDb)
  }, 120_000)

  it('connections that never finish their handshake do not keep honest peers out', async () => {
    // Each IP may open 20 connections a second; hers open that many and never say a word.
    const relay = await startRelayProcess({ env: { WEFT_RELAY_CONN_RATE: '20' } })
    const ports = [relay.tcpAddr, relay.wsAddr].map((a) => Number(/\/tcp\/(\d+)/.exec(a)![1]))
    const silent: Socket[] = []
    let connected = 0
    let attacking = true
    const floods = ['127.0.0.2', '127.0.0.3'].map(async (ip) => {
      while (attacking) {
        for (const port of ports) {
          const s = connect({ port, host: '127.0.0.1', localAddress: ip })
          s.on('error', () => undefined)
          s.once('connect', () => { connected++ })
          silent.push(s)
        }
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })
    try {
      await until(() => connected >= 40, 'the silent connections to be open')
      // Honest peers connect, hand a thread over and replicate through the relay meanwhile.
      const t = await team(['ann', 'bob'], relay)
      const carol = await honestPeer('carol')
      const carolDb = await carol.manager.newDBFromAddr(`${relay.wsAddr}/thread/${t.id}`, t.key)
      await honestWriteArrives(t.dbs[0]!, carolDb)
      for (const addr of [relay.tcpAddr, relay.wsAddr]) {
        const dan = await honestPeer('dan')
        await dan.peer.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(5_000) })
      }
    } finally {
      attacking = false
      await Promise.all(floods)
      for (const s of silent) s.destroy()
    }
    expect((await refusals(relay)).pending_connections).toBeGreaterThan(0)
  }, 120_000)

  it('slow HTTP sockets from several IPs do not keep health probes out', async () => {
    const relay = await startRelayProcess()
    const port = Number(new URL(relay.http).port)
    const slow: Array<{ socket: Socket; closed: Promise<void> }> = []
    for (const ip of ['127.0.0.2', '127.0.0.3']) {
      for (let i = 0; i < 48; i++) {
        const socket = connect({ port, host: '127.0.0.1', localAddress: ip })
        socket.on('error', () => undefined)
        socket.once('connect', () => { socket.write('GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ') })
        const timer = setInterval(() => { if (!socket.destroyed) socket.write('a') }, 1_000)
        slow.push({ socket, closed: new Promise((resolve) => { socket.once('close', () => { clearInterval(timer); resolve() }) }) })
      }
    }
    await Promise.all(slow.map(async (c) => { if (c.socket.connecting) await once(c.socket, 'connect').catch(() => undefined) }))
    const statuses: number[] = []
    for (let round = 0; round < 10; round++) {
      statuses.push(...await Promise.all([1, 2, 3, 4].map(async () => await probe(`${relay.http}/healthz`))))
    }
    expect(statuses).toEqual(Array(40).fill(200))
    // Each IP keeps at most 16 sockets; every slow one is cut off, by eviction or at the deadline.
    expect(await metric(relay, 'weft_relay_http_sockets')).toBeLessThanOrEqual(2 * 16 + 1)
    await Promise.all(slow.map(async (c) => { await c.closed }))
    expect(await metric(relay, 'weft_relay_http_sockets_evicted_total')).toBeGreaterThanOrEqual(2 * (48 - 16))
  }, 60_000)

  it('garbage streams from fresh peer IDs on one IP are throttled while honest members keep syncing', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob'], relay)
    const before = await metric(relay, 'weft_relay_rejected_total')
    const t0 = Date.now()
    let streams = 0
    // 215 peer IDs, three garbage streams each, a few peers at a time.
    for (let batch = 0; batch < 215; batch += 5) {
      const peers = await Promise.all(Array.from({ length: Math.min(5, 215 - batch) }, async () => await startAttacker({ ip: '127.0.0.2' })))
      await Promise.all(peers.map(async (p) => {
        for (let i = 0; i < 3; i++) {
          await garbage(p, relay.tcpAddr)
          streams++
        }
        await p.stop()
      }))
      if (batch % 50 === 0) await honestWriteArrives(t.dbs[0]!, t.dbs[1]!)
    }
    const seconds = (Date.now() - t0) / 1000
    const struck = await metric(relay, 'weft_relay_rejected_total') - before
    // The IP's bucket (64, refilled at one a second) bounds how many were read at all.
    expect(streams).toBe(645)
    expect(struck).toBeLessThanOrEqual(64 + Math.ceil(seconds) + 3)
    expect(struck).toBeGreaterThan(0)
    // The rest were refused before a frame was read: the IP was throttled.
    expect(await metric(relay, 'weft_relay_throttled_ips_total')).toBeGreaterThanOrEqual(1)
    expect(await metric(relay, 'weft_relay_refused_sessions_total')).toBeGreaterThan(0)
    // Ann and Bob still replicate through the relay.
    await honestWriteArrives(t.dbs[1]!, t.dbs[0]!)
    const bobLog = (await t.members[0]!.peer.net.getThread(t.id)).logs.find((l) => l.managed)!
    await until(async () => (await heldLogs(relay.tcpAddr, t.id, t.threadKey)).get(bobLog.id) === (await t.members[0]!.peer.net.getThread(t.id)).logs.find((l) => l.managed)!.head.counter, 'the relay to hold Bob\'s writes')
  }, 180_000)

  it('enumerating unknown thread IDs is throttled per session and per IP and tells nothing', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob'], relay)
    const counts: Record<string, number> = {}
    const t0 = Date.now()
    let mallory = await startAttacker({ ip: '127.0.0.2' })
    let sessionsUsed = 0
    let realAnswer: unknown
    for (let i = 0; i < 3000;) {
      // One session asks about 100 thread IDs, then she comes back under a new peer ID.
      const asker = new HostileMember(mallory, t.id, newThreadKey())
      let s
      try { s = await asker.session(relay.tcpAddr) } catch { s = undefined }
      sessionsUsed++
      for (let j = 0; j < 100; j++, i++) {
        const id = i === 1500 ? t.id : newThreadID()
        const key = newThreadKey()
        const r = s == null ? 'closed' : await s.ask({ type: 'getLogs', ...mallory.auth(key.service, id, relay.peerId) }, 5_000)
        const k = r === 'closed' ? r : r.type === 'error' ? r.code : r.type
        counts[k] = (counts[k] ?? 0) + 1
        if (id === t.id) realAnswer = k
      }
      await mallory.stop()
      mallory = await mallory.rotate()
    }
    const seconds = (Date.now() - t0) / 1000
    // At most 16 answered per session, and the IP's bucket bounds the total; the rest are BUSY
    // or refused sessions. The real thread's ID under a wrong key looks like any other.
    expect(counts.logs).toBeUndefined()
    expect(counts.UNAUTHORIZED ?? 0).toBeLessThanOrEqual(Math.min(16 * sessionsUsed, 64 + Math.ceil(seconds) + 16))
    expect((counts.BUSY ?? 0) + (counts.closed ?? 0)).toBeGreaterThanOrEqual(3000 - (counts.UNAUTHORIZED ?? 0))
    expect(['UNAUTHORIZED', 'BUSY', 'closed']).toContain(realAnswer)
    await honestWriteArrives(t.dbs[0]!, t.dbs[1]!)
    expect(metricValue(await scrape(relay), 'weft_relay_threads')).toBe(1)
  }, 120_000)
})


/** A stream carrying one undecodable frame, until the relay ends it (after reading it, or before). */
async function garbage(attacker: Attacker, addr: string): Promise<void> {
  let s
  try { s = await attacker.session(addr) } catch { return }
  try { await s.sendRaw(new Uint8Array([0xff, 0x00, 0x13, 0x37])) } catch { return }
  await s.ended
}

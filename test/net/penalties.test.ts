/**
 * Fair penalties: only proof counts against a peer. Real peers behind a real TCP proxy that cuts
 * connections in the middle of requests are never struck; strikes decay and bans are short and
 * grow only with repeated proven abuse (on virtual time); garbage from peer IDs made by the dozen
 * on one IP is throttled per IP while members keep syncing.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { lpStream } from '@libp2p/utils'
import { newThreadID } from '../../src/core/thread-id.js'
import type { ThreadID } from '../../src/core/types.js'
import { PROTOCOL } from '../../src/net/messages.js'
import { createPenalties } from '../../src/net/penalties.js'
import type { Peer } from '../../src/node/peer.js'
import { createVirtualClock } from '../sim/virtual-time.js'
import { counterOf, freePort, honestStillSyncs, startPeer, stopAll, until } from './helpers.js'
import { startProxy, type TcpProxy } from './proxy.js'

const proxies: TcpProxy[] = []
const nodes: Libp2p[] = []
afterEach(async () => {
  await stopAll()
  await Promise.all(nodes.splice(0).map(async (n) => { await n.stop() }))
  await Promise.all(proxies.splice(0).map(async (p) => { await p.close() }))
})

/** A peer reachable only through a proxy in front of it (it announces the proxy's address). */
async function behindProxy(init: Parameters<typeof startPeer>[0] = {}): Promise<{ peer: Peer; proxy: TcpProxy }> {
  const port = await freePort()
  const proxy = await startProxy(port)
  proxies.push(proxy)
  const peer = await startPeer({ listen: [`/ip4/127.0.0.1/tcp/${port}`], announce: [proxy.addr], ...init })
  return { peer, proxy }
}

function penaltiesOf(peer: Peer): { strikes: number; bans: number; rejected: number } {
  const { strikes, bans, rejected } = peer.net.stats()
  return { strikes, bans, rejected }
}

describe('fair penalties on real connections', () => {
  it('a peer whose connection drops mid-request is not struck', async () => {
    const { peer: a, proxy } = await behindProxy()
    const b = await startPeer()
    const id: ThreadID = newThreadID()
    const info = await a.net.createThread(id)
    for (let i = 0; i < 300; i++) await a.net.createRecord(id, { i, pad: 'x'.repeat(2000) })
    // The line dies after 64 kB of each catch-up: in the middle of a frame of a record stream.
    proxy.cutAfterBytes(64 * 1024)
    const join = info.addrs.find((x) => x.includes(`/tcp/${proxy.port}/`))!
    const failure = await b.net.addThread(join, { threadKey: info.key }).then(() => undefined, (err: Error) => err)
    expect(failure?.name).toBe('SessionClosedError')
    expect(failure?.message).not.toMatch(/\[object |^Error: /)
    const got = await counterOf(b, id)
    expect(got).toBeLessThan(300)
    // Again and again, more times than the strikes that would ban a peer: nobody is struck.
    for (let round = 0; round < 4; round++) {
      const err = await b.net.pullThread(id).then(() => undefined, (e: Error) => e)
      // the network's failure, named: the session closed (or, if the cut hit the dial, the peer was unreachable)
      expect(['SessionClosedError', 'PeerUnreachableError']).toContain(err?.name)
    }
    expect(penaltiesOf(a)).toEqual({ strikes: 0, bans: 0, rejected: 0 })
    expect(penaltiesOf(b)).toEqual({ strikes: 0, bans: 0, rejected: 0 })
    const seen = (await b.net.syncStatus(id)).peers.find((p) => p.peer === a.peerId)
    expect(seen).toMatchObject({ strikes: 0 })
    expect(seen?.bannedUntil).toBeUndefined()
    // Each cut kept what had arrived: the catch-up resumes, and completes once the line holds.
    expect(await counterOf(b, id)).toBeGreaterThan(got)
    proxy.cutAfterBytes(0)
    await until(async () => {
      // (a dial racing the last cut may still fail: the next pull gets through)
      await b.net.pullThread(id).catch(() => undefined)
      return (await counterOf(b, id)) === 300
    }, 20_000, 'B to complete the catch-up')
    expect(penaltiesOf(a)).toEqual({ strikes: 0, bans: 0, rejected: 0 })
  }, 60_000)

  it('a flaky link never gets an honest writer banned, and everything arrives once the link holds', async () => {
    const { peer: w, proxy: pw } = await behindProxy()
    const { peer: r, proxy: pr } = await behindProxy()
    const id = newThreadID()
    const info = await w.net.createThread(id)
    await r.net.addThread(info.addrs.find((x) => x.includes(`/tcp/${pw.port}/`))!, { threadKey: info.key })
    await until(async () => (await w.net.getThread(id)).logs.length === 2, 10_000, 'W to learn R\'s log')
    const flaky = [pw.flaky(100, 400), pr.flaky(100, 400)]
    for (let i = 0; i < 40; i++) {
      await w.net.createRecord(id, { from: 'w', i, pad: 'y'.repeat(4000) })
      if (i % 2 === 0) await r.net.createRecord(id, { from: 'r', i })
      await new Promise((resolve) => setTimeout(resolve, 30))
    }
    for (const f of flaky) f.stop()
    await until(async () => (await counterOf(w, id)) === 60 && (await counterOf(r, id)) === 60, 30_000, 'both to hold all 60 records')
    // the link was cut under them (how they came back — through the proxies or directly — is theirs)
    expect(pw.cut + pr.cut).toBeGreaterThan(0)
    expect(penaltiesOf(w)).toEqual({ strikes: 0, bans: 0, rejected: 0 })
    expect(penaltiesOf(r)).toEqual({ strikes: 0, bans: 0, rejected: 0 })
    for (const [p, other] of [[w, r], [r, w]] as const) {
      const s = (await p.net.syncStatus(id)).peers.find((x) => x.peer === other.peerId)!
      expect(s.strikes).toBe(0)
      expect(s.bannedUntil).toBeUndefined()
    }
  }, 60_000)

  it('throttles garbage from many fresh peer IDs on one address while members keep syncing', async () => {
    const a = await startPeer({ inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 1000 })
    const b = await startPeer()
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    const garbage = async (node: Libp2p): Promise<void> => {
      try {
        const stream = await node.dialProtocol(a.libp2p.peerId, PROTOCOL, { signal: AbortSignal.timeout(5_000) })
        await lpStream(stream).write(new Uint8Array([0xff, 0x13, 0x37]))
        await lpStream(stream).read({ signal: AbortSignal.timeout(2_000) })
      } catch {
        // reset: what we expect
      }
    }
    // 40 identities, 3 garbage sessions each: 120 bad events from one IP, more than its burst.
    for (let n = 0; n < 40; n++) {
      const node = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
      nodes.push(node)
      await node.dial(a.libp2p.getMultiaddrs()[0]!)
      for (let k = 0; k < 3; k++) await garbage(node)
    }
    const stats = a.net.stats()
    expect(stats.throttledIps).toBeGreaterThanOrEqual(1)
    expect(stats.refusedSessions).toBeGreaterThan(0)
    // Not every garbage session was read: once throttled, fresh identities are refused before any frame.
    expect(stats.rejected).toBeLessThan(120)
    // B proved the thread key before: it is a member, and keeps syncing from the same IP.
    await honestStillSyncs(a, b, id, 1)
  }, 60_000)
})

describe('strikes and bans', () => {
  it('forgives one strike per minute without a new one', async () => {
    const clock = createVirtualClock()
    const p = createPenalties({ timers: clock, maxStrikes: 3 })
    const at = '/ip4/10.0.0.1/tcp/1'
    expect(p.strike('x', at, 'bad frame')).toBe(false)
    expect(p.strike('x', at, 'bad frame')).toBe(false)
    expect(p.peer('x').strikes).toBe(2)
    await clock.runFor(60_000)
    expect(p.peer('x').strikes).toBe(1)
    // a third strike now is only the second that counts: no ban
    expect(p.strike('x', at, 'bad frame')).toBe(false)
    expect(p.isBanned('x')).toBe(false)
  })

  it('bans for 30 s at first, four times longer for each repeat, at most an hour, and forgets a peer clean for an hour', async () => {
    const clock = createVirtualClock()
    const p = createPenalties({ timers: clock })
    const at = '/ip4/10.0.0.2/tcp/1'
    const ban = (): number => {
      for (let i = 0; i < 2; i++) expect(p.strike('x', at, 'forged record')).toBe(false)
      expect(p.strike('x', at, 'forged record')).toBe(true)
      return p.peer('x').bannedUntil! - clock.now()
    }
    const lengths: number[] = []
    for (let i = 0; i < 5; i++) {
      lengths.push(ban())
      expect(p.admit('x', at).ok).toBe(false)
      await clock.runFor(lengths.at(-1)!)
      expect(p.isBanned('x')).toBe(false)
      expect(p.admit('x', at).ok).toBe(true)
    }
    expect(lengths).toEqual([30_000, 120_000, 480_000, 1_920_000, 3_600_000])
    await clock.runFor(3_600_000)
    expect(ban()).toBe(30_000)
  })

  it('throttles an IP whose bad events pass its burst, but not the members it already knows', async () => {
    const clock = createVirtualClock()
    const p = createPenalties({ timers: clock, ipBurst: 10 })
    const at = '/ip4/10.0.0.3/tcp/1'
    p.trust('member')
    for (let i = 0; i < 10; i++) expect(p.unknownThread(`stranger-${i}`, at)).toBe(true)
    expect(p.unknownThread('stranger-10', at)).toBe(false)
    expect(p.admit('stranger-11', at).ok).toBe(false)
    expect(p.admit('member', at).ok).toBe(true)
    // another IP is not affected, and the throttle ends
    expect(p.admit('stranger-11', '/ip4/10.0.0.4/tcp/1').ok).toBe(true)
    await clock.runFor(60_001)
    expect(p.admit('stranger-11', at).ok).toBe(true)
  })
})

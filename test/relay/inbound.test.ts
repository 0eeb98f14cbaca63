/**
 * The relay's inbound connection limits per IP, as pure logic: an IP holding its share of
 * connections is refused another; of connections still being set up, an IP past its share loses
 * its oldest, a full pool loses the oldest of the IP holding the most, and upgraded or closed ones
 * stop counting. (The process tests are in test/adversarial/relay.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import type { MultiaddrConnection, PeerId } from '@libp2p/interface'
import { inboundGuard } from '../../relay/inbound.js'

interface Fake { conn: MultiaddrConnection; aborted: boolean; close(): void }

let port = 1000
function fake(ip: string): Fake {
  const listeners: Array<() => void> = []
  const f: Fake = {
    aborted: false,
    close() { (f.conn as { status: string }).status = 'closed'; for (const l of listeners) l() },
    conn: {
      remoteAddr: multiaddr(`/ip4/${ip}/tcp/${port++}`),
      status: 'open',
      addEventListener: (_type: string, l: () => void) => { listeners.push(l) },
      abort: () => { f.aborted = true; f.close() }
    } as unknown as MultiaddrConnection
  }
  return f
}

describe('inbound connections per IP', () => {
  it('an IP holding its share of connections, set up or being set up, is refused another', async () => {
    let refused = 0
    const guard = inboundGuard({ maxPerIp: 3, onRefused: () => { refused++ } })
    const open = [fake('10.0.0.1'), fake('10.0.0.1')].map((f) => ({ remoteAddr: f.conn.remoteAddr }))
    guard.attach(() => open as never)
    const deny = async (f: Fake): Promise<boolean> => await guard.gater.denyInboundConnection!(f.conn)
    expect(await deny(fake('10.0.0.1'))).toBe(false)
    expect(await deny(fake('10.0.0.1'))).toBe(true)
    expect(await deny(fake('10.0.0.2'))).toBe(false)
    expect(refused).toBe(1)
  })

  it('an IP past its share loses its oldest, and a full pool loses the oldest of the IP holding the most', async () => {
    let evicted = 0
    const guard = inboundGuard({ maxPending: 6, maxPendingPerIp: 3, onEvicted: () => { evicted++ } })
    const deny = async (f: Fake): Promise<boolean> => await guard.gater.denyInboundConnection!(f.conn)
    const a = [fake('10.0.0.1'), fake('10.0.0.1'), fake('10.0.0.1'), fake('10.0.0.1')]
    for (const f of a) expect(await deny(f)).toBe(false)
    // The fourth from one IP closed that IP's first.
    expect(a.map((f) => f.aborted)).toEqual([true, false, false, false])
    const b = [fake('10.0.0.2'), fake('10.0.0.2')]
    for (const f of b) await deny(f)
    expect(guard.pending()).toBe(5)
    // The sixth fills the pool: the oldest of 10.0.0.1 (which holds the most) makes room.
    const honest = fake('10.0.0.3')
    await deny(honest)
    expect(a.map((f) => f.aborted)).toEqual([true, true, false, false])
    expect(honest.aborted).toBe(false)
    expect(guard.pending()).toBe(5)
    expect(evicted).toBe(2)
  })

  it('an upgraded or closed connection stops counting', async () => {
    const guard = inboundGuard({ maxPending: 3, maxPendingPerIp: 3 })
    const [x, y] = [fake('10.0.0.1'), fake('10.0.0.1')]
    await guard.gater.denyInboundConnection!(x.conn)
    await guard.gater.denyInboundConnection!(y.conn)
    expect(guard.pending()).toBe(2)
    await guard.gater.denyInboundUpgradedConnection!({} as PeerId, x.conn)
    y.close()
    expect(guard.pending()).toBe(0)
    expect([x.aborted, y.aborted]).toEqual([false, false])
  })
})

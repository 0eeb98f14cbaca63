/**
 * The relay process serves circuit-relay-v2 reservations: a peer that names it as its relay ends
 * up with a `/p2p-circuit` address through it; a reservation is freed as soon as its peer
 * disconnects (not at the end of its 2 h lifetime), and peers from one IP hold at most
 * WEFT_RELAY_MAX_RESERVATIONS_PER_IP of them.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createPeer, type Peer } from '../../src/node/peer.js'
import { cleanupRelays, metricByLabel, metricValue, scrape, startRelayProcess, until, type RelayProcess } from './harness.js'

const peers: Peer[] = []

afterEach(async () => {
  await Promise.all(peers.splice(0).map(async (p) => { await p.stop().catch(() => undefined) }))
  await cleanupRelays()
})

async function relayClient(relayAddr: string): Promise<Peer> {
  const peer = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0, relays: [relayAddr] })
  peers.push(peer)
  return peer
}

/** Resolves with the peer's circuit addresses as soon as it has one (checked now and on every `self:peer:update`). */
async function circuitAddrs(peer: Peer, timeoutMs = 30_000): Promise<string[]> {
  return await new Promise<string[]>((resolve, reject) => {
    const check = (): void => {
      const found = peer.libp2p.getMultiaddrs().map((a) => a.toString()).filter((a) => a.includes('/p2p-circuit'))
      if (found.length === 0) return
      done()
      resolve(found)
    }
    const timer = setTimeout(() => { done(); reject(new Error('no /p2p-circuit address in time')) }, timeoutMs)
    function done(): void {
      clearTimeout(timer)
      peer.libp2p.removeEventListener('self:peer:update', check)
    }
    peer.libp2p.addEventListener('self:peer:update', check)
    check()
  })
}

async function reservationsHeld(relay: RelayProcess): Promise<number | undefined> {
  return metricValue(await scrape(relay), 'weft_relay_reservations')
}

describe('relay reservations', () => {
  it('gives a peer that names it as relay a /p2p-circuit address through it', async () => {
    const relay = await startRelayProcess()
    for (const relayAddr of [relay.tcpAddr, relay.wsAddr]) {
      const peer = await relayClient(relayAddr)
      const circuits = await circuitAddrs(peer)
      expect(circuits.some((a) => a.includes(`/p2p/${relay.peerId}/p2p-circuit/p2p/${peer.peerId}`)), circuits.join(' ')).toBe(true)
    }
    await until(async () => await reservationsHeld(relay) === 2, 'the relay to count two reservations')
  }, 120_000)

  it('a reservation is freed when its peer disconnects', async () => {
    // One slot in all: a peer that left must not keep it for the reservation's 2 h lifetime.
    const relay = await startRelayProcess({ env: { WEFT_RELAY_MAX_RESERVATIONS: '1' } })
    const first = await relayClient(relay.tcpAddr)
    await circuitAddrs(first)
    expect(await reservationsHeld(relay)).toBe(1)
    peers.splice(peers.indexOf(first), 1)
    await first.stop()
    await until(async () => await reservationsHeld(relay) === 0, 'the reservation to be freed')

    const second = await relayClient(relay.tcpAddr)
    const circuits = await circuitAddrs(second)
    expect(circuits.some((a) => a.endsWith(`/p2p-circuit/p2p/${second.peerId}`))).toBe(true)
    expect(await reservationsHeld(relay)).toBe(1)
  }, 120_000)

  it('reservations past the per-IP cap are refused and counted', async () => {
    const relay = await startRelayProcess({ env: { WEFT_RELAY_MAX_RESERVATIONS_PER_IP: '1' } })
    await circuitAddrs(await relayClient(relay.tcpAddr))
    // A second peer from the same IP (127.0.0.1) asks too: refused, counted, and the first keeps its slot.
    await relayClient(relay.tcpAddr)
    await until(async () => (metricByLabel(await scrape(relay), 'weft_relay_refused_total', 'kind').reservations_per_ip ?? 0) >= 1, 'the relay to refuse the second reservation')
    expect(await reservationsHeld(relay)).toBe(1)
  }, 120_000)
})

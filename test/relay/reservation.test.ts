/**
 * The relay process serves circuit-relay-v2 reservations: a peer that names it as its relay ends
 * up with a `/p2p-circuit` address through it, and the relay counts the reservation.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createPeer, type Peer } from '../../src/node/peer.js'
import { cleanupRelays, metricValue, scrape, startRelayProcess, until } from './harness.js'

const peers: Peer[] = []

afterEach(async () => {
  await Promise.all(peers.splice(0).map(async (p) => { await p.stop().catch(() => undefined) }))
  await cleanupRelays()
})

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

describe('relay reservations', () => {
  it('gives a peer that names it as relay a /p2p-circuit address through it', async () => {
    const relay = await startRelayProcess()
    for (const relayAddr of [relay.tcpAddr, relay.wsAddr]) {
      const peer = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0, relays: [relayAddr] })
      peers.push(peer)
      const circuits = await circuitAddrs(peer)
      expect(circuits.some((a) => a.includes(`/p2p/${relay.peerId}/p2p-circuit/p2p/${peer.peerId}`)), circuits.join(' ')).toBe(true)
    }
    await until(async () => metricValue(await scrape(relay), 'weft_relay_reservations') === 2, 'the relay to count two reservations')
  }, 120_000)
})

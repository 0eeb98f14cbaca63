/**
 * Circuit-relay-v2 reservations on a public relay. libp2p's relay server keeps a reservation for
 * its whole TTL (2 h by default) whether or not the peer that made it is still connected, so a
 * few strangers can take every slot and leave. Here, through the server's own API and libp2p's
 * events (no fork of the server):
 *
 * - a reservation is **freed when its peer disconnects** (libp2p `peer:disconnect`: its last
 *   connection closed): its timer is cleared and it leaves the server's reservation map;
 * - reservations are **capped per IP** (IPv6: per /64, relay/ip.ts): the connection gater's
 *   `denyInboundRelayReservation` refuses a new reservation when peers from the requester's IP
 *   already hold the cap. A peer renewing its own reservation is never refused.
 */
import type { ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { logger } from '../src/core/logger.js'
import { ipKeyOfMultiaddr } from './ip.js'

const log = logger('weft:relay:reservations')

export interface ReservationGuardInit {
  /** Reservations held at once by peers from one IP key. @default 8 */
  maxPerIp?: number
  /** Called for each reservation refused by the per-IP cap. */
  onRefused?: () => void
}

export interface ReservationGuard {
  /** The gater to give libp2p (before the relay's libp2p node exists). */
  readonly gater: ConnectionGater
  /** Start freeing reservations of peers that disconnect. Returns a function that stops it. */
  attach(libp2p: Libp2p, relay: CircuitRelayService): () => void
}

export function reservationGuard(init: ReservationGuardInit = {}): ReservationGuard {
  const maxPerIp = init.maxPerIp ?? 8
  let node: { libp2p: Libp2p; relay: CircuitRelayService } | undefined

  /** The IP key the peer is connected from (its first direct connection), or ''. */
  function ipOf(libp2p: Libp2p, peer: PeerId): string {
    for (const c of libp2p.getConnections(peer)) {
      const ip = ipKeyOfMultiaddr(c.remoteAddr.toString())
      if (ip !== '' && !c.remoteAddr.toString().includes('/p2p-circuit')) return ip
    }
    return ''
  }

  const gater: ConnectionGater = {
    denyInboundRelayReservation(peer: PeerId): boolean {
      if (node == null) return false
      const { libp2p, relay } = node
      if (relay.reservations.has(peer)) return false // a renewal
      const ip = ipOf(libp2p, peer)
      if (ip === '') return false
      let held = 0
      for (const [, r] of relay.reservations) {
        if (ipKeyOfMultiaddr(r.addr.toString()) === ip) held++
      }
      if (held < maxPerIp) return false
      log('refusing a reservation to %p: peers from %s hold %d', peer, ip, held)
      init.onRefused?.()
      return true
    }
  }

  return {
    gater,
    attach(libp2p, relay) {
      node = { libp2p, relay }
      const onDisconnect = (evt: CustomEvent<PeerId>): void => {
        const reservation = relay.reservations.get(evt.detail)
        if (reservation == null) return
        // Clear the timer first: left running, it would later delete a new reservation of the peer.
        reservation.signal.clear()
        relay.reservations.delete(evt.detail)
        log('freed the reservation of %p: it disconnected', evt.detail)
      }
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      return () => {
        libp2p.removeEventListener('peer:disconnect', onDisconnect)
        node = undefined
      }
    }
  }
}

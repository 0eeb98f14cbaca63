/**
 * Inbound connections still being set up (encryption, muxer) on a public relay. libp2p takes at
 * most `maxIncomingPendingConnections` of them at once and refuses every other inbound connection
 * meanwhile, giving each up to 10 s: a stranger opening sockets that never say a word, a few a
 * second from one or two IPs, kept every honest peer out of the relay. Here, through the
 * connection gater (no fork of libp2p), as the HTTP server's socket guard does for HTTP:
 *
 * - peers from one IP (IPv6: one /64, relay/ip.ts) have at most `maxPerIp` connections being set
 *   up: a new one past that closes that IP's oldest;
 * - the pool never fills up: when the connections being set up reach `maxPending`, the oldest
 *   of the IP that holds the most is closed, so the next connection always finds room. An honest
 *   handshake takes milliseconds; the connections left waiting longest are the ones that do not
 *   speak.
 *
 * A connection stops counting once it is upgraded (`denyInboundUpgradedConnection`) or closed.
 */
import type { ConnectionGater, MultiaddrConnection } from '@libp2p/interface'
import { logger } from '../src/core/logger.js'
import { ipKeyOfMultiaddr } from './ip.js'

const log = logger('weft:relay:pending')

export interface PendingGuardInit {
  /** Connections being set up at once, in all (libp2p's `maxIncomingPendingConnections`). @default 10 */
  maxPending?: number
  /** Connections being set up at once from one IP key. @default 4 */
  maxPerIp?: number
  /** Called for each connection closed to make room. */
  onEvicted?: () => void
}

export interface PendingGuard {
  /** The gater hooks to give libp2p (with the relay's other hooks). */
  readonly gater: Pick<ConnectionGater, 'denyInboundConnection' | 'denyInboundUpgradedConnection'>
  /** Connections being set up now. */
  pending(): number
}

interface Pending { conn: MultiaddrConnection; ip: string; at: number }

export function pendingGuard(init: PendingGuardInit = {}): PendingGuard {
  const maxPending = init.maxPending ?? 10
  const maxPerIp = init.maxPerIp ?? 4
  const all = new Map<MultiaddrConnection, Pending>()
  const byIp = new Map<string, Set<Pending>>()
  let arrivals = 0

  function forget(p: Pending): void {
    if (!all.delete(p.conn)) return
    const set = byIp.get(p.ip)
    set?.delete(p)
    if (set?.size === 0) byIp.delete(p.ip)
  }

  function oldest(pool: Iterable<Pending>, except?: Pending): Pending | undefined {
    let found: Pending | undefined
    for (const p of pool) if (p !== except && (found == null || p.at < found.at)) found = p
    return found
  }

  function evict(p: Pending, why: string): void {
    forget(p)
    log('closing a connection from %s still being set up: %s', p.ip, why)
    init.onEvicted?.()
    p.conn.abort(new Error(`closed to make room: ${why}`))
  }

  return {
    pending: () => all.size,
    gater: {
      denyInboundConnection(conn) {
        for (const p of [...all.values()]) if (p.conn.status !== 'open') forget(p)
        const ip = ipKeyOfMultiaddr(conn.remoteAddr.toString())
        const mine = byIp.get(ip) ?? new Set<Pending>()
        byIp.set(ip, mine)
        while (mine.size >= maxPerIp) evict(oldest(mine)!, `${ip} has ${maxPerIp} being set up`)
        // Arrival order, not the clock: two connections in one millisecond are still ordered.
        const entry: Pending = { conn, ip, at: arrivals++ }
        all.set(conn, entry)
        mine.add(entry)
        conn.addEventListener('close', () => { forget(entry) }, { once: true })
        if (all.size >= maxPending) {
          let fullest: Set<Pending> | undefined
          for (const set of byIp.values()) if (fullest == null || set.size > fullest.size) fullest = set
          const victim = oldest(fullest ?? [], entry) ?? oldest(all.values(), entry)
          if (victim != null) evict(victim, `${maxPending} connections are being set up`)
        }
        return false
      },
      denyInboundUpgradedConnection(_peer, conn) {
        const p = all.get(conn)
        if (p != null) forget(p)
        return false
      }
    }
  }
}

/**
 * Inbound connections per IP on a public relay. libp2p refuses every inbound connection once it
 * holds `maxConnections`, and takes at most `maxIncomingPendingConnections` being set up
 * (encryption, muxer) at once, refusing every other meanwhile and giving each up to 10 s: a
 * stranger holding the connection slots from one IP, or opening sockets that never say a word a
 * few a second from one or two, kept every honest peer out of the relay. Here, through the
 * connection gater (no fork of libp2p), as the HTTP server's socket guard does for HTTP:
 *
 * - peers from one IP (IPv6: one /64, relay/ip.ts) hold at most `maxPerIp` connections, set up or
 *   being set up: a new one past that is refused;
 * - peers from one IP have at most `maxPendingPerIp` connections being set up: a new one past
 *   that closes that IP's oldest;
 * - the pool never fills up: when the connections being set up reach `maxPending`, the oldest
 *   of the IP that holds the most is closed, so the next connection always finds room. An honest
 *   handshake takes milliseconds; the connections left waiting longest are the ones that do not
 *   speak.
 *
 * A connection stops counting once it is upgraded (`denyInboundUpgradedConnection`) or closed.
 */
import type { Connection, ConnectionGater, MultiaddrConnection } from '@libp2p/interface'
import { logger } from '../src/core/logger.js'
import { ipKeyOfMultiaddr } from './ip.js'

const log = logger('weft:relay:inbound')

export interface InboundGuardInit {
  /** Connections set up or being set up from one IP key. @default 32 */
  maxPerIp?: number
  /** Connections being set up at once, in all (libp2p's `maxIncomingPendingConnections`). @default 10 */
  maxPending?: number
  /** Connections being set up at once from one IP key. @default 4 */
  maxPendingPerIp?: number
  /** Called for each connection refused because its IP holds `maxPerIp`. */
  onRefused?: () => void
  /** Called for each connection being set up closed to make room. */
  onEvicted?: () => void
}

export interface InboundGuard {
  /** The gater hooks to give libp2p (with the relay's other hooks). */
  readonly gater: Pick<ConnectionGater, 'denyInboundConnection' | 'denyInboundUpgradedConnection'>
  /** Count the connections of this node (call once it exists). */
  attach(connections: () => Connection[]): void
  /** Connections being set up now. */
  pending(): number
}

interface Pending { conn: MultiaddrConnection; ip: string; at: number }

export function inboundGuard(init: InboundGuardInit = {}): InboundGuard {
  const maxPerIp = init.maxPerIp ?? 32
  const maxPending = init.maxPending ?? 10
  const maxPendingPerIp = init.maxPendingPerIp ?? 4
  let connections: () => Connection[] = () => []
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

  /** Connections set up from `ip` (direct ones: a circuit's address is the relay's). */
  function established(ip: string): number {
    let n = 0
    for (const c of connections()) {
      const addr = c.remoteAddr.toString()
      if (!addr.includes('/p2p-circuit') && ipKeyOfMultiaddr(addr) === ip) n++
    }
    return n
  }

  return {
    pending: () => all.size,
    attach(list) { connections = list },
    gater: {
      denyInboundConnection(conn) {
        for (const p of [...all.values()]) if (p.conn.status !== 'open') forget(p)
        const ip = ipKeyOfMultiaddr(conn.remoteAddr.toString())
        const mine = byIp.get(ip) ?? new Set<Pending>()
        if (ip !== '' && established(ip) + mine.size >= maxPerIp) {
          log('refusing a connection from %s: it holds %d', ip, maxPerIp)
          init.onRefused?.()
          return true
        }
        byIp.set(ip, mine)
        while (mine.size >= maxPendingPerIp) evict(oldest(mine)!, `${ip} has ${maxPendingPerIp} being set up`)
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

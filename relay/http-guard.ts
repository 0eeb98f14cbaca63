/**
 * Socket limits of the relay's HTTP server, so that slow or idle clients cannot keep health
 * probes out. Every socket is counted per remote IP and in total; a socket is *waiting* while no
 * request is in progress on it (it has not sent complete headers yet, or it is an idle keep-alive
 * connection) and *busy* while a request is being answered. A new socket over either cap evicts
 * the socket that has been waiting longest (of its IP, for the per-IP cap; of anyone, for the
 * total); when every counted socket is busy, the new one is refused. A client that sends its
 * request at once is therefore always served, however many sockets others hold open; the
 * server's header and request deadlines cut off the rest.
 */
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { logger } from '../src/core/logger.js'

const log = logger('weft:relay:http')

export interface SocketGuardInit {
  /** Most sockets open at once, in total. @default 256 */
  maxSockets?: number
  /** Most sockets open at once from one remote IP. @default 16 */
  maxSocketsPerIp?: number
}

export interface SocketGuardStats {
  /** Sockets open now. */
  open: number
  /** Waiting sockets closed to make room for a new one, since start. */
  evicted: number
  /** New sockets refused because every counted socket was busy, since start. */
  refused: number
}

interface Tracked {
  socket: Socket
  ip: string
  /** Requests in progress on the socket. */
  busy: number
  /** When the socket last started waiting (opened, or finished a response). */
  since: number
}

export interface SocketGuard {
  stats(): SocketGuardStats
}

/** Enforce the caps on `server` (call before it listens). */
export function guardSockets(server: Server, init: SocketGuardInit = {}): SocketGuard {
  const maxSockets = init.maxSockets ?? 256
  const maxPerIp = init.maxSocketsPerIp ?? 16
  const all = new Map<Socket, Tracked>()
  const byIp = new Map<string, Set<Tracked>>()
  let evicted = 0
  let refused = 0

  function forget(t: Tracked): void {
    if (!all.delete(t.socket)) return
    const set = byIp.get(t.ip)
    set?.delete(t)
    if (set?.size === 0) byIp.delete(t.ip)
  }

  /** The socket waiting longest among `pool`, if any waits. */
  function longestWaiting(pool: Iterable<Tracked>): Tracked | undefined {
    let found: Tracked | undefined
    for (const t of pool) {
      if (t.busy === 0 && (found == null || t.since < found.since)) found = t
    }
    return found
  }

  /** Make room in `pool` (at `cap`) by evicting its longest-waiting socket; false when all are busy. */
  function makeRoom(pool: Set<Tracked> | Map<Socket, Tracked>, cap: number): boolean {
    while (pool.size >= cap) {
      const victim = longestWaiting(pool.values())
      if (victim == null) return false
      forget(victim)
      victim.socket.destroy()
      evicted++
    }
    return true
  }

  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? 'unknown'
    const mine = byIp.get(ip) ?? new Set<Tracked>()
    if (!makeRoom(mine, maxPerIp) || !makeRoom(all, maxSockets)) {
      refused++
      log('refusing an HTTP connection from %s: every socket is busy', ip)
      socket.destroy()
      return
    }
    const t: Tracked = { socket, ip, busy: 0, since: Date.now() }
    all.set(socket, t)
    mine.add(t)
    byIp.set(ip, mine)
    socket.once('close', () => { forget(t) })
  })

  server.on('request', (req, res) => {
    const t = all.get(req.socket)
    if (t == null) return
    t.busy++
    res.once('close', () => {
      t.busy--
      t.since = Date.now()
    })
  })

  return {
    stats: () => ({ open: all.size, evicted, refused })
  }
}

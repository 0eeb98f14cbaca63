/**
 * Fair penalties. Only proof counts against a peer: a frame that does not decode or is over the
 * size limit, a reply of the wrong kind, a record whose CIDs, signature or service-key layer fail.
 * Network failures (resets, ends of stream, aborted reads, deadlines) never do — callers simply do
 * not report them here.
 *
 * Strikes decay (one forgiven per `strikeDecayMs` without a new one); `maxStrikes` of them ban the
 * peer for `banMs`, and each further ban while the last one is remembered lasts `banGrowth` times
 * longer, up to `maxBanMs`. Peer IDs cost nothing to make, so abuse is also counted per remote IP:
 * violations and requests for threads we do not hold drain a token bucket per IP, and an IP whose
 * bucket is empty is throttled for `ipCooldownMs` — sessions from peers that have not proven a
 * thread key to us are refused from it, while known members keep syncing.
 */
import type { Timers } from './timers.js'

export interface PenaltiesInit {
  timers: Timers
  /** Proven violations that ban a peer. @default 3 */
  maxStrikes?: number
  /** One strike is forgiven per this many ms without a new one. @default 60000 */
  strikeDecayMs?: number
  /** Length of a first ban. @default 30000 */
  banMs?: number
  /** Each further ban lasts this many times longer. @default 4 */
  banGrowth?: number
  /** Longest ban; a peer clean for this long after a ban starts again from `banMs`. @default 3600000 */
  maxBanMs?: number
  /** Bad events one remote IP may cause in a burst (violations, unknown threads). @default 64 */
  ipBurst?: number
  /** Bad events per second an IP earns back. @default 1 */
  ipRefillPerSecond?: number
  /** How long a throttled IP's untrusted peers are refused. @default 60000 */
  ipCooldownMs?: number
  /** Most peers and IPs remembered (the least recently seen are forgotten). @default 10000 */
  maxTracked?: number
}

export interface PeerPenalty {
  strikes: number
  /** Set while the peer is banned. */
  bannedUntil?: number
}

export interface PenaltyStats {
  /** Proven violations counted. */
  strikes: number
  /** Bans given. */
  bans: number
  /** Sessions refused (banned peer, throttled IP). */
  refusedSessions: number
  /** Times an IP was throttled. */
  throttledIps: number
}

export interface Penalties {
  /** Count a proven violation; returns true when it bans the peer (the caller hangs up). */
  strike(peer: string, remoteAddr: string, reason: string): boolean
  /** A request for a thread we do not hold (or a refused key): returns false when its IP is throttled. */
  unknownThread(peer: string, remoteAddr: string): boolean
  /** The peer proved a thread key to us: it is a member, not a stranger. */
  trust(peer: string): void
  isBanned(peer: string): boolean
  /** Whether to take a session from `peer` at `remoteAddr`; the reason when not. */
  admit(peer: string, remoteAddr: string): { ok: true } | { ok: false; reason: string }
  peer(peer: string): PeerPenalty
  readonly stats: PenaltyStats
}

interface PeerState { strikes: number; lastStrikeAt: number; bans: number; bannedUntil: number; trusted: boolean; seen: number }
interface IpState { tokens: number; at: number; throttledUntil: number; seen: number }

/** The IP part of a multiaddr string; for a relayed address, the relay's address (circuits share it). */
export function ipKey(remoteAddr: string): string {
  const circuit = remoteAddr.indexOf('/p2p-circuit')
  if (circuit >= 0) return `circuit:${remoteAddr.slice(0, circuit)}`
  const m = /\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)/.exec(remoteAddr)
  return m != null ? `${m[1]}:${m[2]}` : remoteAddr
}

export function createPenalties(init: PenaltiesInit): Penalties {
  const { timers } = init
  const maxStrikes = init.maxStrikes ?? 3
  const decayMs = init.strikeDecayMs ?? 60_000
  const banMs = init.banMs ?? 30_000
  const growth = init.banGrowth ?? 4
  const maxBanMs = init.maxBanMs ?? 3_600_000
  const ipBurst = init.ipBurst ?? 64
  const refill = init.ipRefillPerSecond ?? 1
  const cooldownMs = init.ipCooldownMs ?? 60_000
  const maxTracked = init.maxTracked ?? 10_000
  const peers = new Map<string, PeerState>()
  const ips = new Map<string, IpState>()
  const stats: PenaltyStats = { strikes: 0, bans: 0, refusedSessions: 0, throttledIps: 0 }

  function bound<T extends { seen: number }>(map: Map<string, T>, keep: (v: T) => boolean): void {
    if (map.size <= maxTracked) return
    // Forget what carries no penalty first, then the least recently seen.
    for (const [k, v] of map) if (!keep(v)) map.delete(k)
    if (map.size <= maxTracked) return
    const oldest = [...map.entries()].sort((a, b) => a[1].seen - b[1].seen).slice(0, map.size - maxTracked)
    for (const [k] of oldest) map.delete(k)
  }

  function peerState(peer: string): PeerState {
    const now = timers.now()
    let s = peers.get(peer)
    if (s == null) {
      s = { strikes: 0, lastStrikeAt: now, bans: 0, bannedUntil: 0, trusted: false, seen: now }
      peers.set(peer, s)
      bound(peers, (v) => v.strikes > 0 || v.bannedUntil > now || v.trusted)
    }
    s.seen = now
    if (s.strikes > 0) {
      const forgiven = Math.floor((now - s.lastStrikeAt) / decayMs)
      if (forgiven > 0) {
        s.strikes = Math.max(0, s.strikes - forgiven)
        s.lastStrikeAt += forgiven * decayMs
      }
    }
    // A peer clean for maxBanMs after its last ban starts again from the first ban length.
    if (s.bans > 0 && s.bannedUntil + maxBanMs <= now) s.bans = 0
    return s
  }

  /** Take one token from the IP's bucket; false (and throttled) when it is empty. */
  function spend(remoteAddr: string): boolean {
    const key = ipKey(remoteAddr)
    const now = timers.now()
    let s = ips.get(key)
    if (s == null) {
      s = { tokens: ipBurst, at: now, throttledUntil: 0, seen: now }
      ips.set(key, s)
      bound(ips, (v) => v.throttledUntil > now || v.tokens < ipBurst)
    }
    s.seen = now
    s.tokens = Math.min(ipBurst, s.tokens + ((now - s.at) / 1000) * refill)
    s.at = now
    if (s.tokens >= 1) {
      s.tokens -= 1
      return true
    }
    if (s.throttledUntil <= now) stats.throttledIps++
    s.throttledUntil = now + cooldownMs
    return false
  }

  function throttled(remoteAddr: string): boolean {
    const s = ips.get(ipKey(remoteAddr))
    return s != null && s.throttledUntil > timers.now()
  }

  return {
    stats,
    strike(peer, remoteAddr, reason) {
      void reason
      const s = peerState(peer)
      const now = timers.now()
      stats.strikes++
      spend(remoteAddr)
      s.strikes++
      s.lastStrikeAt = now
      if (s.strikes < maxStrikes) return false
      s.strikes = 0
      const length = Math.min(maxBanMs, banMs * growth ** s.bans)
      s.bans++
      s.bannedUntil = now + length
      stats.bans++
      return true
    },
    unknownThread(peer, remoteAddr) {
      void peer
      return spend(remoteAddr)
    },
    trust(peer) {
      peerState(peer).trusted = true
    },
    isBanned(peer) {
      const s = peers.get(peer)
      return s != null && s.bannedUntil > timers.now()
    },
    admit(peer, remoteAddr) {
      const s = peers.get(peer)
      const now = timers.now()
      if (s != null && s.bannedUntil > now) {
        stats.refusedSessions++
        return { ok: false, reason: `${peer} is banned for ${Math.ceil((s.bannedUntil - now) / 1000)} s` }
      }
      if (s?.trusted !== true && throttled(remoteAddr)) {
        stats.refusedSessions++
        return { ok: false, reason: `${ipKey(remoteAddr)} is throttled` }
      }
      return { ok: true }
    },
    peer(peer) {
      if (!peers.has(peer)) return { strikes: 0 }
      const s = peerState(peer)
      return s.bannedUntil > timers.now() ? { strikes: s.strikes, bannedUntil: s.bannedUntil } : { strikes: s.strikes }
    }
  }
}

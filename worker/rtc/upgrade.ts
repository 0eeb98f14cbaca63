/**
 * Upgrades relayed connections to direct WebRTC ones. libp2p does not do it by itself: a peer
 * reached only through a relay circuit is dialled at `<relay>/p2p-circuit/webrtc/p2p/<id>`, which
 * signals over the circuit and ends in a direct, unlimited connection.
 *
 * Who dials: the peer with the smaller peer ID at once; the other after `patienceMs` if still only
 * relayed (the first may have no host tab). A peer whose host tab changed re-dials every peer at
 * once (its WebRTC connections died with the old host; the remote may not notice for seconds).
 * Failed dials back off per peer (2 s doubling to 30 s).
 */
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { logger } from '../../src/core/logger.js'
import type { RtcBridge } from '../../src/platform/rtc-standin.browser.js'
import { connectionKind } from '../connections.js'

const log = logger('weft:worker:webrtc')

export interface UpgraderInit {
  /** Peers that are relays (never upgraded). */
  relayPeers: () => ReadonlySet<string>
  /** Wait this long before the larger peer ID dials. @default 5000 */
  patienceMs?: number
  /** Check this often. @default 1000 */
  intervalMs?: number
  dialTimeoutMs?: number
}

export interface Upgrader {
  /** Look at every connection now. */
  check(): void
  stop(): void
  /** Attempts made and succeeded (for tests and benchmarks). */
  readonly stats: { attempts: number; upgraded: number; failed: number }
}

export function upgradeToWebRTC(libp2p: Libp2p, bridge: RtcBridge, init: UpgraderInit): Upgrader {
  const patience = init.patienceMs ?? 5000
  const self = libp2p.peerId.toString()
  const relayedSince = new Map<string, number>()
  const backoff = new Map<string, { until: number; delay: number }>()
  const inFlight = new Set<string>()
  let forceUntil = 0
  let hadHost = bridge.hasHost
  let stopped = false
  const stats = { attempts: 0, upgraded: 0, failed: 0 }

  function check(): void {
    if (stopped || !bridge.hasHost) return
    const relays = init.relayPeers()
    const byPeer = new Map<string, { relayed?: string; webrtc: boolean }>()
    for (const c of libp2p.getConnections()) {
      if (c.status !== 'open') continue
      const peer = c.remotePeer.toString()
      if (relays.has(peer)) continue
      const entry = byPeer.get(peer) ?? { webrtc: false }
      const kind = connectionKind(c, relays)
      if (kind === 'webrtc') entry.webrtc = true
      else if (kind === 'relayed') {
        const s = c.remoteAddr.toString()
        const at = s.indexOf('/p2p-circuit')
        if (at >= 0) entry.relayed = s.slice(0, at + '/p2p-circuit'.length)
      } else entry.webrtc = true // a direct connection needs no upgrade
      byPeer.set(peer, entry)
    }
    const now = Date.now()
    for (const peer of relayedSince.keys()) if (byPeer.get(peer)?.relayed == null || byPeer.get(peer)?.webrtc === true) relayedSince.delete(peer)
    for (const [peer, e] of byPeer) {
      if (e.webrtc || e.relayed == null || inFlight.has(peer)) continue
      const since = relayedSince.get(peer) ?? now
      relayedSince.set(peer, since)
      const b = backoff.get(peer)
      if (b != null && b.until > now) continue
      const eager = self < peer || now < forceUntil
      if (!eager && now - since < patience) continue
      dial(peer, `${e.relayed}/webrtc/p2p/${peer}`)
    }
  }

  function dial(peer: string, addr: string): void {
    inFlight.add(peer)
    stats.attempts++
    log('dialling %s', addr)
    libp2p.dial(multiaddr(addr), { force: true, signal: AbortSignal.timeout(init.dialTimeoutMs ?? 15_000) }).then((conn) => {
      // libp2p may hand back a connection it already had (e.g. while the remote's dial to us is
      // being upgraded): not an upgrade, look again later.
      if (!conn.remoteAddr.toString().includes('/webrtc')) throw new Error(`got an existing ${conn.remoteAddr.toString()} connection`)
      stats.upgraded++
      backoff.delete(peer)
      relayedSince.delete(peer)
      log('webrtc to %s: %s', peer, conn.remoteAddr.toString())
    }).catch((err: Error) => {
      stats.failed++
      const delay = Math.min(30_000, (backoff.get(peer)?.delay ?? 1000) * 2)
      backoff.set(peer, { until: Date.now() + delay, delay })
      log('webrtc dial to %s failed: %s (retry in %d ms)', peer, err.message, delay)
    }).finally(() => { inFlight.delete(peer) })
  }

  const timer = setInterval(check, init.intervalMs ?? 1000)
  const onChange = (): void => { queueMicrotask(check) }
  libp2p.addEventListener('connection:open', onChange)
  libp2p.addEventListener('peer:identify', onChange)
  const unwatch = bridge.onHostChange((present) => {
    if (!present) return
    const replaced = hadHost
    hadHost = true
    backoff.clear()
    if (!replaced) { setTimeout(check, 50); return }
    // A new host after another: our WebRTC connections died with the old one and the remote may
    // not notice for seconds, so re-dial at once whatever the peer IDs.
    forceUntil = Date.now() + 10_000
    setTimeout(check, 50)
  })

  return {
    check,
    stats,
    stop() {
      stopped = true
      clearInterval(timer)
      libp2p.removeEventListener('connection:open', onChange)
      libp2p.removeEventListener('peer:identify', onChange)
      unwatch()
    }
  }
}

/**
 * Upgrades relayed connections to direct WebRTC ones. libp2p does not do it by itself: a peer
 * reached only through a relay circuit is dialled at `<relay>/p2p-circuit/webrtc/p2p/<id>`, which
 * signals over the circuit and ends in a direct, unlimited connection.
 *
 * Who dials: the peer with the smaller peer ID at once; the other after `patienceMs` if still only
 * relayed (the first may have no host tab). A peer whose host tab changed re-dials every peer at
 * once (its WebRTC connections died with the old host; the remote may not notice for seconds).
 * Failed dials back off per peer (2 s doubling to 30 s); a new relayed connection from a peer
 * starts afresh (the peer came back: whatever failed before may work now).
 *
 * Stale connections: a peer whose browser reloaded comes back through the relay while our WebRTC
 * connection to its previous self may still look open (for seconds: its data channels are gone,
 * the peer connection has not failed yet). So a relayed connection from a peer we hold a WebRTC
 * connection to makes us probe that connection (a ping on it, `probeMs`); one that does not
 * answer is closed, and the upgrade goes ahead at once.
 */
import type { Connection, Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { logger } from '../../src/core/logger.js'
import type { RtcBridge } from '../../src/platform/rtc-standin.browser.js'
import { connectionKind } from '../connections.js'
import { probeConnection } from './probe.js'

const log = logger('weft:worker:webrtc')

export interface UpgraderInit {
  /** Peers that are relays (never upgraded). */
  relayPeers: () => ReadonlySet<string>
  /** Wait this long before the larger peer ID dials. @default 5000 */
  patienceMs?: number
  /** Check this often. @default 1000 */
  intervalMs?: number
  /** Deadline of a WebRTC dial. @default 15000 */
  dialTimeoutMs?: number
  /** Deadline of the ping that tells a stale WebRTC connection from a live one. @default 1500 */
  probeMs?: number
}

export interface Upgrader {
  /** Look at every connection now. */
  check(): void
  stop(): void
  /** Attempts made and succeeded (for tests and benchmarks). */
  readonly stats: { attempts: number; upgraded: number; failed: number; stale: number }
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
  const probing = new Set<string>()
  const stats = { attempts: 0, upgraded: 0, failed: 0, stale: 0 }

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

  /** A relayed connection from `peer` opened: probe the WebRTC connections we hold to it. */
  function relayedOpened(peer: string, conn: Connection): void {
    backoff.delete(peer)
    if (probing.has(peer)) return
    const relays = init.relayPeers()
    const older = libp2p.getConnections().filter((c) => c !== conn && c.status === 'open' && c.remotePeer.toString() === peer &&
      connectionKind(c, relays) === 'webrtc')
    if (older.length === 0) return
    probing.add(peer)
    void Promise.all(older.map(async (c) => {
      if (await probeConnection(c, init.probeMs ?? 1500)) return
      stats.stale++
      log('webrtc connection to %s does not answer: closing it', peer)
      c.abort(new Error('stale WebRTC connection: the peer came back through the relay'))
    })).finally(() => {
      probing.delete(peer)
      check()
    })
  }

  const timer = setInterval(check, init.intervalMs ?? 1000)
  const onChange = (): void => { queueMicrotask(check) }
  const onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    const peer = conn.remotePeer.toString()
    if (!stopped && connectionKind(conn, init.relayPeers()) === 'relayed') relayedOpened(peer, conn)
    onChange()
  }
  libp2p.addEventListener('connection:open', onOpen)
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
      libp2p.removeEventListener('connection:open', onOpen)
      libp2p.removeEventListener('peer:identify', onChange)
      unwatch()
    }
  }
}

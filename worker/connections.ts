/**
 * How a peer is reached: the best open connection to it, as the client reports it.
 * (src/net's `via` counts the dialler's side of a WebRTC connection as relayed, because its
 * remote address keeps the `/p2p-circuit` it was signalled through.)
 */
import type { Connection, Libp2p } from '@libp2p/interface'
import type { ConnectionKind } from '../src/contract/index.js'

const RANK: Record<ConnectionKind, number> = { webrtc: 4, direct: 3, 'relay-replicator': 3, relayed: 2, none: 0 }

export function connectionKind(conn: Connection, relayPeers: ReadonlySet<string>): ConnectionKind {
  const addr = conn.remoteAddr.toString()
  if (relayPeers.has(conn.remotePeer.toString())) return 'relay-replicator'
  if (addr.includes('/webrtc')) return 'webrtc'
  if (addr.includes('/p2p-circuit') || conn.limits != null) return 'relayed'
  return 'direct'
}

/** The best way we reach `peer` right now ('none' when not connected). */
export function peerKind(libp2p: Libp2p, peer: string, relayPeers: ReadonlySet<string>): ConnectionKind {
  let best: ConnectionKind = 'none'
  for (const c of libp2p.getConnections()) {
    if (c.status !== 'open' || c.remotePeer.toString() !== peer) continue
    const k = connectionKind(c, relayPeers)
    if (RANK[k] > RANK[best]) best = k
  }
  return best
}

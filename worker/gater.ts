/**
 * The browser peer's connection gater. libp2p's browser default refuses plain `ws://` and private
 * addresses (127.0.0.1 included); the peer must still reach its configured relays, which in tests
 * and on LANs are exactly that. Allowed: every configured relay address (and circuits through
 * them), and, with `allowPrivate`, any address; otherwise no `ws://` and no private addresses.
 */
import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { isPrivate } from '@libp2p/utils'

export interface GaterInit {
  /** Relay multiaddrs (with /p2p/<id>) that may always be dialled. */
  relays: string[]
  /** Allow any address (loopback, private, plain ws). @default false */
  allowPrivate?: boolean
}

function stripPeer(addr: string): string {
  const at = addr.lastIndexOf('/p2p/')
  return at >= 0 ? addr.slice(0, at) : addr
}

export function browserGater(init: GaterInit): ConnectionGater {
  const relayPrefixes = init.relays.map(stripPeer).filter((a) => a !== '')
  const isRelayAddr = (s: string): boolean => relayPrefixes.some((p) => s === p || s.startsWith(`${p}/`))
  return {
    denyDialMultiaddr: (ma: Multiaddr) => {
      if (init.allowPrivate === true) return false
      const s = ma.toString()
      if (isRelayAddr(s)) return false
      // Circuit and WebRTC addresses without an IP part are reached through a relay.
      if (!/^\/(ip4|ip6|dns4|dns6|dns|dnsaddr)\//.test(s)) return false
      if (/\/ws(\/|$)/.test(s) && !s.includes('/tls/')) return true
      try {
        return isPrivate(ma)
      } catch {
        return true
      }
    }
  }
}

/**
 * Thread addresses: `<peer multiaddr>/thread/<threadID>`, where the peer multiaddr ends in
 * `/p2p/<peerID>` (as in go-threads, whose `thread` multiaddr component has code 406). The thread
 * part is handled as text so that any multiaddr library reads the peer part.
 *
 * Addresses given out for joining contain only addresses that others can dial: no loopback,
 * private or link-local addresses unless the caller allows them (tests on 127.0.0.1 do).
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { isLoopback, isPrivate, isLinkLocal } from '@libp2p/utils'
import { parseThreadID } from '../core/index.js'
import type { ThreadID } from '../core/types.js'
import { InvalidAddressError } from './errors.js'

export const MAX_THREAD_ADDRESS_LENGTH = 2048

export interface ThreadAddress {
  /** The peer part, ending in `/p2p/<peerID>`. */
  peer: Multiaddr
  /** The peer ID named by the address. */
  peerId: string
  thread: ThreadID
}

/** Parse `<multiaddr>/p2p/<peer>/thread/<threadID>`. */
export function parseThreadAddress(address: string): ThreadAddress {
  if (typeof address !== 'string' || address.length > MAX_THREAD_ADDRESS_LENGTH) {
    throw new InvalidAddressError('a thread address must be a string of at most 2048 characters')
  }
  const at = address.lastIndexOf('/thread/')
  if (at < 0) throw new InvalidAddressError('a thread address ends in /thread/<threadID>')
  let thread: ThreadID
  try {
    thread = parseThreadID(address.slice(at + '/thread/'.length))
  } catch (err) {
    throw new InvalidAddressError('the thread part of the address is not a thread ID', { cause: err })
  }
  let peer: Multiaddr
  try {
    peer = multiaddr(address.slice(0, at))
  } catch (err) {
    throw new InvalidAddressError('the peer part of the address is not a multiaddr', { cause: err })
  }
  const peerId = peerIdOf(peer)
  if (peerId == null) throw new InvalidAddressError('the peer part of the address must end in /p2p/<peerID>')
  return { peer, peerId, thread }
}

export function formatThreadAddress(peer: Multiaddr | string, thread: ThreadID): string {
  return `${peer.toString()}/thread/${thread}`
}

/** The last `/p2p/<id>` of a multiaddr, if any. */
export function peerIdOf(ma: Multiaddr): string | undefined {
  const comps = ma.getComponents()
  for (let i = comps.length - 1; i >= 0; i--) {
    const c = comps[i]!
    if (c.name === 'p2p') return c.value
  }
  return undefined
}

/** True when others on the internet can dial the address (not loopback, private or link-local). */
export function isPubliclyDialable(ma: Multiaddr): boolean {
  try {
    return !isLoopback(ma) && !isPrivate(ma) && !isLinkLocal(ma)
  } catch {
    return false
  }
}

/** Keep the addresses worth sharing; `allowPrivate` keeps loopback and private ones (tests, LANs). */
export function shareableAddrs(addrs: Multiaddr[], allowPrivate: boolean): Multiaddr[] {
  const seen = new Set<string>()
  const out: Multiaddr[] = []
  for (const a of addrs) {
    const s = a.toString()
    if (seen.has(s)) continue
    if (!allowPrivate && !isPubliclyDialable(a)) continue
    // webrtc listen addresses without a circuit cannot be dialled by others
    if (s.endsWith('/webrtc') && !s.includes('/p2p-circuit')) continue
    seen.add(s)
    out.push(a)
  }
  return out
}

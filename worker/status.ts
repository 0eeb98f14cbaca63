/**
 * The sync status a tab sees: the net's status of one thread (pending pushes, per-peer strikes,
 * bans, backoff and last error) joined with what the worker knows of its connections (how each
 * peer is reached, the relays, the platform's network flag).
 *
 * - `online` is made of real connections: a relay or a thread peer connected right now. The
 *   platform's flag (`navigator.onLine`) is reported beside it, never instead of it: Chromium
 *   says offline on networks that still carry our connections, and online on ones that do not.
 * - Errors are named and readable: an error that arrives as a stringified event or object gets a
 *   message that says so in words. The status's `lastError` is the latest error of a peer whose
 *   syncs still fail, so it clears by itself when sync succeeds again.
 */
import type { SyncStatus } from '../src/net/index.js'
import type { ClientSyncStatus, ConnectionKind, PeerStatus, SyncError } from '../src/contract/index.js'

/** Longest error message passed to a tab. */
const MAX_MESSAGE = 300

/** What the worker knows of its connections when it builds a status. */
export interface ConnectionFacts {
  /** How `peer` is reached now. */
  kind(peer: string): ConnectionKind
  relayPeers: ReadonlySet<string>
  relays: ReadonlyArray<{ connected: boolean; reserved: boolean }>
  platformOnline: boolean
}

const IDENT = /^[A-Za-z_$][\w$]{0,79}$/

/** A readable, named copy of an error as the net reports it. */
export function readableError(e: { name?: unknown; message?: unknown; at?: unknown }, now = Date.now()): SyncError {
  const name = typeof e.name === 'string' && IDENT.test(e.name) ? e.name : 'Error'
  let message = typeof e.message === 'string' ? e.message.trim() : ''
  // A platform event or a plain object stringified somewhere below: say what it was instead.
  message = message.replace(/\[object (\w+)\]/g, (_m, what: string) => /event/i.test(what) ? 'a connection error (the platform gave no details)' : `an error without a message (${what})`)
  if (/^[{[]/.test(message)) message = 'an error without a message'
  if (message === '') message = 'no details were given'
  if (message.length > MAX_MESSAGE) message = `${message.slice(0, MAX_MESSAGE - 1)}…`
  return { name, message, at: typeof e.at === 'number' ? e.at : now }
}

export function toClientStatus(s: SyncStatus, facts: ConnectionFacts): ClientSyncStatus {
  const peers: PeerStatus[] = s.peers.map((p) => {
    const via = facts.kind(p.peer)
    const out: PeerStatus = {
      peer: p.peer,
      connected: via !== 'none',
      via,
      relay: facts.relayPeers.has(p.peer),
      strikes: p.strikes,
      failures: p.failures,
      holds: p.holds
    }
    if (p.bannedUntil != null) out.bannedUntil = p.bannedUntil
    if (p.nextAttemptAt != null) out.nextAttemptAt = p.nextAttemptAt
    if (p.lastError != null && p.failures > 0) out.lastError = readableError(p.lastError)
    return out
  })
  const others = peers.filter((p) => !p.relay && p.connected)
  const relaysConnected = facts.relays.filter((r) => r.connected).length
  const connectivity = {
    relays: facts.relays.length,
    relaysConnected,
    reserved: facts.relays.some((r) => r.reserved),
    peersConnected: others.length,
    direct: others.filter((p) => p.via === 'webrtc' || p.via === 'direct').length,
    platformOnline: facts.platformOnline
  }
  const out: ClientSyncStatus = {
    thread: s.thread,
    online: relaysConnected > 0 || peers.some((p) => p.connected),
    connectivity,
    peers,
    pendingPush: s.pendingPush
  }
  if (s.catchUp != null) out.catchUp = { peer: s.catchUp.peer, fetched: s.catchUp.fetched, expected: s.catchUp.expected }
  let latest: SyncError | undefined
  for (const p of peers) if (p.lastError != null && (latest == null || p.lastError.at > latest.at)) latest = p.lastError
  if (latest != null) out.lastError = latest
  return out
}

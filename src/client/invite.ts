/**
 * Invites: everything another browser needs to join a thread, as one URL-safe string an app can
 * put in a link: `weft1.<base64url(JSON)>`, the JSON being `{ v: 1, thread, key, addrs, name? }`.
 * The key is the full thread key (service + read key): an invite is a secret, share it as one.
 */
import { fromBase64url, toBase64url } from './base64url.js'
import { InvalidInviteError } from './errors.js'

export interface Invite {
  /** Thread ID. */
  thread: string
  /** Thread key (multibase). */
  key: string
  /** Thread addresses to join through (`<multiaddr>/p2p/<peer>/thread/<id>`). */
  addrs: string[]
  /** A name for the UI (e.g. the database's name). */
  name?: string
}

const PREFIX = 'weft1.'
/** Longest invite accepted (characters). */
export const MAX_INVITE_LENGTH = 16 * 1024

/** Something with a thread ID, key and addresses: a thread info, or db info once the db lands. */
export interface InviteSource {
  id: string
  key: string
  addrs: string[]
  name?: string
}

export function toInvite(info: InviteSource): string {
  const body: { v: 1; thread: string; key: string; addrs: string[]; name?: string } = { v: 1, thread: info.id, key: info.key, addrs: [...info.addrs] }
  if (info.name != null) body.name = info.name
  return PREFIX + toBase64url(new TextEncoder().encode(JSON.stringify(body)))
}

export function fromInvite(invite: string): Invite {
  if (typeof invite !== 'string' || !invite.startsWith(PREFIX)) throw new InvalidInviteError('an invite starts with "weft1."')
  if (invite.length > MAX_INVITE_LENGTH) throw new InvalidInviteError('the invite is too long')
  let body: unknown
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64url(invite.slice(PREFIX.length))))
  } catch (err) {
    throw new InvalidInviteError('the invite does not decode', { cause: err })
  }
  const b = body as { v?: unknown; thread?: unknown; key?: unknown; addrs?: unknown; name?: unknown }
  if (b == null || typeof b !== 'object' || b.v !== 1) throw new InvalidInviteError('unknown invite version')
  if (typeof b.thread !== 'string' || typeof b.key !== 'string' || !Array.isArray(b.addrs) || !b.addrs.every((a) => typeof a === 'string')) {
    throw new InvalidInviteError('the invite lacks a thread, key or addresses')
  }
  if (b.name != null && typeof b.name !== 'string') throw new InvalidInviteError('the invite name is not a string')
  const out: Invite = { thread: b.thread, key: b.key, addrs: b.addrs as string[] }
  if (typeof b.name === 'string') out.name = b.name
  return out
}

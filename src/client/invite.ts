/**
 * Invites: everything another browser needs to join a thread, as one URL-safe string an app can
 * put in a link. The key is the full thread key (service + read key): an invite is a secret,
 * share it as one. Two forms (docs/APP.md, "Invites"; vectors in test/vectors/invite-v2.json):
 *
 * - `weft2.<base64url(bytes)>`, the compact form `toInvite` makes: the thread ID and key as bytes,
 *   and the addresses without their `/thread/<id>` tail, an address through a relay's circuit
 *   (`<relay>/p2p-circuit/p2p/<peer>`) as the relay's index and the peer's ID bytes (invite-codec.ts);
 * - `weft1.<base64url(JSON)>`, `{ v: 1, thread, key, addrs, name? }`, the first form: still
 *   accepted, and made when a value cannot take the compact form (a thread ID or key that is not
 *   in canonical base32).
 */
import { fromBase64url, toBase64url } from './base64url.js'
import { InvalidInviteError } from './errors.js'
import { decodeCompact, encodeCompact } from './invite-codec.js'

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

const V1 = 'weft1.'
const V2 = 'weft2.'
/** Longest invite accepted (characters). */
export const MAX_INVITE_LENGTH = 16 * 1024

/** Something with a thread ID, key and addresses: a thread info, or db info once the db lands. */
export interface InviteSource {
  id: string
  key: string
  addrs: string[]
  name?: string
}

/** The compact invite (`weft2.`), or the first form when a value does not fit the compact one. */
export function toInvite(info: InviteSource): string {
  const invite: Invite = { thread: info.id, key: info.key, addrs: [...info.addrs], ...(info.name != null ? { name: info.name } : {}) }
  const compact = encodeCompact(invite)
  return compact !== undefined ? V2 + toBase64url(compact) : toInviteV1(invite)
}

/** The first form (`weft1.`): JSON. */
export function toInviteV1(invite: Invite): string {
  const body: { v: 1; thread: string; key: string; addrs: string[]; name?: string } = { v: 1, thread: invite.thread, key: invite.key, addrs: [...invite.addrs] }
  if (invite.name != null) body.name = invite.name
  return V1 + toBase64url(new TextEncoder().encode(JSON.stringify(body)))
}

/** Read an invite of either form; InvalidInviteError when it is neither, or malformed. */
export function fromInvite(invite: string): Invite {
  if (typeof invite !== 'string' || !(invite.startsWith(V1) || invite.startsWith(V2))) throw new InvalidInviteError('an invite starts with "weft2." or "weft1."')
  if (invite.length > MAX_INVITE_LENGTH) throw new InvalidInviteError('the invite is too long')
  let bytes: Uint8Array
  try {
    bytes = fromBase64url(invite.slice(V1.length))
  } catch (err) {
    throw new InvalidInviteError('the invite does not decode', { cause: err })
  }
  return invite.startsWith(V2) ? decodeCompact(bytes) : fromJSON(bytes)
}

function fromJSON(bytes: Uint8Array): Invite {
  let body: unknown
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
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

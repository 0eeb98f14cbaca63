/**
 * The compact invite's bytes (`weft2.`, docs/APP.md "Invites"), in order:
 *
 * | field | encoding |
 * |---|---|
 * | thread ID | u8 length, then the ID's bytes (its canonical base32 text, decoded) |
 * | thread key | u8 length, then the key's bytes (likewise) |
 * | name | u8 length + 1 (0: no name), then UTF-8 |
 * | addresses | u8 count, then each an entry: a tag byte and its fields |
 *
 * Entries (every address's `/thread/<id>` tail is left out and added back when read):
 * `0` an address (u16 length, UTF-8 multiaddr), which also joins the table of hosts; `1` a host
 * only (same fields), named by circuits but not an address itself; `2` a circuit (u8 index of a
 * host, u8 length, the peer ID's bytes): `<host>/p2p-circuit/p2p/<peer>`; `3` an address as it is
 * (u16 length, UTF-8), tail included; `4` a WebRTC address through a circuit (as `2`):
 * `<host>/p2p-circuit/webrtc/p2p/<peer>`. Integers are big-endian; nothing may follow the last entry.
 */
import { InvalidInviteError } from './errors.js'
import { base32Bytes as decode32, base32Text, base58Bytes, base58Text } from './invite-bases.js'
import type { Invite } from './invite.js'

/** Most address entries in a compact invite. */
const MAX_ENTRIES = 64
const CIRCUIT = /^(.+\/p2p\/[^/]+)\/p2p-circuit(\/webrtc)?\/p2p\/([^/]+)$/

class Writer {
  private readonly parts: number[] = []
  u8(n: number): void { this.parts.push(n & 0xff) }
  u16(n: number): void { this.parts.push((n >> 8) & 0xff, n & 0xff) }
  bytes(b: Uint8Array): void { for (const x of b) this.parts.push(x) }
  done(): Uint8Array { return Uint8Array.from(this.parts) }
}

/** Canonical bytes of a base32 text (`b…`) that fit a u8 length, or undefined. */
function base32Bytes(text: string): Uint8Array | undefined {
  const bytes = decode32(text)
  return bytes !== undefined && bytes.length > 0 && bytes.length < 256 ? bytes : undefined
}

function peerBytes(id: string): Uint8Array | undefined {
  const bytes = base58Bytes(id)
  return bytes !== undefined && bytes.length > 0 && bytes.length < 256 ? bytes : undefined
}

/** The compact bytes of an invite, or undefined when a value does not fit the compact form. */
export function encodeCompact(invite: Invite): Uint8Array | undefined {
  const thread = base32Bytes(invite.thread)
  const key = base32Bytes(invite.key)
  const name = invite.name !== undefined ? new TextEncoder().encode(invite.name) : undefined
  if (thread === undefined || key === undefined || (name !== undefined && name.length > 254)) return undefined
  const w = new Writer()
  w.u8(thread.length); w.bytes(thread)
  w.u8(key.length); w.bytes(key)
  w.u8(name === undefined ? 0 : name.length + 1); if (name !== undefined) w.bytes(name)
  const entries = new Writer()
  let count = 0
  const hosts: string[] = []
  const text = (tag: number, s: string): boolean => {
    const b = new TextEncoder().encode(s)
    if (b.length > 0xffff) return false
    entries.u8(tag); entries.u16(b.length); entries.bytes(b)
    count++
    return true
  }
  const tail = `/thread/${invite.thread}`
  for (const addr of invite.addrs) {
    const base = addr.endsWith(tail) ? addr.slice(0, -tail.length) : undefined
    const circuit = base !== undefined ? CIRCUIT.exec(base) : null
    const peer = circuit != null ? peerBytes(circuit[3]!) : undefined
    if (circuit != null && peer !== undefined) {
      let host = hosts.indexOf(circuit[1]!)
      if (host < 0) {
        if (!text(1, circuit[1]!)) return undefined
        host = hosts.push(circuit[1]!) - 1
      }
      if (host > 255) return undefined
      entries.u8(circuit[2] === undefined ? 2 : 4); entries.u8(host); entries.u8(peer.length); entries.bytes(peer)
      count++
    } else if (base !== undefined && base !== '') {
      if (!text(0, base)) return undefined
      hosts.push(base)
    } else if (!text(3, addr)) {
      return undefined
    }
    if (count > MAX_ENTRIES) return undefined
  }
  w.u8(count)
  w.bytes(entries.done())
  return w.done()
}

/** The invite in compact bytes; InvalidInviteError when they are malformed. */
export function decodeCompact(bytes: Uint8Array): Invite {
  let at = 0
  const need = (n: number): void => { if (at + n > bytes.length) throw new InvalidInviteError('the invite is cut short') }
  const u8 = (): number => { need(1); return bytes[at++]! }
  const u16 = (): number => { need(2); const n = (bytes[at]! << 8) | bytes[at + 1]!; at += 2; return n }
  const take = (n: number): Uint8Array => { need(n); const b = bytes.subarray(at, at + n); at += n; return b }
  const utf8 = (b: Uint8Array): string => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b)
    } catch (err) {
      throw new InvalidInviteError('the invite holds text that is not UTF-8', { cause: err })
    }
  }
  const threadBytes = take(u8())
  const keyBytes = take(u8())
  if (threadBytes.length === 0 || keyBytes.length === 0) throw new InvalidInviteError('the invite lacks a thread or key')
  const thread = base32Text(threadBytes)
  const key = base32Text(keyBytes)
  const nameLength = u8()
  const name = nameLength > 0 ? utf8(take(nameLength - 1)) : undefined
  const count = u8()
  if (count > MAX_ENTRIES) throw new InvalidInviteError(`an invite holds at most ${MAX_ENTRIES} addresses`)
  const tail = `/thread/${thread}`
  const hosts: string[] = []
  const addrs: string[] = []
  for (let i = 0; i < count; i++) {
    const tag = u8()
    if (tag === 0 || tag === 1 || tag === 3) {
      const s = utf8(take(u16()))
      if (s === '') throw new InvalidInviteError('the invite holds an empty address')
      if (tag === 3) addrs.push(s)
      else hosts.push(s)
      if (tag === 0) addrs.push(s + tail)
    } else if (tag === 2 || tag === 4) {
      const host = hosts[u8()]
      if (host === undefined) throw new InvalidInviteError('the invite names a host it does not hold')
      const peer = take(u8())
      if (peer.length === 0) throw new InvalidInviteError('the invite holds an empty peer ID')
      addrs.push(`${host}/p2p-circuit${tag === 4 ? '/webrtc' : ''}/p2p/${base58Text(peer)}${tail}`)
    } else {
      throw new InvalidInviteError(`unknown invite entry ${tag}`)
    }
  }
  if (at !== bytes.length) throw new InvalidInviteError('the invite has bytes after its last entry')
  return { thread, key, addrs, ...(name !== undefined ? { name } : {}) }
}

/**
 * Signed address lists: only a log's owner says where its log can be fetched. The log key signs
 *
 *   "weft-log-addrs-v1" ‖ u16be(len thread) ‖ thread ‖ u16be(len log) ‖ log ‖ u64be(seq) ‖ dag-cbor(addrs)
 *
 * (`thread` the binary thread ID, `log` the log ID bytes), so a list is good for one log of one
 * thread only, and a list with a greater `seq` replaces an older one. A list that is unsigned,
 * signed by another key or older than the one held changes nothing (docs/PROTOCOL.md, "Logs and
 * their addresses").
 */
import * as dagCbor from '@ipld/dag-cbor'
import { concatBytes, type PrivateKey, type PublicKey } from '../core/index.js'
import type { SignedAddrs } from '../store/index.js'
import { InvalidMessageError } from './errors.js'
import { MAX_ADDRS_PER_LOG } from './messages.js'

const DOMAIN = new TextEncoder().encode('weft-log-addrs-v1')

function u16(b: Uint8Array): Uint8Array {
  return concatBytes([new Uint8Array([b.byteLength >> 8, b.byteLength & 0xff]), b])
}

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/** The bytes the log key signs for an address list. */
export function addrsPayload(thread: Uint8Array, log: Uint8Array, seq: number, addrs: readonly string[]): Uint8Array {
  return concatBytes([DOMAIN, u16(thread), u16(log), u64(seq), dagCbor.encode([...addrs])])
}

/** Sign `addrs` (at most 32) as the address list number `seq` of a log of ours. */
export async function signAddrs(key: PrivateKey, thread: Uint8Array, log: Uint8Array, seq: number, addrs: readonly string[]): Promise<SignedAddrs> {
  const list = addrs.slice(0, MAX_ADDRS_PER_LOG)
  return { seq, addrs: list, sig: await key.sign(addrsPayload(thread, log, seq, list)) }
}

/** Check a signed list a peer sent; InvalidMessageError when the log's key did not sign it (a forgery). */
export async function verifyAddrs(publicKey: PublicKey, thread: Uint8Array, log: Uint8Array, list: SignedAddrs): Promise<void> {
  if (!await publicKey.verify(addrsPayload(thread, log, list.seq, list.addrs), list.sig)) {
    throw new InvalidMessageError('the address list is not signed by the log\'s key')
  }
}

/** The peer ID an address names (its last `/p2p/` part), if any. */
export function peerOfAddr(addr: string): string | undefined {
  const at = addr.lastIndexOf('/p2p/')
  if (at < 0) return undefined
  const id = addr.slice(at + 5)
  return id === '' || id.includes('/') ? undefined : id
}

/**
 * The address list of one of our logs: our own addresses first, then the other peers the list
 * named (replicators we handed the thread to) and `add`, the newest kept, 32 in all.
 */
export function ownAddrList(self: string, ours: readonly string[], current: readonly string[] | undefined, add: readonly string[] = []): string[] {
  const mine = [...new Set(ours)].slice(0, MAX_ADDRS_PER_LOG)
  const others = [...new Set([...(current ?? []).filter((a) => peerOfAddr(a) !== self), ...add])].filter((a) => !mine.includes(a))
  const room = MAX_ADDRS_PER_LOG - mine.length
  return [...mine, ...(room > 0 ? others.slice(-room) : [])]
}

export function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i])
}

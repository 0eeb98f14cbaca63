/**
 * Proof of the service key without revealing it: HMAC-SHA256 keyed by the service key over a
 * domain tag, the binary thread ID and the peer IDs of the requester and the responder, in that
 * order. A proof is useless for another thread, another pair of peers, or the other direction.
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import * as dagCbor from '@ipld/dag-cbor'
import { concatBytes } from '../core/index.js'
import { compareBytes } from '../store/index.js'
import type { WireHead } from './messages.js'

const AUTH_TAG = new TextEncoder().encode('weft-net-auth-v1')
const HEADS_TAG = new TextEncoder().encode('weft-net-heads-v1')
const KID_TAG = new TextEncoder().encode('weft-net-kid-v1')

/** Bytes of a key ID. */
export const KID_BYTES = 16

/**
 * The key ID of a service key: the first 16 bytes of SHA-256("weft-net-kid-v1" ‖ service key).
 * Every request names it, so a replicator can hold one thread ID under several keys and find the
 * right one without trying each; it reveals nothing of the key.
 */
export function keyID(serviceKey: Uint8Array): Uint8Array {
  return sha256(concatBytes([KID_TAG, serviceKey])).subarray(0, KID_BYTES)
}

function lengthPrefixed(b: Uint8Array): Uint8Array {
  return concatBytes([new Uint8Array([b.byteLength >> 8, b.byteLength & 0xff]), b])
}

/** The proof `requester` sends to `responder` for a thread. */
export function authProof(serviceKey: Uint8Array, thread: Uint8Array, requester: Uint8Array, responder: Uint8Array): Uint8Array {
  return hmac(sha256, serviceKey, concatBytes([AUTH_TAG, lengthPrefixed(thread), lengthPrefixed(requester), lengthPrefixed(responder)]))
}

/** Constant-time comparison of two proofs. */
export function proofsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let diff = 0
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/**
 * Digest of a thread's heads: SHA-256 over a tag and the dag-cbor list of `[logID, headCID bytes,
 * counter]` of every log (empty ones too, so a new log changes it) sorted by log ID, a frozen
 * log's row with the counter of its fork as a fourth element (so a peer without the proof sees a
 * difference). Equal digests mean equal heads.
 */
export function headsDigest(heads: WireHead[]): Uint8Array {
  const rows = [...heads]
    .sort((a, b) => compareBytes(a.id, b.id))
    .map((h) => h.fork === undefined ? [h.id, h.head?.bytes ?? new Uint8Array(0), h.counter] : [h.id, h.head?.bytes ?? new Uint8Array(0), h.counter, h.fork])
  return sha256(concatBytes([HEADS_TAG, dagCbor.encode(rows)]))
}

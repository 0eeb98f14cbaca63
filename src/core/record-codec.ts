/**
 * The plaintext nodes of record format version 1 and their strict decoders. Field names are short
 * and fixed; a node with a missing, extra or wrongly typed field is an {@link InvalidRecordError}.
 *
 * - record (encrypted with the service key): `{ block: CID, sig: bytes(64), pubKey: bytes(36), prev?: CID }`
 * - event (plaintext):                        `{ body: CID, header: CID }`
 * - header (encrypted with the read key):     `{ key: bytes(32), time: [wall, counter] }`
 * - body (encrypted with `header.key`):       any dag-cbor value
 *
 * See docs/FORMAT.md for the byte-level description.
 */
import type { CID } from 'multiformats/cid'
import { isBlockCID } from './block.js'
import { concatBytes, isBytesOfLength } from './bytes.js'
import { ED25519_SIGNATURE_BYTES } from './ed25519.js'
import { InvalidRecordError } from './errors.js'
import { decodeHLC, encodeHLC } from './hlc.js'
import type { HLC } from './hlc.js'
import { MARSHALLED_PUBLIC_KEY_BYTES } from './identity.js'

/** Version of the record format these codecs implement. */
export const RECORD_FORMAT_VERSION = 1
/** Domain separation prefix of the signature payload (ASCII). */
export const RECORD_SIGNATURE_DOMAIN = new TextEncoder().encode('weft-record-v1')
/** Largest dag-cbor encoding of a body value. */
export const MAX_BODY_BYTES = 1024 * 1024
/** Largest encrypted body block (plaintext + CBOR header, nonce and tag, rounded up). */
export const MAX_BODY_BLOCK_BYTES = MAX_BODY_BYTES + 64
/** Largest record, event or header block. */
export const MAX_NODE_BLOCK_BYTES = 4096
/** Length of the per-event body key. */
export const BODY_KEY_BYTES = 32

/** Plaintext of a record node. */
export interface RecordNode {
  /** CID of the event node. */
  readonly block: CID
  /** Ed25519 signature by the log key over {@link recordSigningPayload}. */
  readonly sig: Uint8Array
  /** libp2p-marshalled Ed25519 public key of the author identity. */
  readonly pubKey: Uint8Array
  /** CID of the previous record of the log; absent on the first record. */
  readonly prev?: CID
}

export interface EventNode {
  readonly body: CID
  readonly header: CID
}

export interface HeaderNode {
  /** The 32-byte AES-256 key of the body. */
  readonly key: Uint8Array
  /** Hybrid logical clock time of the event. */
  readonly time: HLC
}

/**
 * The bytes the log key signs: `"weft-record-v1" || event CID || prev CID (if any) || pubKey`.
 * CIDs are in binary form; every part is self-delimiting, so the concatenation is unambiguous.
 */
export function recordSigningPayload(event: CID, prev: CID | null, pubKey: Uint8Array): Uint8Array {
  return concatBytes(prev == null
    ? [RECORD_SIGNATURE_DOMAIN, event.bytes, pubKey]
    : [RECORD_SIGNATURE_DOMAIN, event.bytes, prev.bytes, pubKey])
}

function asMap(value: unknown, what: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (value == null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array || isBlockCID(value)) {
    throw new InvalidRecordError(`${what} node must be a map`)
  }
  const map = value as Record<string, unknown>
  for (const key of required) {
    if (!Object.hasOwn(map, key)) throw new InvalidRecordError(`${what} node lacks "${key}"`)
  }
  for (const key of Object.keys(map)) {
    if (!required.includes(key) && !optional.includes(key)) throw new InvalidRecordError(`${what} node has unknown field "${key}"`)
  }
  return map
}

function link(value: unknown, what: string): CID {
  if (!isBlockCID(value)) throw new InvalidRecordError(`${what} must be a CIDv1 dag-cbor sha2-256 link`)
  return value
}

/** The dag-cbor value of a record node (`prev` omitted when absent). */
export function recordNodeValue(node: RecordNode): Record<string, unknown> {
  return node.prev === undefined
    ? { block: node.block, sig: node.sig, pubKey: node.pubKey }
    : { block: node.block, sig: node.sig, pubKey: node.pubKey, prev: node.prev }
}

/** Check a decoded record node. */
export function parseRecordNode(value: unknown): RecordNode {
  const map = asMap(value, 'record', ['block', 'sig', 'pubKey'], ['prev'])
  const block = link(map.block, 'record.block')
  if (!isBytesOfLength(map.sig, ED25519_SIGNATURE_BYTES)) throw new InvalidRecordError('record.sig must be 64 bytes')
  if (!isBytesOfLength(map.pubKey, MARSHALLED_PUBLIC_KEY_BYTES)) {
    throw new InvalidRecordError('record.pubKey must be a 36-byte marshalled Ed25519 public key')
  }
  if (!Object.hasOwn(map, 'prev')) return { block, sig: map.sig, pubKey: map.pubKey }
  return { block, sig: map.sig, pubKey: map.pubKey, prev: link(map.prev, 'record.prev') }
}

/** The dag-cbor value of an event node. */
export function eventNodeValue(node: EventNode): Record<string, unknown> {
  return { body: node.body, header: node.header }
}

/** Check a decoded event node. */
export function parseEventNode(value: unknown): EventNode {
  const map = asMap(value, 'event', ['body', 'header'])
  return { body: link(map.body, 'event.body'), header: link(map.header, 'event.header') }
}

/** The dag-cbor value of a header node. */
export function headerNodeValue(node: HeaderNode): Record<string, unknown> {
  return { key: node.key, time: encodeHLC(node.time) }
}

/** Check a decoded header node (a malformed `time` is an `InvalidClockError`). */
export function parseHeaderNode(value: unknown): HeaderNode {
  const map = asMap(value, 'header', ['key', 'time'])
  if (!isBytesOfLength(map.key, BODY_KEY_BYTES)) throw new InvalidRecordError('header.key must be 32 bytes')
  return { key: map.key, time: decodeHLC(map.time) }
}

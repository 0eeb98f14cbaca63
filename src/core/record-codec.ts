/**
 * The plaintext nodes of records and their strict decoders. Field names are short and fixed; a node
 * with a missing, extra or wrongly typed field is an {@link InvalidRecordError}.
 *
 * - record v2 (encrypted, service key): `{ v: 2, block: CID, sig: bytes(64), pubKey: bytes(36), prev?: CID, cert?: { n, s } }`
 * - record v1 (encrypted, service key): `{ block: CID, sig: bytes(64), pubKey: bytes(36), prev?: CID }` (read only)
 * - event (plaintext):                  `{ body: CID, header: CID }`
 * - header (encrypted with the read key): `{ key: bytes(32), time: [wall, counter] }`
 * - body (encrypted with `header.key`):   any dag-cbor value
 *
 * See docs/FORMAT.md for the byte-level description.
 */
import type { CID } from 'multiformats/cid'
import { authorCertificateValue, encodeAuthorCertificate, parseAuthorCertificate } from './author.js'
import type { AuthorCertificate } from './author.js'
import { isBlockCID } from './block.js'
import { concatBytes, isBytes, isBytesOfLength } from './bytes.js'
import { ED25519_SIGNATURE_BYTES } from './ed25519.js'
import { InvalidRecordError, UnsupportedRecordVersionError } from './errors.js'
import { decodeHLC, encodeHLC } from './hlc.js'
import type { HLC } from './hlc.js'
import { MARSHALLED_PUBLIC_KEY_BYTES } from './identity.js'
import type { Mutable } from './types.js'

/** A record format version this implementation reads. */
export type RecordFormatVersion = 1 | 2
/** Version of the record format new records are written in. */
export const RECORD_FORMAT_VERSION = 2
/** Domain separation prefix of a version 1 signature payload (ASCII). */
export const RECORD_SIGNATURE_DOMAIN_V1 = new TextEncoder().encode('weft-record-v1')
/** Domain separation prefix of a version 2 signature payload (ASCII). */
export const RECORD_SIGNATURE_DOMAIN_V2 = new TextEncoder().encode('weft-record-v2')
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
  /** The format version: 2 for a node with `v: 2`, 1 for a node without `v`. */
  readonly version: RecordFormatVersion
  /** CID of the event node. */
  readonly block: CID
  /** Ed25519 signature by the log key over {@link recordSigningPayload}. */
  readonly sig: Uint8Array
  /** libp2p-marshalled Ed25519 public key of the author identity. */
  readonly pubKey: Uint8Array
  /** CID of the previous record of the log; absent on the first record. */
  readonly prev?: CID
  /** Version 2: the author's delegation of the log key; present exactly when the author is not the log key. */
  readonly cert?: AuthorCertificate
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
 * The bytes the log key signs, by version:
 *
 * - v1: `"weft-record-v1" || event CID || prev CID (if any) || pubKey`
 * - v2: `"weft-record-v2" || event CID || prev CID (if any) || pubKey || dag-cbor(cert) (if any)`
 *
 * CIDs are in binary form. Every part but the last is self-delimiting (a CID starts `01 71`, a
 * marshalled key `08 01`), and the last runs to the end, so the concatenation is unambiguous.
 */
export function recordSigningPayload(node: Omit<RecordNode, 'sig'>): Uint8Array {
  const parts: Uint8Array[] = [node.version === 1 ? RECORD_SIGNATURE_DOMAIN_V1 : RECORD_SIGNATURE_DOMAIN_V2, node.block.bytes]
  if (node.prev !== undefined) parts.push(node.prev.bytes)
  parts.push(node.pubKey)
  if (node.version !== 1 && node.cert !== undefined) parts.push(encodeAuthorCertificate(node.cert))
  return concatBytes(parts)
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value != null && typeof value === 'object' && !Array.isArray(value) && !isBytes(value) && !isBlockCID(value)
}

function asMap(value: unknown, what: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (!isMap(value)) throw new InvalidRecordError(`${what} node must be a map`)
  const map = value
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

/** The dag-cbor value of a record node (`v` only in version 2; `prev` and `cert` omitted when absent). */
export function recordNodeValue(node: RecordNode): Record<string, unknown> {
  const value: Record<string, unknown> = node.version === 1 ? {} : { v: node.version }
  value.block = node.block
  value.sig = node.sig
  value.pubKey = node.pubKey
  if (node.prev !== undefined) value.prev = node.prev
  if (node.version !== 1 && node.cert !== undefined) value.cert = authorCertificateValue(node.cert)
  return value
}

/**
 * The version of a decoded record node: 1 without `v`, 2 for `v: 2`. A larger integer is an
 * {@link UnsupportedRecordVersionError}, anything else an {@link InvalidRecordError}.
 */
function recordVersion(map: Record<string, unknown>): RecordFormatVersion {
  if (!Object.hasOwn(map, 'v')) return 1
  const v = map.v
  if (v === 2) return 2
  if ((typeof v === 'number' && Number.isInteger(v) && v > 2) || (typeof v === 'bigint' && v > 2n)) {
    throw new UnsupportedRecordVersionError(`record format version ${String(v)} is not supported (this peer reads 1 and 2)`)
  }
  throw new InvalidRecordError('record.v must be 2 (a version 1 record has no v)')
}

/**
 * Check a decoded record node of version 1 or 2. A malformed `cert` is an `UnprovenAuthorError`;
 * whether the author needs one is checked when the record is opened, against the log key.
 */
export function parseRecordNode(value: unknown): RecordNode {
  if (!isMap(value)) throw new InvalidRecordError('record node must be a map')
  const version = recordVersion(value)
  const map = version === 1
    ? asMap(value, 'record', ['block', 'sig', 'pubKey'], ['prev'])
    : asMap(value, 'record', ['v', 'block', 'sig', 'pubKey'], ['prev', 'cert'])
  const block = link(map.block, 'record.block')
  if (!isBytesOfLength(map.sig, ED25519_SIGNATURE_BYTES)) throw new InvalidRecordError('record.sig must be 64 bytes')
  if (!isBytesOfLength(map.pubKey, MARSHALLED_PUBLIC_KEY_BYTES)) {
    throw new InvalidRecordError('record.pubKey must be a 36-byte marshalled Ed25519 public key')
  }
  const node: Mutable<RecordNode> = { version, block, sig: map.sig, pubKey: map.pubKey }
  if (Object.hasOwn(map, 'prev')) node.prev = link(map.prev, 'record.prev')
  if (Object.hasOwn(map, 'cert')) node.cert = parseAuthorCertificate(map.cert)
  return node
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

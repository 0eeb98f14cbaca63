/**
 * Storage layout of the log store, format version 2 (specified in docs/STORAGE.md). Every key
 * starts with the tuple segment `ls`, so the log store can share a KV store with other stores.
 *
 * | key                                               | value                                         |
 * |---------------------------------------------------|-----------------------------------------------|
 * | (ls, v)                                           | u64 format version                            |
 * | (ls, t, threadId)                                 | dag-cbor { key: bytes }                       |
 * | (ls, l, threadId, logId)                          | dag-cbor { pub, priv?, own?, author?, cert?,  |
 * |                                                   |   signed?, addrs, fork? } (see StoredLog)     |
 * | (ls, h, threadId, logId)                          | u64 counter ‖ head CID (absent when empty)    |
 * | (ls, i, threadId, logId) ‖ u64 counter            | CID record ‖ event ‖ header ‖ body            |
 * | (ls, r, threadId) ‖ record CID                    | u64 counter ‖ UTF-8 logId                     |
 * | (ls, b) ‖ CID                                     | block bytes                                   |
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import type { LogID, ThreadID } from '../core/types.js'
import { CorruptStoreError } from './errors.js'
import { concat2, concatBytes, decodeTuple, decodeUint64, encodeTuple, encodeUint64, fromUtf8, writeUint64 } from './keys.js'

export const FORMAT_VERSION = 2
/** The format versions this code opens: version 1 is migrated in place (log-migrate.ts). */
export const OLDEST_FORMAT_VERSION = 1

/** Most logs in one thread. */
export const MAX_LOGS_PER_THREAD = 4096
/** Most addresses kept per log: in its signed list, and (separately) unsigned ones, the newest. */
export const MAX_ADDRS_PER_LOG = 32
/** Largest record, event and header block (docs/FORMAT.md). */
export const MAX_NODE_BLOCK_BYTES = 4096
/** Largest body block: a 1 MiB body, sealed (docs/FORMAT.md). */
export const MAX_BODY_BLOCK_BYTES = 1024 * 1024 + 64
const NS = 'ls'

/** Every key of the log store starts with this. */
export const ownPrefix = encodeTuple([NS])
export const versionKey = encodeTuple([NS, 'v'])
export const threadsPrefix = encodeTuple([NS, 't'])
export const blockPrefix = encodeTuple([NS, 'b'])
/** Every log value of every thread. */
export const logsPrefixAll = encodeTuple([NS, 'l'])

export const threadKey = (t: ThreadID): Uint8Array => encodeTuple([NS, 't', t])
export const logsPrefix = (t: ThreadID): Uint8Array => encodeTuple([NS, 'l', t])
export const logKey = (t: ThreadID, l: LogID): Uint8Array => encodeTuple([NS, 'l', t, l])
export const headsPrefix = (t: ThreadID): Uint8Array => encodeTuple([NS, 'h', t])
export const headKey = (t: ThreadID, l: LogID): Uint8Array => encodeTuple([NS, 'h', t, l])
export const threadEntriesPrefix = (t: ThreadID): Uint8Array => encodeTuple([NS, 'i', t])
export const entriesPrefix = (t: ThreadID, l: LogID): Uint8Array => encodeTuple([NS, 'i', t, l])
export const recordsPrefix = (t: ThreadID): Uint8Array => encodeTuple([NS, 'r', t])

export function entryKey(prefix: Uint8Array, counter: number): Uint8Array {
  const out = new Uint8Array(prefix.byteLength + 8)
  out.set(prefix, 0)
  writeUint64(out, prefix.byteLength, counter)
  return out
}
export const cidKey = (prefix: Uint8Array, cid: CID): Uint8Array => concat2(prefix, cid.bytes)
export const blockKey = (cid: CID): Uint8Array => concat2(blockPrefix, cid.bytes)

/** The last tuple segment of a key with `count` segments, as a string (thread or log ID). */
export function idFromKey(key: Uint8Array, count: number): string {
  try {
    const { segments } = decodeTuple(key, count)
    return fromUtf8(segments[count - 1] as Uint8Array)
  } catch (err) {
    throw new CorruptStoreError('malformed log store key', { cause: err })
  }
}

/** The counter at the end of an index entry key. */
export function counterFromEntryKey(key: Uint8Array): number {
  return decodeUint64(key, key.byteLength - 8)
}

function decodeCbor(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new CorruptStoreError(`cannot decode ${what}`, { cause: err })
  }
  if (value == null || typeof value !== 'object' || Array.isArray(value)) throw new CorruptStoreError(`${what} is not a map`)
  return value as Record<string, unknown>
}

function bytesField(map: Record<string, unknown>, field: string, what: string): Uint8Array {
  const v = map[field]
  if (!(v instanceof Uint8Array)) throw new CorruptStoreError(`${what}.${field} is not bytes`)
  return v
}

export function encodeThread(key: Uint8Array): Uint8Array {
  return dagCbor.encode({ key })
}

export function decodeThread(bytes: Uint8Array): Uint8Array {
  return bytesField(decodeCbor(bytes, 'thread'), 'key', 'thread')
}

/** An address list signed by the log's key (the net layer signs and checks it; the store keeps it). */
export interface SignedAddrs {
  /** The list's sequence number: a newer list has a greater one. */
  seq: number
  addrs: string[]
  /** The log key's signature over the list (docs/PROTOCOL.md, "Logs and their addresses"). */
  sig: Uint8Array
}

/** Proof that a log's owner signed two records at one position, and that position. */
export interface StoredFork {
  /** The counter both records claim: the log holds no record at or past it. */
  counter: number
  /** The two record blocks (encrypted with the service key). */
  records: [Uint8Array, Uint8Array]
}

/** An author certificate as stored: `{ n, s }` (docs/FORMAT.md). */
export interface StoredCertificate {
  nonce: Uint8Array
  signature: Uint8Array
}

export interface StoredLog {
  publicKey: Uint8Array
  privateKey: Uint8Array | undefined
  /** For a log this host writes: its place among them in the thread (absent: 0, the first). */
  own: number | undefined
  /** The identity the log writes as, when it is not the log key (marshalled public key). */
  author: Uint8Array | undefined
  certificate: StoredCertificate | undefined
  signed: SignedAddrs | undefined
  /** Addresses not signed by the log key (kept from version 1 stores), newest last. */
  addrs: string[]
  fork: StoredFork | undefined
}

export function encodeLog(log: StoredLog): Uint8Array {
  return dagCbor.encode({
    pub: log.publicKey,
    ...(log.privateKey === undefined ? {} : { priv: log.privateKey }),
    ...(log.own === undefined || log.own === 0 ? {} : { own: log.own }),
    ...(log.author === undefined ? {} : { author: log.author }),
    ...(log.certificate === undefined ? {} : { cert: { n: log.certificate.nonce, s: log.certificate.signature } }),
    ...(log.signed === undefined ? {} : { signed: { seq: log.signed.seq, addrs: log.signed.addrs, sig: log.signed.sig } }),
    addrs: log.addrs,
    ...(log.fork === undefined ? {} : { fork: { counter: log.fork.counter, records: log.fork.records } })
  })
}

function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((a) => typeof a === 'string')) throw new CorruptStoreError(`${what} is not a list of strings`)
  return v as string[]
}

function uintField(map: Record<string, unknown>, field: string, what: string): number {
  const v = map[field]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new CorruptStoreError(`${what}.${field} is not an unsigned integer`)
  return v
}

function mapField(map: Record<string, unknown>, field: string, what: string): Record<string, unknown> | undefined {
  const v = map[field]
  if (v === undefined) return undefined
  if (v == null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw new CorruptStoreError(`${what}.${field} is not a map`)
  return v as Record<string, unknown>
}

/** Decode a log value of format version 2 (a version 1 value is a version 2 value without the new fields). */
export function decodeLog(bytes: Uint8Array): StoredLog {
  const map = decodeCbor(bytes, 'log')
  const cert = mapField(map, 'cert', 'log')
  const signed = mapField(map, 'signed', 'log')
  const fork = mapField(map, 'fork', 'log')
  let records: [Uint8Array, Uint8Array] | undefined
  if (fork !== undefined) {
    const r = fork.records
    if (!Array.isArray(r) || r.length !== 2 || !(r[0] instanceof Uint8Array) || !(r[1] instanceof Uint8Array)) throw new CorruptStoreError('log.fork.records is not two byte strings')
    records = [r[0], r[1]]
  }
  return {
    publicKey: bytesField(map, 'pub', 'log'),
    privateKey: map.priv === undefined ? undefined : bytesField(map, 'priv', 'log'),
    own: map.own === undefined ? undefined : uintField(map, 'own', 'log'),
    author: map.author === undefined ? undefined : bytesField(map, 'author', 'log'),
    certificate: cert === undefined ? undefined : { nonce: bytesField(cert, 'n', 'log.cert'), signature: bytesField(cert, 's', 'log.cert') },
    signed: signed === undefined ? undefined : { seq: uintField(signed, 'seq', 'log.signed'), addrs: stringList(signed.addrs, 'log.signed.addrs'), sig: bytesField(signed, 'sig', 'log.signed') },
    addrs: stringList(map.addrs, 'log.addrs'),
    fork: fork === undefined || records === undefined ? undefined : { counter: uintField(fork, 'counter', 'log.fork'), records }
  }
}

/** The newest `MAX_ADDRS_PER_LOG` of `addrs` (deduplicated, a repeated address counts where it was last added). */
export function newestAddrs(addrs: readonly string[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (let i = addrs.length - 1; i >= 0 && out.length < MAX_ADDRS_PER_LOG; i--) {
    const a = addrs[i]!
    if (seen.has(a)) continue
    seen.add(a)
    out.push(a)
  }
  return out.reverse()
}

export interface StoredHead {
  cid: CID | undefined
  counter: number
}

export function encodeHead(head: StoredHead): Uint8Array {
  const counter = encodeUint64(head.counter)
  return head.cid === undefined ? counter : concatBytes(counter, head.cid.bytes)
}

export function decodeHead(bytes: Uint8Array): StoredHead {
  try {
    const counter = decodeUint64(bytes)
    const cid = bytes.byteLength > 8 ? CID.decode(bytes.subarray(8)) : undefined
    return { cid, counter }
  } catch (err) {
    throw new CorruptStoreError('cannot decode a log head', { cause: err })
  }
}

/** The CIDs of one log entry. */
export interface EntryCIDs {
  record: CID
  event: CID
  header: CID
  body: CID
}

export function encodeEntry(cids: EntryCIDs): Uint8Array {
  return concatBytes(cids.record.bytes, cids.event.bytes, cids.header.bytes, cids.body.bytes)
}

export function decodeEntry(bytes: Uint8Array): EntryCIDs {
  try {
    const [record, r1] = CID.decodeFirst(bytes)
    const [event, r2] = CID.decodeFirst(r1)
    const [header, r3] = CID.decodeFirst(r2)
    const [body, rest] = CID.decodeFirst(r3)
    if (rest.byteLength !== 0) throw new Error('trailing bytes')
    return { record, event, header, body }
  } catch (err) {
    throw new CorruptStoreError('cannot decode a log index entry', { cause: err })
  }
}

export function encodeRecordRef(counter: number, logIdBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + logIdBytes.byteLength)
  writeUint64(out, 0, counter)
  out.set(logIdBytes, 8)
  return out
}

export function decodeRecordRef(bytes: Uint8Array): { counter: number; logId: LogID } {
  try {
    return { counter: decodeUint64(bytes), logId: fromUtf8(bytes.subarray(8)) as LogID }
  } catch (err) {
    throw new CorruptStoreError('cannot decode a record reference', { cause: err })
  }
}

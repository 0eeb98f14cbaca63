/**
 * Storage layout of the log store, format version 1 (specified in docs/STORAGE.md). Every key
 * starts with the tuple segment `ls`, so the log store can share a KV store with other stores.
 *
 * | key                                               | value                                         |
 * |---------------------------------------------------|-----------------------------------------------|
 * | (ls, v)                                           | u64 format version                            |
 * | (ls, t, threadId)                                 | dag-cbor { key: bytes }                       |
 * | (ls, l, threadId, logId)                          | dag-cbor { pub: bytes, priv?: bytes, addrs }  |
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

export const FORMAT_VERSION = 1
const NS = 'ls'

export const versionKey = encodeTuple([NS, 'v'])
export const threadsPrefix = encodeTuple([NS, 't'])
export const blockPrefix = encodeTuple([NS, 'b'])

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

export interface StoredLog {
  publicKey: Uint8Array
  privateKey: Uint8Array | undefined
  addrs: string[]
}

export function encodeLog(log: StoredLog): Uint8Array {
  return dagCbor.encode({
    pub: log.publicKey,
    ...(log.privateKey === undefined ? {} : { priv: log.privateKey }),
    addrs: log.addrs
  })
}

export function decodeLog(bytes: Uint8Array): StoredLog {
  const map = decodeCbor(bytes, 'log')
  const addrs = map.addrs
  if (!Array.isArray(addrs) || !addrs.every((a) => typeof a === 'string')) throw new CorruptStoreError('log.addrs is not a list of strings')
  return {
    publicKey: bytesField(map, 'pub', 'log'),
    privateKey: map.priv === undefined ? undefined : bytesField(map, 'priv', 'log'),
    addrs: addrs as string[]
  }
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

/**
 * The key layout of one DB inside the shared ordered key-value store, and the order-preserving
 * encodings of event keys and index values. See docs/DB.md ("Storage layout").
 *
 * Every key of a DB starts with the tuple `('weft-db', <threadID>)`; the next segment names the
 * space: `c` collection configs, `d` instances, `u`/`x` unique/non-unique index entries, `g`
 * owners and writers (these five are the replicated state), `e` applied events with their undo
 * records, `l` the last record applied per log, `t` each applied record's place in the order,
 * `r` rejected events, `p` the ops of leading parts of multi-record transactions, `w` a rewind in
 * progress, `f` frozen logs and `k` their forks, `m` how the owners are known, `v` the layout
 * version.
 */
import type { HLC } from '../core/hlc.js'
import type { LogID, ThreadID } from '../core/types.js'
import { concat2, decodeUint64, encodeTuple, encodeUint64, fromUtf8, prefixUpperBound, utf8, writeUint64 } from '../store/index.js'
import type { JSONValue } from './types.js'

export { concat2, utf8, fromUtf8, prefixUpperBound, encodeTuple }

const encoder = new TextEncoder()

/** UTF-8 bytes of a string (a fast path for ASCII, which keys mostly are). */
export function utf8Fast(text: string): Uint8Array {
  const n = text.length
  if (n > 256) return encoder.encode(text)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x80) return encoder.encode(text)
    out[i] = c
  }
  return out
}

/** One tuple segment (see store/keys.ts): bytes with 0x00 escaped as 0x00 0xff, then 0x00 0x01. */
export function encodeSegment(segment: string | Uint8Array): Uint8Array {
  const raw = typeof segment === 'string' ? utf8Fast(segment) : segment
  let zeros = 0
  for (let i = 0; i < raw.length; i++) if (raw[i] === 0) zeros++
  const out = new Uint8Array(raw.length + zeros + 2)
  if (zeros === 0) {
    out.set(raw, 0)
  } else {
    let o = 0
    for (let i = 0; i < raw.length; i++) {
      out[o++] = raw[i]!
      if (raw[i] === 0) out[o++] = 0xff
    }
  }
  out[out.length - 2] = 0
  out[out.length - 1] = 1
  return out
}

/** Type tags of index values: within a tag, bytes order as values do. */
export const TAG_FALSE_TRUE = 0x02
export const TAG_NUMBER = 0x03
export const TAG_STRING = 0x04

/** Sortable bytes of a float64: big-endian, sign bit flipped for positives, all bits for negatives. */
export function encodeNumber(n: number, out = new Uint8Array(9), offset = 1): Uint8Array {
  const view = new DataView(out.buffer, out.byteOffset + offset, 8)
  view.setFloat64(0, n === 0 ? 0 : n)
  if ((out[offset]! & 0x80) !== 0) {
    for (let i = 0; i < 8; i++) out[offset + i] = ~out[offset + i]! & 0xff
  } else {
    out[offset] = out[offset]! | 0x80
  }
  return out
}

/**
 * Order-preserving bytes of an indexable value (boolean, number, string), type-tagged, or
 * `undefined` for anything else (such values are not indexed).
 */
export function encodeIndexValue(v: JSONValue | undefined): Uint8Array | undefined {
  switch (typeof v) {
    case 'boolean': return Uint8Array.of(TAG_FALSE_TRUE, v ? 1 : 0)
    case 'number': {
      const out = new Uint8Array(9)
      out[0] = TAG_NUMBER
      return encodeNumber(v, out, 1)
    }
    case 'string': {
      const bytes = utf8Fast(v)
      const out = new Uint8Array(bytes.length + 1)
      out[0] = TAG_STRING
      out.set(bytes, 1)
      return out
    }
    default: return undefined
  }
}

/** The type tag an indexable value gets (for bounding range scans to one type). */
export function indexTag(v: JSONValue): number | undefined {
  switch (typeof v) {
    case 'boolean': return TAG_FALSE_TRUE
    case 'number': return TAG_NUMBER
    case 'string': return TAG_STRING
    default: return undefined
  }
}

/** Event key: wall (8 bytes) · HLC counter (4) · log ID (tuple segment) · record counter (8). */
export function encodeEventKey(time: HLC, log: LogID, counter: number): Uint8Array {
  const logSeg = encodeTuple([log])
  const out = new Uint8Array(12 + logSeg.byteLength + 8)
  writeUint64(out, 0, time.wall)
  new DataView(out.buffer).setUint32(8, time.counter)
  out.set(logSeg, 12)
  writeUint64(out, 12 + logSeg.byteLength, counter)
  return out
}

export function decodeEventKey(key: Uint8Array): { time: HLC; log: LogID; counter: number } {
  const wall = decodeUint64(key, 0)
  const hlcCounter = new DataView(key.buffer, key.byteOffset + 8, 4).getUint32(0)
  // Log IDs are base58 text (no 0x00 bytes): the segment ends at the first 0x00 0x01.
  let end = 12
  while (!(key[end] === 0 && key[end + 1] === 1)) end++
  const log = fromUtf8(key.subarray(12, end)) as LogID
  const counter = decodeUint64(key, end + 2)
  return { time: { wall, counter: hlcCounter }, log, counter }
}

/** Bytewise order of two keys. */
export { compareBytes } from '../store/index.js'

export interface Layout {
  readonly base: Uint8Array
  config(collection: string): Uint8Array
  configPrefix(): Uint8Array
  doc(collection: string, id: string): Uint8Array
  docPrefix(collection: string): Uint8Array
  /** Prefix of the entries of one index (`unique` picks the `u` or `x` space). */
  indexPrefix(collection: string, path: string, unique: boolean): Uint8Array
  /** A unique entry `prefix · (value)` → id, or a non-unique entry `prefix · (value, id)` → id. */
  indexEntry(collection: string, path: string, unique: boolean, value: Uint8Array, id: string): Uint8Array
  /** Prefix of all entries (unique or not) of a collection's indexes. */
  collectionIndexPrefix(collection: string, unique: boolean): Uint8Array
  event(eventKey: Uint8Array): Uint8Array
  eventPrefix(): Uint8Array
  /** The ops of a part (not the last) of a multi-record transaction, by log and counter. */
  part(log: LogID, counter: number): Uint8Array
  logCounter(log: LogID): Uint8Array
  logPrefix(): Uint8Array
  rejected(eventKey: Uint8Array): Uint8Array
  rejectedPrefix(): Uint8Array
  /** A governance value of the replicated state (`o` owners, `w` writers). */
  gov(name: string): Uint8Array
  govPrefix(): Uint8Array
  /** Where record `counter` of `log` sits in the order: its 12-byte time (wall, HLC counter). */
  orderTime(log: LogID, counter: number): Uint8Array
  orderTimePrefix(log: LogID): Uint8Array
  /** A rewind in progress: how far back it goes and how far it has come. */
  rewindMark(): Uint8Array
  /** The counter at which a log is frozen. */
  frozen(log: LogID): Uint8Array
  frozenPrefix(): Uint8Array
  /** A fork notice (log, counter), as listed by `conflicts()`. */
  fork(log: LogID, counter: number): Uint8Array
  forkPrefix(): Uint8Array
  /** How the owners are known (`committed`, when learned from the events or set at creation). */
  mode(): Uint8Array
  /** Version of this layout. */
  version(): Uint8Array
  /** Prefixes of the replicated state (configs, instances, index entries, governance), for the state hash. */
  statePrefixes(): Uint8Array[]
}

/** The key prefix of every key of the DB on `thread`. */
export function dbPrefix(thread: ThreadID): Uint8Array {
  return encodeTuple(['weft-db', thread])
}

export function createLayout(thread: ThreadID): Layout {
  const base = dbPrefix(thread)
  const k = (...segments: string[]): Uint8Array => concat2(base, encodeTuple(segments))
  const eventPrefix = k('e')
  const rejectedPrefix = k('r')
  // Prefixes are built once per collection (and index): keys are made on every write.
  const cache = new Map<string, Uint8Array>()
  const cached = (...segments: string[]): Uint8Array => {
    const id = segments.join('\u0000')
    let key = cache.get(id)
    if (key === undefined) {
      key = k(...segments)
      if (cache.size > 10_000) cache.clear()
      cache.set(id, key)
    }
    return key
  }
  return {
    base,
    config: (c) => cached('c', c),
    configPrefix: () => k('c'),
    doc: (c, id) => concat2(cached('d', c), encodeSegment(id)),
    docPrefix: (c) => cached('d', c),
    indexPrefix: (c, path, unique) => cached(unique ? 'u' : 'x', c, path),
    indexEntry: (c, path, unique, value, id) => {
      const prefix = cached(unique ? 'u' : 'x', c, path)
      const v = encodeSegment(value)
      if (unique) return concat2(prefix, v)
      const i = encodeSegment(id)
      const out = new Uint8Array(prefix.length + v.length + i.length)
      out.set(prefix, 0)
      out.set(v, prefix.length)
      out.set(i, prefix.length + v.length)
      return out
    },
    collectionIndexPrefix: (c, unique) => k(unique ? 'u' : 'x', c),
    event: (eventKey) => concat2(eventPrefix, eventKey),
    eventPrefix: () => eventPrefix,
    part: (log, counter) => concat2(k('p', log), encodeUint64(counter)),
    logCounter: (log) => k('l', log),
    logPrefix: () => k('l'),
    rejected: (eventKey) => concat2(rejectedPrefix, eventKey),
    rejectedPrefix: () => rejectedPrefix,
    gov: (name) => k('g', name),
    govPrefix: () => k('g'),
    orderTime: (log, counter) => concat2(cached('t', log), encodeUint64(counter)),
    orderTimePrefix: (log) => cached('t', log),
    rewindMark: () => k('w'),
    frozen: (log) => k('f', log),
    frozenPrefix: () => k('f'),
    fork: (log, counter) => concat2(k('k', log), encodeUint64(counter)),
    forkPrefix: () => k('k'),
    mode: () => k('m'),
    version: () => k('v'),
    statePrefixes: () => [k('c'), k('d'), k('g'), k('u'), k('x')]
  }
}

/** Registry entry of the DB manager for `thread`. */
export function registryKey(thread: ThreadID): Uint8Array {
  return encodeTuple(['weft-dbm', thread])
}

export function registryPrefix(): Uint8Array {
  return encodeTuple(['weft-dbm'])
}

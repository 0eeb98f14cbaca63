/**
 * DAG-CBOR bytes of the small values records are made of — maps with text keys, text, byte
 * strings, CID links, integers, arrays, booleans and null — written directly, without the general
 * encoder's token stream (its per-node allocations and key sorting cost more than the bytes of a
 * record's four nodes). The bytes are exactly those `@ipld/dag-cbor` writes: shortest heads, map
 * keys ordered by length and then bytewise, CIDs as tag 42 over `00 || CID bytes`. Anything else
 * (a float, a bigint, `undefined`, a string that is not well-formed UTF-16, an object that is not
 * a plain object, a nesting deeper than {@link MAX_DEPTH}) answers `undefined`, and the caller
 * uses the general encoder, which encodes it or throws as it always did. Test vectors in
 * test/core/record-cbor.test.ts compare both.
 */
import { CID } from 'multiformats/cid'

/** Deepest nesting written here (deeper values go to the general encoder). */
const MAX_DEPTH = 32

const encoder = new TextEncoder()
const LONE_SURROGATE = /\p{Surrogate}/u

/** Not encodable here: the general encoder decides. */
class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported()

/** Shared scratch space (encoding is synchronous); each result is a copy of its bytes. */
let scratch = new Uint8Array(64 * 1024)

/**
 * DAG-CBOR bytes under construction, item by item (also the DB's writer of stored events). One
 * writer at a time: it writes into shared scratch space until {@link CborWriter.bytes}.
 */
export class CborWriter {
  buf = scratch
  at = 0

  room(n: number): void {
    if (this.at + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.at + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.at))
    this.buf = next
    if (size <= 16 * 1024 * 1024) scratch = next
  }

  byte(b: number): void {
    this.room(1)
    this.buf[this.at++] = b
  }

  /** A CBOR head: major type and argument (a non-negative safe integer). */
  head(major: number, n: number): void {
    const m = major << 5
    this.room(9)
    const b = this.buf
    if (n < 24) {
      b[this.at++] = m | n
    } else if (n < 0x100) {
      b[this.at++] = m | 24
      b[this.at++] = n
    } else if (n < 0x10000) {
      b[this.at++] = m | 25
      b[this.at++] = n >>> 8
      b[this.at++] = n & 0xff
    } else if (n < 0x100000000) {
      b[this.at++] = m | 26
      b[this.at++] = n >>> 24
      b[this.at++] = (n >>> 16) & 0xff
      b[this.at++] = (n >>> 8) & 0xff
      b[this.at++] = n & 0xff
    } else {
      b[this.at++] = m | 27
      const hi = Math.floor(n / 0x100000000)
      const lo = n >>> 0
      b[this.at++] = hi >>> 24
      b[this.at++] = (hi >>> 16) & 0xff
      b[this.at++] = (hi >>> 8) & 0xff
      b[this.at++] = hi & 0xff
      b[this.at++] = lo >>> 24
      b[this.at++] = (lo >>> 16) & 0xff
      b[this.at++] = (lo >>> 8) & 0xff
      b[this.at++] = lo & 0xff
    }
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.length)
    this.buf.set(bytes, this.at)
    this.at += bytes.length
  }

  /** A text item; `s` must be well-formed UTF-16 (no lone surrogate). */
  text(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: write it after the longest head it can
    // need, then move it back if its head is shorter.
    const most = s.length * 3
    const headMax = most < 24 ? 1 : most < 0x100 ? 2 : most < 0x10000 ? 3 : 5
    this.room(headMax + most)
    const start = this.at
    const { written } = encoder.encodeInto(s, this.buf.subarray(start + headMax))
    const headLen = written < 24 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5
    if (headLen !== headMax) this.buf.copyWithin(start + headLen, start + headMax, start + headMax + written)
    this.head(3, written)
    this.at = start + headLen + written
  }

  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'string':
        if (!wellFormed(v)) throw UNSUPPORTED
        this.text(v)
        return
      case 'number':
        if (!Number.isSafeInteger(v) || Object.is(v, -0)) throw UNSUPPORTED
        if (v >= 0) this.head(0, v)
        else this.head(1, -1 - v)
        return
      case 'boolean':
        this.byte(v ? 0xf5 : 0xf4)
        return
      case 'object':
        break
      default:
        throw UNSUPPORTED
    }
    if (v === null) {
      this.byte(0xf6)
      return
    }
    if (depth >= MAX_DEPTH) throw UNSUPPORTED
    if (v.constructor === Uint8Array) {
      const bytes = v as Uint8Array
      this.head(2, bytes.length)
      this.raw(bytes)
      return
    }
    if (Array.isArray(v)) {
      this.head(4, v.length)
      for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1)
      return
    }
    const cid = v instanceof CID ? v : undefined
    if (cid !== undefined) {
      const bytes = cid.bytes
      // Tag 42 over a byte string of 00 || the CID's bytes.
      this.byte(0xd8)
      this.byte(42)
      this.head(2, bytes.length + 1)
      this.byte(0)
      this.raw(bytes)
      return
    }
    const proto = Object.getPrototypeOf(v) as unknown
    if (proto !== Object.prototype && proto !== null) throw UNSUPPORTED
    this.map(v as Record<string, unknown>, depth)
  }

  /** The bytes written (a copy). */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.at)
  }

  map(m: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(m)
    this.head(5, keys.length)
    for (const k of keys.length > 1 ? sortedKeys(keys) : keys) {
      this.raw(keyBytes(k))
      this.value(m[k], depth + 1)
    }
  }
}

/** `String.prototype.isWellFormed` where the platform has it (ES2024), else a test for lone surrogates. */
const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed
const wellFormed: (s: string) => boolean = isWellFormed !== undefined
  ? (s) => isWellFormed.call(s)
  : (s) => !LONE_SURROGATE.test(s)

/** Most map keys whose encoding is kept (records use a handful). */
const MAX_KEYS = 256
/** Map keys, encoded as CBOR text (head and UTF-8). */
const keyCache = new Map<string, Uint8Array>()

function keyBytes(k: string): Uint8Array {
  let b = keyCache.get(k)
  if (b === undefined) {
    if (!wellFormed(k)) throw UNSUPPORTED
    const utf8 = encoder.encode(k)
    // Not through a writer: one may be writing into the scratch space right now.
    const n = utf8.length
    const head = n < 24 ? [0x60 | n] : n < 0x100 ? [0x78, n] : n < 0x10000 ? [0x79, n >>> 8, n & 0xff] : undefined
    if (head === undefined) throw UNSUPPORTED
    b = new Uint8Array(head.length + n)
    b.set(head)
    b.set(utf8, head.length)
    if (keyCache.size < MAX_KEYS) keyCache.set(k, b)
  }
  return b
}

/** DAG-CBOR's order of map keys: shorter encodings first, then bytewise. */
function compareKeys(x: string, y: string): number {
  const a = keyBytes(x)
  const b = keyBytes(y)
  if (a.length !== b.length) return a.length - b.length
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

function sortedKeys(keys: string[]): string[] {
  // Mostly already in order (records' values are built in it): check before sorting.
  for (let i = 1; i < keys.length; i++) if (compareKeys(keys[i - 1]!, keys[i]!) > 0) return keys.sort(compareKeys)
  return keys
}

/**
 * The DAG-CBOR bytes of `value` when it is made only of what this encoder writes (see the top of
 * this file), else `undefined`.
 */
export function encodeRecordValue(value: unknown): Uint8Array | undefined {
  const w = new CborWriter()
  try {
    w.value(value, 0)
  } catch (err) {
    if (err instanceof Unsupported) return undefined
    throw err
  }
  return w.bytes()
}

/**
 * Byte-key helpers for the ordered key-value store: concatenation, comparison, prefix bounds,
 * big-endian counters that sort numerically, and an order-preserving tuple encoding.
 *
 * Tuple encoding: each segment is written with every `0x00` byte escaped as `0x00 0xff` and is
 * terminated by `0x00 0x01`. A segment can therefore contain any byte, no encoded tuple is a
 * prefix of another unless its segments are a prefix of the other's, and tuples sort
 * segment-wise in bytewise order (a shorter segment sorts before any extension of it).
 */
import { concatBytes as concatAll, equalBytes } from '../core/index.js'
import { InvalidStoreInputError } from './errors.js'

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text)
}

/** The string of UTF-8 bytes (throws on invalid UTF-8). */
export function fromUtf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes)
}

/** The concatenation of `parts`. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return parts.length === 2 ? concat2(parts[0] as Uint8Array, parts[1] as Uint8Array) : concatAll(parts)
}

/** The concatenation of `a` and `b` (the common case of a key prefix and a suffix). */
export function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength)
  out.set(a, 0)
  out.set(b, a.byteLength)
  return out
}

/** Bytewise unsigned comparison: negative if `a < b`, 0 if equal, positive if `a > b`. */
// Loops read `length` into a local once: a typed array's length getter in a loop condition is
// several times slower in V8.
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const la = a.length
  const lb = b.length
  const n = la < lb ? la : lb
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return la - lb
}

/** Whether `bytes` starts with `prefix`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const n = prefix.length
  if (bytes.length < n) return false
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

/**
 * The smallest key greater than every key that starts with `prefix` (an exclusive upper bound),
 * or `undefined` when there is none (the prefix is empty or all `0xff`).
 */
export function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.byteLength - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const out = prefix.slice(0, i + 1)
      out[i] = (out[i] as number) + 1
      return out
    }
  }
  return undefined
}

/** 8-byte big-endian encoding of a non-negative safe integer, so counters sort numerically. */
export function encodeUint64(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidStoreInputError(`not a non-negative safe integer: ${n}`)
  const out = new Uint8Array(8)
  writeUint64(out, 0, n)
  return out
}

/** Write `n` (a non-negative safe integer) as 8 big-endian bytes at `offset` of `out`. */
export function writeUint64(out: Uint8Array, offset: number, n: number): void {
  const hi = Math.floor(n / 0x1_0000_0000)
  const lo = n >>> 0
  out[offset] = hi >>> 24
  out[offset + 1] = (hi >>> 16) & 0xff
  out[offset + 2] = (hi >>> 8) & 0xff
  out[offset + 3] = hi & 0xff
  out[offset + 4] = lo >>> 24
  out[offset + 5] = (lo >>> 16) & 0xff
  out[offset + 6] = (lo >>> 8) & 0xff
  out[offset + 7] = lo & 0xff
}

/** Decode an 8-byte big-endian counter at `offset`. */
export function decodeUint64(bytes: Uint8Array, offset = 0): number {
  if (bytes.byteLength < offset + 8) throw new InvalidStoreInputError('not enough bytes for a uint64')
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8)
  const n = view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4)
  if (!Number.isSafeInteger(n)) throw new InvalidStoreInputError('uint64 is larger than a safe integer')
  return n
}

/** A tuple segment: a string (written as UTF-8) or raw bytes. */
export type TupleSegment = string | Uint8Array

/** Order-preserving encoding of a tuple of segments (see the module comment). */
export function encodeTuple(segments: readonly TupleSegment[]): Uint8Array {
  const raw = segments.map((s) => (typeof s === 'string' ? utf8(s) : s))
  let length = 0
  for (const s of raw) {
    length += s.byteLength + 2
    for (const b of s) if (b === 0) length++
  }
  const out = new Uint8Array(length)
  let o = 0
  for (const s of raw) {
    for (const b of s) {
      out[o++] = b
      if (b === 0) out[o++] = 0xff
    }
    out[o++] = 0
    out[o++] = 1
  }
  return out
}

/**
 * Decode `count` tuple segments from the start of `bytes`; `end` is the offset just after them
 * (a key may carry a raw suffix such as a counter after its tuple).
 */
export function decodeTuple(bytes: Uint8Array, count: number): { segments: Uint8Array[]; end: number } {
  const segments: Uint8Array[] = []
  let i = 0
  while (segments.length < count) {
    const seg: number[] = []
    for (;;) {
      if (i >= bytes.byteLength) throw new InvalidStoreInputError('truncated tuple')
      const b = bytes[i++] as number
      if (b !== 0) {
        seg.push(b)
        continue
      }
      const next = bytes[i++]
      if (next === 0xff) seg.push(0)
      else if (next === 1) break
      else throw new InvalidStoreInputError('malformed tuple escape')
    }
    segments.push(Uint8Array.from(seg))
  }
  return { segments, end: i }
}

export { equalBytes }

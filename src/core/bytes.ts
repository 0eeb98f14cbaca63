/**
 * Small byte helpers shared by the core layer. Everything here is isomorphic and allocation-light.
 */

/** A function returning `n` random bytes. Injectable where tests need fixed output. */
export type RandomSource = (n: number) => Uint8Array

/** `n` bytes from the platform's CSPRNG (`crypto.getRandomValues`, chunked to its 64 KiB limit). */
export const randomBytes: RandomSource = (n) => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  }
  return out
}

/** True for a `Uint8Array` (including a Node `Buffer`). */
export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array
}

/** True for a `Uint8Array` of exactly `length` bytes. */
export function isBytesOfLength(value: unknown, length: number): value is Uint8Array {
  return value instanceof Uint8Array && value.byteLength === length
}

/** Concatenate byte arrays into a new one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.byteLength
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}

/** Byte-wise equality (not constant time: use only on public data). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** A private copy of `bytes` backed by its own `ArrayBuffer`. */
export function copyBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.byteLength)
  out.set(bytes)
  return out
}

/**
 * `bytes` typed as a WebCrypto `BufferSource`. The DOM typings only accept views on a plain
 * `ArrayBuffer`; a view on a `SharedArrayBuffer` is copied.
 */
export function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (bytes.buffer instanceof ArrayBuffer) return bytes as Uint8Array<ArrayBuffer>
  return copyBytes(bytes)
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += HEX[b]
  return s
}

/** Bytes of a hex string (even length, `[0-9a-fA-F]`); throws `RangeError` otherwise. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError('invalid hex string')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

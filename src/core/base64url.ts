/**
 * base64url without padding (RFC 4648 §5), strict: the decoder accepts only the one canonical text
 * of some bytes — the alphabet `A–Z a–z 0–9 - _`, no padding, no whitespace, a length that is not
 * 1 mod 4, and zero bits after the last byte. So `fromBase64url(t)` succeeds exactly when
 * `toBase64url(fromBase64url(t)) === t`, and a signed value has one encoding, not several twins.
 */
import { InvalidEncodingError } from './errors.js'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const VALUES = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i

/** The base64url text of `bytes`, without padding. */
export function toBase64url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!
  }
  return out
}

/**
 * The bytes of canonical base64url `text`. Throws {@link InvalidEncodingError} for a character
 * outside the alphabet (padding included), an impossible length, or non-zero trailing bits.
 */
export function fromBase64url(text: string): Uint8Array {
  if (typeof text !== 'string') throw new InvalidEncodingError('base64url input must be a string')
  if (text.length % 4 === 1) throw new InvalidEncodingError('base64url text cannot be 1 character past a multiple of 4')
  const out = new Uint8Array(Math.floor(text.length * 3 / 4))
  let bits = 0
  let acc = 0
  let o = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const v = c < 128 ? VALUES[c]! : -1
    if (v < 0) throw new InvalidEncodingError(`not base64url: character ${JSON.stringify(text[i])} at ${i}`)
    acc = ((acc << 6) | v) & 0xffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new InvalidEncodingError('base64url text has non-zero bits after its last byte')
  return out
}

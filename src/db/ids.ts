/**
 * Instance IDs: lower-case ULIDs (48-bit millisecond time, 80 random bits, Crockford base32).
 * ulid's default random source asks the platform for one byte per character; a pooled buffer of
 * cryptographic random bytes makes bulk creates cheap. Each character takes 5 bits of a fresh byte.
 */
import { ulid } from 'ulid'

const POOL = 4096
let pool = new Uint8Array(0)
let at = POOL

function pooledRandom(): number {
  if (at >= pool.length) {
    pool = new Uint8Array(POOL)
    globalThis.crypto.getRandomValues(pool)
    at = 0
  }
  return pool[at++]! / 256
}

/** A new lower-case ULID. */
export function newInstanceID(): string {
  return ulid(undefined, pooledRandom).toLowerCase()
}

/**
 * Thread keys: a 32-byte service key (encrypts record envelopes, gates the network protocol) and an
 * optional 32-byte read key (encrypts event headers, so it grants reading). Binary form
 * `service || read` (64 bytes) or `service` alone (32 bytes); string form multibase base32 of that.
 *
 * A `ThreadKey` is a plain object of `Uint8Array`s, so it is structured-cloneable. Its arrays are
 * treated as immutable (imported WebCrypto keys are cached per array).
 */
import { copyBytes, randomBytes, isBytesOfLength } from './bytes.js'
import type { RandomSource } from './bytes.js'
import { InvalidThreadKeyError } from './errors.js'
import { decodeMultibase, encodeBase32 } from './multibase.js'

/** Length of each symmetric key (AES-256). */
export const SYMMETRIC_KEY_BYTES = 32
/** Longest string accepted by {@link parseThreadKey} (base2 of 64 bytes is 513 characters). */
export const MAX_THREAD_KEY_STRING_LENGTH = 1024

export interface ThreadKey {
  /** Encrypts record envelopes; every member of the thread, replicators included, holds it. */
  readonly service: Uint8Array
  /** Encrypts event headers; only readers hold it. */
  readonly read?: Uint8Array
}

/** A thread key that includes the read key. */
export interface ReadableThreadKey extends ThreadKey {
  readonly read: Uint8Array
}

function invalid(message: string, cause?: unknown): InvalidThreadKeyError {
  return new InvalidThreadKeyError(`invalid thread key: ${message}`, cause === undefined ? undefined : { cause })
}

/** A new thread key with random service and read keys. */
export function newThreadKey(random: RandomSource = randomBytes): ReadableThreadKey {
  const service = random(SYMMETRIC_KEY_BYTES)
  const read = random(SYMMETRIC_KEY_BYTES)
  if (!isBytesOfLength(service, SYMMETRIC_KEY_BYTES) || !isBytesOfLength(read, SYMMETRIC_KEY_BYTES)) {
    throw invalid('random source returned the wrong number of bytes')
  }
  return { service: copyBytes(service), read: copyBytes(read) }
}

/**
 * Check that `key` is a well-formed thread key (a 32-byte service key, and a 32-byte read key if
 * present). Throws {@link InvalidThreadKeyError}.
 */
export function assertThreadKey(key: unknown): asserts key is ThreadKey {
  if (key == null || typeof key !== 'object') throw invalid('expected an object')
  const { service, read } = key as { service?: unknown; read?: unknown }
  if (!isBytesOfLength(service, SYMMETRIC_KEY_BYTES)) throw invalid('service key must be 32 bytes')
  if (read !== undefined && !isBytesOfLength(read, SYMMETRIC_KEY_BYTES)) throw invalid('read key must be 32 bytes')
}

/** The same key without its read part: what a replicator is given. */
export function serviceKeyOnly(key: ThreadKey): ThreadKey {
  assertThreadKey(key)
  return { service: key.service }
}

/** True if the key includes the read key. */
export function canRead(key: ThreadKey): key is ReadableThreadKey {
  return key.read !== undefined
}

/** Binary form: `service || read` (64 bytes) or `service` (32 bytes). */
export function threadKeyToBytes(key: ThreadKey): Uint8Array {
  assertThreadKey(key)
  const out = new Uint8Array(key.read === undefined ? SYMMETRIC_KEY_BYTES : 2 * SYMMETRIC_KEY_BYTES)
  out.set(key.service, 0)
  if (key.read !== undefined) out.set(key.read, SYMMETRIC_KEY_BYTES)
  return out
}

/** Parse the binary form (32 or 64 bytes). The result does not share memory with `bytes`. */
export function threadKeyFromBytes(bytes: Uint8Array): ThreadKey {
  if (!(bytes instanceof Uint8Array)) throw invalid('expected bytes')
  if (bytes.byteLength === SYMMETRIC_KEY_BYTES) return { service: copyBytes(bytes) }
  if (bytes.byteLength === 2 * SYMMETRIC_KEY_BYTES) {
    return {
      service: copyBytes(bytes.subarray(0, SYMMETRIC_KEY_BYTES)),
      read: copyBytes(bytes.subarray(SYMMETRIC_KEY_BYTES))
    }
  }
  throw invalid(`expected 32 or 64 bytes, got ${bytes.byteLength}`)
}

/** String form: multibase base32 (`b…`) of the binary form. */
export function threadKeyToString(key: ThreadKey): string {
  return encodeBase32(threadKeyToBytes(key))
}

/**
 * Parse a thread key from any multibase string. Throws {@link InvalidThreadKeyError}, or
 * `OversizedInputError` for strings longer than {@link MAX_THREAD_KEY_STRING_LENGTH}.
 */
export function parseThreadKey(input: string): ThreadKey {
  return threadKeyFromBytes(decodeMultibase(input, MAX_THREAD_KEY_STRING_LENGTH, invalid))
}

/** True if both keys hold the same service key and the same read key (or both lack one). */
export function threadKeysEqual(a: ThreadKey, b: ThreadKey): boolean {
  const x = threadKeyToBytes(a)
  const y = threadKeyToBytes(b)
  if (x.byteLength !== y.byteLength) return false
  let diff = 0
  for (let i = 0; i < x.byteLength; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0)
  return diff === 0
}

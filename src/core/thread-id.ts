/**
 * Thread IDs: `<uvarint version = 1> <uvarint variant> <random bytes>`, canonical string form
 * multibase base32 (`b…`; Raw IDs start `bafk…`, AccessControlled IDs `bafy…`). Any multibase is
 * accepted on input. IDs compare by their canonical strings (equivalently, by their bytes).
 */
import { randomBytes, copyBytes } from './bytes.js'
import type { RandomSource } from './bytes.js'
import { InvalidThreadIDError } from './errors.js'
import { decodeMultibase, encodeBase32 } from './multibase.js'
import type { ThreadID } from './types.js'

/** The only thread ID version. */
export const THREAD_ID_VERSION = 0x01

/** Thread ID variants (the second varint). */
export const ThreadVariant = {
  /** A plain thread: the random part is just random. */
  Raw: 0x55,
  /** Declared by the original model ("random part is the CID of an ACL"); not interpreted. */
  AccessControlled: 0x70
} as const
export type ThreadVariant = (typeof ThreadVariant)[keyof typeof ThreadVariant]

/** Length of the random part when creating IDs, unless asked otherwise. */
export const DEFAULT_THREAD_ID_RANDOM_BYTES = 32
/** Bounds on the random part of a new ID (the paper asks for at least 16 bytes). */
export const MIN_NEW_THREAD_ID_RANDOM_BYTES = 16
/** Largest random part accepted anywhere. Parsing accepts 1..128 bytes (go-threads only requires 1). */
export const MAX_THREAD_ID_RANDOM_BYTES = 128
/** Longest string accepted by {@link parseThreadID} (base2 of the largest ID is 1,049 characters). */
export const MAX_THREAD_ID_STRING_LENGTH = 2048

const HEADER_BYTES = 2

function invalid(message: string, cause?: unknown): InvalidThreadIDError {
  return new InvalidThreadIDError(`invalid thread ID: ${message}`, cause === undefined ? undefined : { cause })
}

function isVariant(value: number): value is ThreadVariant {
  return value === ThreadVariant.Raw || value === ThreadVariant.AccessControlled
}

/**
 * Check binary ID bytes. Both varints are single bytes (every valid value is below 0x80), so a
 * multi-byte (non-minimal) varint is rejected as an unknown version or variant.
 */
function checkBytes(bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw invalid('expected bytes')
  if (bytes.byteLength < HEADER_BYTES) throw invalid('truncated (no version and variant)')
  if (bytes[0] !== THREAD_ID_VERSION) throw invalid(`unknown version 0x${(bytes[0] ?? 0).toString(16)}`)
  const variant = bytes[1] ?? 0
  if (!isVariant(variant)) throw invalid(`unknown variant 0x${variant.toString(16)}`)
  const random = bytes.byteLength - HEADER_BYTES
  if (random < 1) throw invalid('empty random part')
  if (random > MAX_THREAD_ID_RANDOM_BYTES) {
    throw invalid(`random part of ${random} bytes exceeds ${MAX_THREAD_ID_RANDOM_BYTES}`)
  }
}

/**
 * Create a new random thread ID with a random part of `size` bytes (16..128).
 * `random` is injectable for tests and vectors.
 */
export function newThreadID(
  variant: ThreadVariant = ThreadVariant.Raw,
  size: number = DEFAULT_THREAD_ID_RANDOM_BYTES,
  random: RandomSource = randomBytes
): ThreadID {
  if (!isVariant(variant)) throw invalid(`unknown variant ${String(variant)}`)
  if (!Number.isInteger(size) || size < MIN_NEW_THREAD_ID_RANDOM_BYTES || size > MAX_THREAD_ID_RANDOM_BYTES) {
    throw invalid(`random part must be ${MIN_NEW_THREAD_ID_RANDOM_BYTES}..${MAX_THREAD_ID_RANDOM_BYTES} bytes`)
  }
  const part = random(size)
  if (part.byteLength !== size) throw invalid('random source returned the wrong number of bytes')
  const bytes = new Uint8Array(HEADER_BYTES + size)
  bytes[0] = THREAD_ID_VERSION
  bytes[1] = variant
  bytes.set(part, HEADER_BYTES)
  return encodeBase32(bytes) as ThreadID
}

/** The thread ID with these binary bytes. Throws {@link InvalidThreadIDError} if they are malformed. */
export function threadIDFromBytes(bytes: Uint8Array): ThreadID {
  checkBytes(bytes)
  return encodeBase32(bytes) as ThreadID
}

/**
 * Parse a thread ID from any multibase string (base32, base58btc, base36, base64, base16, …) into
 * its canonical form. Throws {@link InvalidThreadIDError}, or `OversizedInputError` for strings
 * longer than {@link MAX_THREAD_ID_STRING_LENGTH}.
 */
export function parseThreadID(input: string): ThreadID {
  const bytes = decodeMultibase(input, MAX_THREAD_ID_STRING_LENGTH, invalid)
  checkBytes(bytes)
  return encodeBase32(bytes) as ThreadID
}

/** The binary form of a thread ID (a fresh copy). */
export function threadIDToBytes(id: ThreadID): Uint8Array {
  const bytes = decodeMultibase(id, MAX_THREAD_ID_STRING_LENGTH, invalid)
  checkBytes(bytes)
  return copyBytes(bytes)
}

/** The variant of a thread ID. */
export function threadIDVariant(id: ThreadID): ThreadVariant {
  const bytes = threadIDToBytes(id)
  return bytes[1] as ThreadVariant
}

/** True if `value` is a thread ID in canonical form (lower-case base32 of valid bytes). */
export function isThreadID(value: unknown): value is ThreadID {
  if (typeof value !== 'string' || !value.startsWith('b') || value.length > MAX_THREAD_ID_STRING_LENGTH) return false
  try {
    return parseThreadID(value) === value
  } catch {
    return false
  }
}

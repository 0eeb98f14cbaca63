/**
 * Ed25519 key pairs and identities. Keys marshal to the libp2p protobuf form, so they interoperate
 * with libp2p and go-threads:
 *
 * - public key:  `08 01 12 20 <32-byte key>`                  (KeyType = Ed25519, Data = key)
 * - private key: `08 01 12 40 <32-byte seed> <32-byte public>` (a legacy 96-byte Data is accepted)
 *
 * An identity string is multibase base32 of the marshalled public key (`bbaarei…`).
 * Signing goes through `ed25519.ts` (WebCrypto where available). Key objects are immutable; for a
 * structured-cloneable form use `raw`/`privateKeyToBytes` and rebuild on the other side.
 */
import { concatBytes, copyBytes, equalBytes, isBytesOfLength, randomBytes } from './bytes.js'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SEED_BYTES, ed25519PublicKeyFromSeed, ed25519Sign, ed25519Verify } from './ed25519.js'
import { InvalidIdentityError, InvalidKeyError, throwIfAborted } from './errors.js'
import { decodeMultibase, encodeBase32 } from './multibase.js'
import type { AbortOptions } from './types.js'

/** libp2p `KeyType.Ed25519` protobuf header of a marshalled public key (field 1 = 1, field 2 len 32). */
const PUBLIC_PREFIX = Uint8Array.of(0x08, 0x01, 0x12, 0x20)
const PRIVATE_PREFIX = Uint8Array.of(0x08, 0x01, 0x12, 0x40)
const LEGACY_PRIVATE_PREFIX = Uint8Array.of(0x08, 0x01, 0x12, 0x60)

/** Length of a marshalled Ed25519 public key. */
export const MARSHALLED_PUBLIC_KEY_BYTES = PUBLIC_PREFIX.byteLength + ED25519_PUBLIC_KEY_BYTES
/** Longest identity string accepted by {@link parseIdentity}. */
export const MAX_IDENTITY_STRING_LENGTH = 512

export interface PublicKey {
  readonly type: 'Ed25519'
  /** The 32-byte Ed25519 public key. Do not mutate. */
  readonly raw: Uint8Array
  /** Resolves to true if `signature` is a valid signature of `data` by this key. */
  verify(data: Uint8Array, signature: Uint8Array): Promise<boolean>
  equals(other: PublicKey): boolean
  /** The identity string: multibase base32 of the marshalled key (`bbaarei…`). */
  toString(): string
}

/** Something that signs: a private key, or a wrapper around a key held elsewhere. */
export interface Identity {
  readonly publicKey: PublicKey
  /** Sign `data`; resolves to a 64-byte Ed25519 signature. */
  sign(data: Uint8Array, options?: AbortOptions): Promise<Uint8Array>
}

export interface PrivateKey extends Identity {
  readonly type: 'Ed25519'
  /** The 32-byte Ed25519 seed. Do not mutate. */
  readonly raw: Uint8Array
}

class Ed25519PublicKey implements PublicKey {
  readonly type = 'Ed25519' as const
  readonly raw: Uint8Array
  #string: string | undefined

  constructor(raw: Uint8Array) {
    this.raw = raw
  }

  async verify(data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return await ed25519Verify(this.raw, signature, data)
  }

  equals(other: PublicKey): boolean {
    return other != null && other.type === this.type && equalBytes(this.raw, other.raw)
  }

  toString(): string {
    this.#string ??= encodeBase32(publicKeyToBytes(this))
    return this.#string
  }
}

class Ed25519PrivateKey implements PrivateKey {
  readonly type = 'Ed25519' as const
  readonly raw: Uint8Array
  readonly publicKey: PublicKey

  constructor(seed: Uint8Array, publicKey: PublicKey) {
    this.raw = seed
    this.publicKey = publicKey
  }

  async sign(data: Uint8Array, options: AbortOptions = {}): Promise<Uint8Array> {
    throwIfAborted(options.signal)
    return await ed25519Sign(this.raw, data)
  }
}

/** A public key from its 32 raw bytes (copied). */
export function publicKeyFromRaw(raw: Uint8Array): PublicKey {
  if (!isBytesOfLength(raw, ED25519_PUBLIC_KEY_BYTES)) throw new InvalidKeyError('Ed25519 public key must be 32 bytes')
  return new Ed25519PublicKey(copyBytes(raw))
}

/** The libp2p-marshalled form of a public key (36 bytes). */
export function publicKeyToBytes(key: PublicKey): Uint8Array {
  return concatBytes([PUBLIC_PREFIX, key.raw])
}

/** A public key from its libp2p-marshalled form. Only Ed25519 keys are accepted. */
export function publicKeyFromBytes(bytes: Uint8Array): PublicKey {
  if (!isBytesOfLength(bytes, MARSHALLED_PUBLIC_KEY_BYTES) || !startsWith(bytes, PUBLIC_PREFIX)) {
    throw new InvalidKeyError('expected a libp2p-marshalled Ed25519 public key (36 bytes, 08 01 12 20 …)')
  }
  return new Ed25519PublicKey(copyBytes(bytes.subarray(PUBLIC_PREFIX.byteLength)))
}

/** A private key from its 32-byte seed (copied); derives the public key. */
export async function privateKeyFromSeed(seed: Uint8Array): Promise<PrivateKey> {
  if (!isBytesOfLength(seed, ED25519_SEED_BYTES)) throw new InvalidKeyError('Ed25519 private key seed must be 32 bytes')
  const own = copyBytes(seed)
  const pub = await ed25519PublicKeyFromSeed(own)
  return new Ed25519PrivateKey(own, new Ed25519PublicKey(pub))
}

/** A new random key pair. */
export async function generateKeyPair(): Promise<PrivateKey> {
  return await privateKeyFromSeed(randomBytes(ED25519_SEED_BYTES))
}

/** The libp2p-marshalled form of a private key (68 bytes: prefix, seed, public key). */
export function privateKeyToBytes(key: PrivateKey): Uint8Array {
  return concatBytes([PRIVATE_PREFIX, key.raw, key.publicKey.raw])
}

/**
 * A private key from its libp2p-marshalled form (64-byte or legacy 96-byte data). The embedded
 * public key must be the one the seed derives, else {@link InvalidKeyError}.
 */
export async function privateKeyFromBytes(bytes: Uint8Array): Promise<PrivateKey> {
  const bad = (): InvalidKeyError => new InvalidKeyError('expected a libp2p-marshalled Ed25519 private key')
  if (!(bytes instanceof Uint8Array)) throw bad()
  const n = PRIVATE_PREFIX.byteLength
  let seed: Uint8Array
  let pub: Uint8Array
  if (bytes.byteLength === n + 64 && startsWith(bytes, PRIVATE_PREFIX)) {
    seed = bytes.subarray(n, n + 32)
    pub = bytes.subarray(n + 32)
  } else if (bytes.byteLength === n + 96 && startsWith(bytes, LEGACY_PRIVATE_PREFIX)) {
    seed = bytes.subarray(n, n + 32)
    pub = bytes.subarray(n + 32, n + 64)
    if (!equalBytes(pub, bytes.subarray(n + 64))) throw new InvalidKeyError('legacy private key has two different public keys')
  } else {
    throw bad()
  }
  const key = await privateKeyFromSeed(seed)
  if (!equalBytes(key.publicKey.raw, pub)) throw new InvalidKeyError('private key bytes hold a public key that does not match the seed')
  return key
}

/** The identity string of a public key: multibase base32 of its marshalled form (`bbaarei…`). */
export function identityToString(key: PublicKey): string {
  return key.toString()
}

/** Parse an identity string (any multibase of a marshalled Ed25519 public key). */
export function parseIdentity(input: string): PublicKey {
  const invalid = (message: string, cause?: unknown): InvalidIdentityError =>
    new InvalidIdentityError(`invalid identity: ${message}`, cause === undefined ? undefined : { cause })
  const bytes = decodeMultibase(input, MAX_IDENTITY_STRING_LENGTH, invalid)
  try {
    return publicKeyFromBytes(bytes)
  } catch (cause) {
    throw invalid('not a marshalled Ed25519 public key', cause)
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

/**
 * Platform crypto, WebCrypto edition: browsers and every runtime that is not Node. Node gets
 * `crypto.node.ts` instead: the core imports `#weft/crypto`, which package.json `"imports"` maps to
 * that file under the `node` condition (Node, tsx, vitest, esbuild `--platform=node`) and to this
 * one otherwise (Vite, and tsc, which type-checks callers against this file).
 *
 * Both files export the same names with the same types (test/core/crypto.test.ts holds them to it)
 * and produce identical bytes. They do only the primitive: callers check lengths and wrap errors
 * (`aes.ts`, `ed25519.ts`, `block.ts`). Key objects are cached per key array (a `WeakMap`, so a
 * key kept by its owner is imported once and forgotten with it); key arrays must not be mutated.
 */
import * as ed from '@noble/ed25519'
import { sha256 as sha256Sync } from '@noble/hashes/sha2.js'
import { bufferSource, fromHex } from './bytes.js'

/** Which implementation `#weft/crypto` resolved to. */
export type CryptoPlatform = 'webcrypto' | 'node:crypto'
export const CRYPTO_PLATFORM: CryptoPlatform = 'webcrypto'

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle
  if (s == null) throw new Error('WebCrypto (crypto.subtle) is not available')
  return s
}

function cached(
  cache: WeakMap<Uint8Array, Promise<CryptoKey>>,
  key: Uint8Array,
  load: (key: Uint8Array) => Promise<CryptoKey>
): Promise<CryptoKey> {
  let p = cache.get(key)
  if (p === undefined) {
    p = load(key)
    cache.set(key, p)
    void p.catch(() => {
      cache.delete(key)
    })
  }
  return p
}

// --- AES-256-GCM -------------------------------------------------------------------------------

const aesKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>()

const importAesKey = async (key: Uint8Array): Promise<CryptoKey> =>
  await subtle().importKey('raw', bufferSource(key), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt'])

/** AES-256-GCM, no additional data: resolves to `ciphertext || tag(16)`. */
export async function gcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = await cached(aesKeys, key, importAesKey)
  return new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv: bufferSource(nonce) }, cryptoKey, bufferSource(plaintext)))
}

/** Inverse of {@link gcmEncrypt}; rejects with the platform's error when authentication fails. */
export async function gcmDecrypt(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = await cached(aesKeys, key, importAesKey)
  return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: bufferSource(nonce) }, cryptoKey, bufferSource(sealed)))
}

// --- SHA-256 -----------------------------------------------------------------------------------

/**
 * Inputs up to this size are hashed synchronously in JS (`@noble/hashes`): `crypto.subtle.digest`
 * costs an asynchronous round trip that dominates for small blocks.
 */
const SYNC_HASH_MAX_BYTES = 64 * 1024

/** The 32-byte SHA-256 digest of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.byteLength <= SYNC_HASH_MAX_BYTES) return sha256Sync(bytes)
  return new Uint8Array(await subtle().digest('SHA-256', bufferSource(bytes)))
}

// --- Ed25519 -----------------------------------------------------------------------------------

/** DER prefix of a PKCS#8 `PrivateKeyInfo` holding an Ed25519 seed (RFC 8410); the seed follows. */
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420')
const ED25519 = { name: 'Ed25519' } as const

const privateKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>()
const publicKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>()

async function importPrivate(seed: Uint8Array): Promise<CryptoKey> {
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.byteLength + seed.byteLength)
  pkcs8.set(PKCS8_PREFIX, 0)
  pkcs8.set(seed, PKCS8_PREFIX.byteLength)
  try {
    return await subtle().importKey('pkcs8', pkcs8, ED25519, false, ['sign'])
  } finally {
    pkcs8.fill(0)
  }
}

const importPublic = async (raw: Uint8Array): Promise<CryptoKey> =>
  await subtle().importKey('raw', bufferSource(raw), ED25519, false, ['verify'])

/** Sign `message` with the private key whose 32-byte seed is `seed`; resolves to 64 bytes. */
export async function ed25519Sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const key = await cached(privateKeys, seed, importPrivate)
  return new Uint8Array(await subtle().sign(ED25519, key, bufferSource(message)))
}

/** True if `signature` is valid for `message` under `publicKey`; may reject on a malformed key. */
export async function ed25519Verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  const key = await cached(publicKeys, publicKey, importPublic)
  return await subtle().verify(ED25519, key, bufferSource(signature), bufferSource(message))
}

/**
 * The 32-byte public key of a 32-byte seed. WebCrypto derives it only through an extractable key
 * exported as JWK, which would put the seed in an immutable string (`d`); `@noble/ed25519` does it
 * on the bytes (a one-off per key, so its speed does not matter).
 */
export async function ed25519PublicKeyFromSeed(seed: Uint8Array): Promise<Uint8Array> {
  return await ed.getPublicKeyAsync(seed)
}

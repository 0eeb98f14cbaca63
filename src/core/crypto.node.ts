/**
 * Platform crypto, Node edition: `node:crypto`, selected for `#weft/crypto` by the `node` condition
 * of package.json `"imports"` (see `crypto.ts`, the WebCrypto edition, for the contract; both export
 * the same names with the same types and produce identical bytes).
 *
 * Node's WebCrypto runs every call as a job on the libuv thread pool and settles it through
 * promises; for the small inputs of records that overhead costs several times the cryptography.
 * The `node:crypto` calls used here are synchronous and cheap to enter. Results are plain
 * `Uint8Array`s (never `Buffer`s, whose `slice` shares memory).
 *
 * Ed25519 `KeyObject`s are cached: private keys per seed array (a `WeakMap`, so no seed bytes are
 * kept in strings), public keys by value (a bounded map keyed by the base64url of the key, so the
 * many `PublicKey` objects of one log share one import). Key arrays must not be mutated.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, hash, sign, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { Buffer } from 'node:buffer'
import { fromHex } from './bytes.js'
import type { CryptoPlatform } from './crypto.js'

export type { CryptoPlatform } from './crypto.js'
export const CRYPTO_PLATFORM: CryptoPlatform = 'node:crypto'

const GCM_TAG_BYTES = 16

/** `buf` as a plain `Uint8Array`: a view when it owns its whole buffer (what node:crypto returns), else a copy. */
function plain(buf: Uint8Array): Uint8Array {
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.byteLength) return new Uint8Array(buf.buffer)
  return new Uint8Array(buf)
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

// --- AES-256-GCM -------------------------------------------------------------------------------

/** AES-256-GCM, no additional data: resolves to `ciphertext || tag(16)`. */
export async function gcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES })
  const out = new Uint8Array(plaintext.byteLength + GCM_TAG_BYTES)
  const head = cipher.update(plaintext)
  out.set(head, 0)
  const tail = cipher.final()
  out.set(tail, head.byteLength)
  out.set(cipher.getAuthTag(), head.byteLength + tail.byteLength)
  return out
}

/** Inverse of {@link gcmEncrypt}; rejects with the platform's error when authentication fails. */
export async function gcmDecrypt(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Promise<Uint8Array> {
  const length = sealed.byteLength - GCM_TAG_BYTES
  if (length < 0) throw new Error('AES-GCM input is shorter than the tag')
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES })
  decipher.setAuthTag(sealed.subarray(length))
  const head = decipher.update(sealed.subarray(0, length))
  const tail = decipher.final() // throws unless the tag authenticates
  if (tail.byteLength === 0) return plain(head)
  const out = new Uint8Array(length)
  out.set(head, 0)
  out.set(tail, head.byteLength)
  return out
}

// --- SHA-256 -----------------------------------------------------------------------------------

/** The 32-byte SHA-256 digest of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return plain(hash('sha256', bytes, 'buffer'))
}

// --- Ed25519 -----------------------------------------------------------------------------------

/** DER prefix of a PKCS#8 `PrivateKeyInfo` holding an Ed25519 seed (RFC 8410); the seed follows. */
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420')
/** Public keys imported and kept at most; past it the least recently used is dropped. */
const MAX_CACHED_PUBLIC_KEYS = 1024

const privateKeys = new WeakMap<Uint8Array, KeyObject>()
const publicKeys = new Map<string, KeyObject>()

function privateKeyObject(seed: Uint8Array): KeyObject {
  let key = privateKeys.get(seed)
  if (key === undefined) {
    const der = Buffer.alloc(PKCS8_PREFIX.byteLength + seed.byteLength)
    der.set(PKCS8_PREFIX, 0)
    der.set(seed, PKCS8_PREFIX.byteLength)
    try {
      key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    } finally {
      der.fill(0)
    }
    privateKeys.set(seed, key)
  }
  return key
}

/**
 * A public `KeyObject`, imported as a JWK: OpenSSL 3.0 parses that several times faster than the
 * equivalent SPKI DER (about 15 µs against 130 µs here), and the key is the same.
 */
function publicKeyObject(raw: Uint8Array): KeyObject {
  const x = asBuffer(raw).toString('base64url')
  let key = publicKeys.get(x)
  if (key === undefined) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' })
    if (publicKeys.size >= MAX_CACHED_PUBLIC_KEYS) publicKeys.delete(publicKeys.keys().next().value!)
  } else {
    publicKeys.delete(x)
  }
  publicKeys.set(x, key)
  return key
}

/** Sign `message` with the private key whose 32-byte seed is `seed`; resolves to 64 bytes. */
export async function ed25519Sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  return plain(sign(null, message, privateKeyObject(seed)))
}

/**
 * True if `signature` is valid for `message` under `publicKey`; may reject on a malformed key.
 * Verification (about three signings' work) runs on the libuv thread pool, so records opened
 * concurrently (catch-up opens a batch with `Promise.all`) verify on every core while the main
 * thread hashes, decrypts and decodes. Signing stays synchronous: a log's records are sealed one
 * after another, each needing the previous one's CID.
 */
export async function ed25519Verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  const key = publicKeyObject(publicKey)
  return await new Promise<boolean>((resolve, reject) => {
    verify(null, message, key, signature, (err, ok) => { if (err != null) reject(err); else resolve(ok) })
  })
}

/** The 32-byte public key of a 32-byte seed. Leaves the private key cached for signing. */
export async function ed25519PublicKeyFromSeed(seed: Uint8Array): Promise<Uint8Array> {
  const jwk = createPublicKey(privateKeyObject(seed)).export({ format: 'jwk' })
  if (typeof jwk.x !== 'string') throw new Error('node:crypto exported an Ed25519 JWK without "x"')
  return plain(Buffer.from(jwk.x, 'base64url'))
}

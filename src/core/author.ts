/**
 * Author certificates (record format version 2): an identity's signed statement "this log key may
 * write as me". A record whose author is not its log key carries one, so that every peer — and a
 * replicator holding only the service key — can check that the author really signed off on the
 * log key, as it checks the log key's signature.
 *
 * ```
 * payload     = "weft-author-v1" || marshalled log public key (36 bytes) || n
 * certificate = { n: bytes (16–64), s: Ed25519 signature by the author over payload (64 bytes) }
 * ```
 *
 * A certificate is not scoped to a thread: a peer holding a log key delegated by an identity may
 * write as that identity in every thread where it holds that log. The payload is also what a peer
 * hands a remote client to sign as a token challenge: the client's signature over it is then a
 * certificate for that log key (see docs/FORMAT.md, "Author certificates").
 *
 * Verified certificates are cached (a bounded LRU keyed by author ‖ log key ‖ certificate), so a
 * delegated log costs one extra Ed25519 verification per certificate, not one per record.
 */
import { encodeNode } from './block.js'
import { concatBytes, equalBytes, isBytes, isBytesOfLength, randomBytes, toHex } from './bytes.js'
import { ED25519_SIGNATURE_BYTES } from './ed25519.js'
import { InvalidKeyError, UnprovenAuthorError, throwIfAborted } from './errors.js'
import { MARSHALLED_PUBLIC_KEY_BYTES, publicKeyFromBytes, publicKeyToBytes } from './identity.js'
import type { Identity, PublicKey } from './identity.js'
import { LruCache } from './lru.js'
import type { AbortOptions } from './types.js'

/** Domain separation prefix of the certificate payload (ASCII `weft-author-v1`). */
export const AUTHOR_CERTIFICATE_DOMAIN = new TextEncoder().encode('weft-author-v1')
/** Shortest certificate nonce. */
export const MIN_AUTHOR_CERTIFICATE_NONCE_BYTES = 16
/** Longest certificate nonce. */
export const MAX_AUTHOR_CERTIFICATE_NONCE_BYTES = 64
/** Nonce length of certificates made by {@link createAuthorCertificate} without a nonce. */
export const DEFAULT_AUTHOR_CERTIFICATE_NONCE_BYTES = 16
/** Verified certificates remembered (least recently used dropped first). */
export const AUTHOR_CERTIFICATE_CACHE_ENTRIES = 4096

/** A delegation of a log key by an author identity. On the wire: the dag-cbor map `{ n, s }`. */
export interface AuthorCertificate {
  /** `n`: a nonce of 16–64 bytes. */
  readonly nonce: Uint8Array
  /** `s`: the author's Ed25519 signature over {@link authorCertificatePayload}. */
  readonly signature: Uint8Array
}

export interface CreateAuthorCertificateOptions extends AbortOptions {
  /** The nonce `n` (16–64 bytes), e.g. one a peer handed out as a challenge. @default 16 random bytes */
  nonce?: Uint8Array
}

function checkNonce(nonce: unknown): asserts nonce is Uint8Array {
  if (!isBytes(nonce) || nonce.byteLength < MIN_AUTHOR_CERTIFICATE_NONCE_BYTES || nonce.byteLength > MAX_AUTHOR_CERTIFICATE_NONCE_BYTES) {
    throw new UnprovenAuthorError(
      `an author certificate nonce is ${MIN_AUTHOR_CERTIFICATE_NONCE_BYTES}–${MAX_AUTHOR_CERTIFICATE_NONCE_BYTES} bytes`
    )
  }
}

function checkCertificate(cert: unknown): asserts cert is AuthorCertificate {
  if (cert == null || typeof cert !== 'object') throw new UnprovenAuthorError('an author certificate is { nonce, signature }')
  const { nonce, signature } = cert as Partial<AuthorCertificate>
  checkNonce(nonce)
  if (!isBytesOfLength(signature, ED25519_SIGNATURE_BYTES)) throw new UnprovenAuthorError('an author certificate signature is 64 bytes')
}

function checkPublicKey(key: unknown, name: string): asserts key is PublicKey {
  const k = key as PublicKey | null | undefined
  if (k == null || k.type !== 'Ed25519' || !isBytes(k.raw) || typeof k.verify !== 'function') {
    throw new InvalidKeyError(`${name} must be an Ed25519 PublicKey`)
  }
}

/**
 * The bytes an author signs to delegate `logPublicKey`:
 * `"weft-author-v1" || marshalled log public key (36 bytes) || nonce`. Hand it out as a
 * sign-this challenge, and the signature over it is a certificate (`{ nonce, signature }`).
 */
export function authorCertificatePayload(logPublicKey: PublicKey, nonce: Uint8Array): Uint8Array {
  checkPublicKey(logPublicKey, 'logPublicKey')
  checkNonce(nonce)
  return concatBytes([AUTHOR_CERTIFICATE_DOMAIN, publicKeyToBytes(logPublicKey), nonce])
}

/**
 * The log key and nonce of a certificate payload (the inverse of {@link authorCertificatePayload}),
 * e.g. to turn an answered challenge into a certificate. A malformed payload is an `UnprovenAuthorError`.
 */
export function parseAuthorCertificatePayload(payload: Uint8Array): { logPublicKey: PublicKey; nonce: Uint8Array } {
  const d = AUTHOR_CERTIFICATE_DOMAIN.byteLength
  if (!isBytes(payload) || payload.byteLength < d + MARSHALLED_PUBLIC_KEY_BYTES || !equalBytes(payload.subarray(0, d), AUTHOR_CERTIFICATE_DOMAIN)) {
    throw new UnprovenAuthorError('not an author certificate payload')
  }
  let logPublicKey: PublicKey
  try {
    logPublicKey = publicKeyFromBytes(payload.subarray(d, d + MARSHALLED_PUBLIC_KEY_BYTES))
  } catch (cause) {
    throw new UnprovenAuthorError('the certificate payload does not hold an Ed25519 log key', { cause })
  }
  const nonce = payload.slice(d + MARSHALLED_PUBLIC_KEY_BYTES)
  checkNonce(nonce)
  return { logPublicKey, nonce }
}

/** Delegate `logPublicKey`: `authorKey` signs the certificate payload over a fresh (or given) nonce. */
export async function createAuthorCertificate(
  authorKey: Identity,
  logPublicKey: PublicKey,
  options: CreateAuthorCertificateOptions = {}
): Promise<AuthorCertificate> {
  throwIfAborted(options.signal)
  const nonce = options.nonce ?? randomBytes(DEFAULT_AUTHOR_CERTIFICATE_NONCE_BYTES)
  const payload = authorCertificatePayload(logPublicKey, nonce)
  const signature = await authorKey.sign(payload, options.signal === undefined ? {} : { signal: options.signal })
  if (!isBytesOfLength(signature, ED25519_SIGNATURE_BYTES)) {
    throw new UnprovenAuthorError('the author key must produce a 64-byte Ed25519 signature')
  }
  return { nonce: nonce.slice(), signature }
}

/** The dag-cbor value of a certificate: `{ n, s }`. */
export function authorCertificateValue(cert: AuthorCertificate): { n: Uint8Array; s: Uint8Array } {
  return { n: cert.nonce, s: cert.signature }
}

/** The dag-cbor bytes of a certificate (what a version 2 record signature covers). */
export function encodeAuthorCertificate(cert: AuthorCertificate): Uint8Array {
  checkCertificate(cert)
  return encodeNode(authorCertificateValue(cert))
}

/**
 * Check a decoded certificate map: exactly `{ n: bytes (16–64), s: bytes (64) }`. Anything else is
 * an `UnprovenAuthorError` (a malformed certificate proves nothing).
 */
export function parseAuthorCertificate(value: unknown): AuthorCertificate {
  if (value == null || typeof value !== 'object' || Array.isArray(value) || isBytes(value)) {
    throw new UnprovenAuthorError('an author certificate is a map { n, s }')
  }
  const map = value as Record<string, unknown>
  const keys = Object.keys(map)
  if (keys.length !== 2 || !Object.hasOwn(map, 'n') || !Object.hasOwn(map, 's')) {
    throw new UnprovenAuthorError('an author certificate has exactly the fields n and s')
  }
  const cert = { nonce: map.n, signature: map.s }
  checkCertificate(cert)
  return cert
}

/**
 * Test hook: the cache of verified certificates. Tests lower `maxEntries` and read `size`; nothing
 * else should touch it.
 */
export const _authorCertificateCache = new LruCache<string, true>(AUTHOR_CERTIFICATE_CACHE_ENTRIES)

/**
 * Check that `cert` is `author`'s delegation of `logPublicKey`. Resolves when it is; rejects with
 * `UnprovenAuthorError` when the certificate is malformed or its signature is not the author's over
 * this log key. A certificate that verified once is remembered (bounded LRU).
 */
export async function verifyAuthorCertificate(author: PublicKey, logPublicKey: PublicKey, cert: AuthorCertificate): Promise<void> {
  checkPublicKey(author, 'author')
  checkPublicKey(logPublicKey, 'logPublicKey')
  checkCertificate(cert)
  const { nonce, signature } = cert
  // The nonce is 16–64 bytes and the signature 64, so author ‖ log key ‖ nonce ‖ signature is unambiguous.
  const key = toHex(concatBytes([author.raw, logPublicKey.raw, nonce, signature]))
  if (_authorCertificateCache.get(key) === true) return
  if (!await author.verify(authorCertificatePayload(logPublicKey, nonce), signature)) {
    throw new UnprovenAuthorError(`the certificate is not ${author.toString()}'s signature for this log key`)
  }
  _authorCertificateCache.set(key, true)
}

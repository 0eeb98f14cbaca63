/**
 * Ed25519 signing and verification on raw key bytes. The platform's implementation (`#weft/crypto`:
 * node:crypto in Node; WebCrypto in browsers, which have it from Chromium 137, Firefox 129 and
 * Safari 17) is used where it passes a known-answer test, run once; elsewhere `@noble/ed25519` in
 * its strict RFC 8032 mode. Platform key objects are cached per key, so callers should keep one
 * array per key (as `PrivateKey`/`PublicKey` objects do) and never mutate it.
 */
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import * as platform from '#weft/crypto'
import type { CryptoPlatform } from '#weft/crypto'
import { equalBytes, fromHex, isBytesOfLength } from './bytes.js'
import { InvalidKeyError } from './errors.js'
import { logger } from './logger.js'

ed.hashes.sha512 = sha512

const log = logger('weft:core:ed25519')

export const ED25519_SEED_BYTES = 32
export const ED25519_PUBLIC_KEY_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64

// RFC 8032 §7.1, test 1 (empty message).
const KAT_SEED = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
const KAT_PUBLIC = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
const KAT_SIGNATURE = fromHex(
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
)

let usePlatform: Promise<boolean> | undefined

async function detectPlatform(): Promise<boolean> {
  try {
    const sig = await platform.ed25519Sign(KAT_SEED, new Uint8Array(0))
    const ok = await platform.ed25519Verify(KAT_PUBLIC, KAT_SIGNATURE, new Uint8Array(0))
    return ok && equalBytes(sig, KAT_SIGNATURE)
  } catch (err) {
    log('%s Ed25519 unavailable, using @noble/ed25519: %s', platform.CRYPTO_PLATFORM, err)
    return false
  }
}

/** Resolves to the backend in use: the platform's (`'webcrypto'` in browsers, `'node:crypto'` in Node) or `'noble'`. */
export async function ed25519Backend(): Promise<CryptoPlatform | 'noble'> {
  usePlatform ??= detectPlatform()
  return (await usePlatform) ? platform.CRYPTO_PLATFORM : 'noble'
}

/**
 * Test hook: force the platform path (WebCrypto in browsers, node:crypto in Node) off (`false`,
 * so `@noble/ed25519` is used), back to detection (`undefined`), or on (`true`; only meaningful
 * where the platform supports Ed25519).
 */
export function _setWebCryptoEnabled(enabled: boolean | undefined): void {
  usePlatform = enabled === undefined ? undefined : Promise.resolve(enabled)
}

function checkSeed(seed: Uint8Array): void {
  if (!isBytesOfLength(seed, ED25519_SEED_BYTES)) throw new InvalidKeyError('Ed25519 private key seed must be 32 bytes')
}

/** Sign `message` with the private key whose 32-byte seed is `seed`; resolves to 64 bytes. */
export async function ed25519Sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  checkSeed(seed)
  if (await ed25519Backend() !== 'noble') return await platform.ed25519Sign(seed, message)
  return await ed.signAsync(message, seed)
}

/**
 * Verify a signature. Resolves to `false` (never throws) for a signature or public key of the
 * wrong length, a key that is not a curve point, or a signature that does not verify.
 */
export async function ed25519Verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (!isBytesOfLength(publicKey, ED25519_PUBLIC_KEY_BYTES) || !isBytesOfLength(signature, ED25519_SIGNATURE_BYTES)) {
    return false
  }
  try {
    if (await ed25519Backend() !== 'noble') return await platform.ed25519Verify(publicKey, signature, message)
    return await ed.verifyAsync(signature, message, publicKey, { zip215: false })
  } catch (err) {
    log.trace('verification error: %s', err)
    return false
  }
}

/** The 32-byte public key of a 32-byte seed. */
export async function ed25519PublicKeyFromSeed(seed: Uint8Array): Promise<Uint8Array> {
  checkSeed(seed)
  if (await ed25519Backend() !== 'noble') return await platform.ed25519PublicKeyFromSeed(seed)
  return await ed.getPublicKeyAsync(seed)
}

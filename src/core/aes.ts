/**
 * AES-256-GCM: 12-byte nonce, no additional data, output `ciphertext || tag(16)`. The cipher is
 * the platform's (`#weft/crypto`: WebCrypto in browsers, node:crypto in Node); this file checks
 * inputs and names the errors. Key arrays must not be mutated (platform key objects are cached
 * per array).
 */
import * as platform from '#weft/crypto'
import { isBytesOfLength } from './bytes.js'
import { DecryptionError, InvalidKeyError } from './errors.js'

export const AES_KEY_BYTES = 32
export const GCM_NONCE_BYTES = 12
export const GCM_TAG_BYTES = 16

function checkKeyAndNonce(key: Uint8Array, nonce: Uint8Array): void {
  if (!isBytesOfLength(key, AES_KEY_BYTES)) throw new InvalidKeyError('AES-256 key must be 32 bytes')
  if (!isBytesOfLength(nonce, GCM_NONCE_BYTES)) throw new InvalidKeyError('AES-GCM nonce must be 12 bytes')
}

/** Encrypt; resolves to `ciphertext || tag` (plaintext length + 16 bytes). */
export async function aesGcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  checkKeyAndNonce(key, nonce)
  return await platform.gcmEncrypt(key, nonce, plaintext)
}

/**
 * Decrypt `ciphertext || tag`. Rejects with {@link DecryptionError} (the platform error as cause)
 * when the key is wrong or the data was altered.
 */
export async function aesGcmDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
  checkKeyAndNonce(key, nonce)
  if (ciphertext.byteLength < GCM_TAG_BYTES) throw new DecryptionError('ciphertext is shorter than the GCM tag')
  try {
    return await platform.gcmDecrypt(key, nonce, ciphertext)
  } catch (cause) {
    throw new DecryptionError('AES-GCM authentication failed (wrong key or altered data)', { cause })
  }
}

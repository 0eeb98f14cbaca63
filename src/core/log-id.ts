/**
 * Log IDs: the libp2p peer ID of the log's Ed25519 public key. Binary form is the identity
 * multihash of the marshalled public key, `00 24 08 01 12 20 <32-byte key>` (38 bytes); canonical
 * string form is bare base58btc of that (`12D3KooW…`). The CIDv1 form of a peer ID
 * (codec libp2p-key 0x72, e.g. `bafz…`/`k51…`) is accepted on input.
 */
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { concatBytes, isBytesOfLength } from './bytes.js'
import { InvalidLogIDError, OversizedInputError } from './errors.js'
import { MARSHALLED_PUBLIC_KEY_BYTES, publicKeyFromBytes, publicKeyToBytes } from './identity.js'
import type { PublicKey } from './identity.js'
import { decodeMultibase } from './multibase.js'
import type { LogID } from './types.js'

/** Multihash header: code 0x00 (identity), length 36. */
const MULTIHASH_PREFIX = Uint8Array.of(0x00, MARSHALLED_PUBLIC_KEY_BYTES)
/** Length of a log ID's binary form. */
export const LOG_ID_BYTES = MULTIHASH_PREFIX.byteLength + MARSHALLED_PUBLIC_KEY_BYTES
/** Multicodec `libp2p-key`, the codec of a peer ID in CID form. */
const LIBP2P_KEY_CODEC = 0x72
/** Longest log ID string accepted by {@link parseLogID}. */
export const MAX_LOG_ID_STRING_LENGTH = 512

function invalid(message: string, cause?: unknown): InvalidLogIDError {
  return new InvalidLogIDError(`invalid log ID: ${message}`, cause === undefined ? undefined : { cause })
}

/** The log ID of a log public key. */
export function logIDFromPublicKey(key: PublicKey): LogID {
  return base58btc.baseEncode(concatBytes([MULTIHASH_PREFIX, publicKeyToBytes(key)])) as LogID
}

/** The public key embedded in log ID bytes (checked to be an Ed25519 identity multihash). */
function keyOfBytes(bytes: Uint8Array): PublicKey {
  if (!isBytesOfLength(bytes, LOG_ID_BYTES) || bytes[0] !== MULTIHASH_PREFIX[0] || bytes[1] !== MULTIHASH_PREFIX[1]) {
    throw invalid('not the identity multihash of an Ed25519 public key')
  }
  try {
    return publicKeyFromBytes(bytes.subarray(MULTIHASH_PREFIX.byteLength))
  } catch (cause) {
    throw invalid('not the identity multihash of an Ed25519 public key', cause)
  }
}

function bytesOfString(input: unknown): Uint8Array {
  if (typeof input !== 'string') throw invalid('expected a string')
  if (input.length > MAX_LOG_ID_STRING_LENGTH) {
    throw new OversizedInputError(`log ID string of ${input.length} characters exceeds ${MAX_LOG_ID_STRING_LENGTH}`)
  }
  if (input.startsWith('1')) {
    try {
      return base58btc.baseDecode(input)
    } catch (cause) {
      throw invalid('malformed base58btc', cause)
    }
  }
  const bytes = decodeMultibase(input, MAX_LOG_ID_STRING_LENGTH, invalid)
  let cid: CID
  try {
    cid = CID.decode(bytes)
  } catch (cause) {
    throw invalid('neither a base58btc peer ID nor a peer ID CID', cause)
  }
  if (cid.version !== 1 || cid.code !== LIBP2P_KEY_CODEC) throw invalid('CID is not a libp2p-key CID')
  return cid.multihash.bytes
}

/** Parse a log ID (bare base58btc, or a peer ID CID in any multibase) into canonical form. */
export function parseLogID(input: string): LogID {
  return logIDFromPublicKey(keyOfBytes(bytesOfString(input)))
}

/** The log public key a log ID names. Throws {@link InvalidLogIDError}. */
export function logIDToPublicKey(id: LogID | string): PublicKey {
  return keyOfBytes(bytesOfString(id))
}

/** The binary form of a log ID (38 bytes). */
export function logIDToBytes(id: LogID): Uint8Array {
  const bytes = bytesOfString(id)
  keyOfBytes(bytes)
  return bytes
}

/** The log ID with this binary form. Throws {@link InvalidLogIDError}. */
export function logIDFromBytes(bytes: Uint8Array): LogID {
  return logIDFromPublicKey(keyOfBytes(bytes))
}

/** True if `value` is a log ID in canonical form. */
export function isLogID(value: unknown): value is LogID {
  if (typeof value !== 'string' || !value.startsWith('1')) return false
  try {
    return parseLogID(value) === value
  } catch {
    return false
  }
}

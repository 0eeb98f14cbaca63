/**
 * The core layer: pure, isomorphic data model. Thread IDs, thread keys, identities, log IDs,
 * blocks, the hybrid logical clock, the record codec (format version 2, reading version 1),
 * author certificates, identity tokens and typed errors.
 */
export {
  WeftError, OversizedInputError, AbortError, InvalidThreadIDError, InvalidThreadKeyError, InvalidKeyError,
  InvalidIdentityError, InvalidLogIDError, InvalidBlockError, InvalidRecordError, BadSignatureError,
  DecryptionError, PrevLinkMismatchError, MissingReadKeyError, InvalidClockError, UnsupportedRecordVersionError,
  UnprovenAuthorError, InvalidEncodingError, InvalidTokenError, TokenExpiredError, ChallengeFailedError, throwIfAborted
} from './errors.js'
export { logger, enableLogging, setLogSink } from './logger.js'
export type { Logger } from './logger.js'
export { createBroadcast, SubscriberOverflowError } from './channel.js'
export type { Broadcast, SubscribeOptions } from './channel.js'
export type { ThreadID, LogID, Block, AbortOptions } from './types.js'
export { randomBytes, concatBytes, equalBytes, toHex, fromHex } from './bytes.js'
export type { RandomSource } from './bytes.js'
export { toBase64url, fromBase64url } from './base64url.js'
export { LruCache } from './lru.js'

export {
  ThreadVariant, THREAD_ID_VERSION, DEFAULT_THREAD_ID_RANDOM_BYTES, MIN_NEW_THREAD_ID_RANDOM_BYTES,
  MAX_THREAD_ID_RANDOM_BYTES, MAX_THREAD_ID_STRING_LENGTH, newThreadID, parseThreadID, threadIDFromBytes,
  threadIDToBytes, threadIDVariant, isThreadID
} from './thread-id.js'

export {
  SYMMETRIC_KEY_BYTES, MAX_THREAD_KEY_STRING_LENGTH, newThreadKey, assertThreadKey, serviceKeyOnly, canRead,
  threadKeyToBytes, threadKeyFromBytes, threadKeyToString, parseThreadKey, threadKeysEqual
} from './thread-key.js'
export type { ThreadKey, ReadableThreadKey } from './thread-key.js'

export {
  ED25519_SEED_BYTES, ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, ed25519Backend, ed25519Sign,
  ed25519Verify, ed25519PublicKeyFromSeed
} from './ed25519.js'
export {
  MARSHALLED_PUBLIC_KEY_BYTES, MAX_IDENTITY_STRING_LENGTH, generateKeyPair, privateKeyFromSeed,
  privateKeyFromBytes, privateKeyToBytes, publicKeyFromRaw, publicKeyFromBytes, publicKeyToBytes,
  identityToString, parseIdentity
} from './identity.js'
export type { PublicKey, PrivateKey, Identity } from './identity.js'

export {
  LOG_ID_BYTES, MAX_LOG_ID_STRING_LENGTH, logIDFromPublicKey, parseLogID, logIDToPublicKey, logIDToBytes,
  logIDFromBytes, isLogID
} from './log-id.js'

export { AES_KEY_BYTES, GCM_NONCE_BYTES, GCM_TAG_BYTES, aesGcmEncrypt, aesGcmDecrypt } from './aes.js'
export {
  DAG_CBOR_CODE, SHA2_256_CODE, SEALED_NODE_OVERHEAD, isBlockCID, cidOf, blockOf, encodeNode, encodeBlock, decodeBlock,
  verifyBlock, isHashedBlock, sealNode, openNode
} from './block.js'
export { CborWriter } from './record-cbor.js'

export {
  MAX_HLC_COUNTER, DEFAULT_MAX_DRIFT_MS, isHLC, compareHLC, encodeHLC, decodeHLC, createClock
} from './hlc.js'
export type { HLC, Clock, ClockInit } from './hlc.js'

export {
  RECORD_FORMAT_VERSION, RECORD_SIGNATURE_DOMAIN_V1, RECORD_SIGNATURE_DOMAIN_V2, MAX_BODY_BYTES, MAX_BODY_BLOCK_BYTES,
  MAX_NODE_BLOCK_BYTES, BODY_KEY_BYTES, recordSigningPayload, parseRecordNode, parseEventNode, parseHeaderNode
} from './record-codec.js'
export type { RecordNode, EventNode, HeaderNode, RecordFormatVersion } from './record-codec.js'
export {
  AUTHOR_CERTIFICATE_DOMAIN, MIN_AUTHOR_CERTIFICATE_NONCE_BYTES, MAX_AUTHOR_CERTIFICATE_NONCE_BYTES,
  DEFAULT_AUTHOR_CERTIFICATE_NONCE_BYTES, AUTHOR_CERTIFICATE_CACHE_ENTRIES, authorCertificatePayload,
  parseAuthorCertificatePayload, createAuthorCertificate, verifyAuthorCertificate, encodeAuthorCertificate,
  parseAuthorCertificate
} from './author.js'
export type { AuthorCertificate, CreateAuthorCertificateOptions } from './author.js'
export { sealRecord, sealRecordEvent, sealRecordOver, openRecord, openRecordEnvelope, openEvent } from './record.js'
export type {
  RecordBlocks, SealRecordInit, OpenRecordOptions, RecordEnvelope, OpenedEvent, OpenedRecord
} from './record.js'

export {
  TOKEN_SIGNATURE_DOMAIN, TOKEN_CHALLENGE_DOMAIN, MAX_TOKEN_LENGTH, MAX_TOKEN_TTL_MS, DEFAULT_TOKEN_TTL_MS,
  DEFAULT_CHALLENGE_TTL_MS, createTokenIssuer, verifyToken
} from './token.js'
export type {
  TokenClaims, TokenIssuer, TokenIssuerInit, ChallengeOptions, IssueTokenOptions, VerifyTokenOptions
} from './token.js'

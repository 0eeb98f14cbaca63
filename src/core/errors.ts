/**
 * Errors of the core layer. Every Weft error extends {@link WeftError}: it has a stable `name`
 * (the class name, written out literally in each class so that it survives minifiers and the
 * worker boundary) and a stable `code`, and keeps the platform's error as `cause`.
 */
export class WeftError extends Error {
  override readonly name: string = 'WeftError'
  static readonly code: string = 'ERR_WEFT'
  readonly code: string

  constructor(message?: string, options?: { cause?: unknown }) {
    super(message ?? 'Weft error', options)
    // `name` is set literally by each class (a field), so minifiers that rename classes keep it.
    this.code = (new.target as unknown as { code: string }).code
  }
}

/** Input is larger than the limit for its kind. */
export class OversizedInputError extends WeftError {
  override readonly name: string = 'OversizedInputError'
  static override readonly code: string = 'ERR_OVERSIZED_INPUT'
  constructor(message = 'input is larger than allowed', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The operation was aborted through its signal. */
export class AbortError extends WeftError {
  override readonly name: string = 'AbortError'
  static override readonly code: string = 'ERR_ABORTED'
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A thread ID is malformed: bad multibase, truncated, unknown version or variant, bad random part. */
export class InvalidThreadIDError extends WeftError {
  override readonly name: string = 'InvalidThreadIDError'
  static override readonly code: string = 'ERR_INVALID_THREAD_ID'
  constructor(message = 'invalid thread ID', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A thread key is malformed: not 32 or 64 bytes, or not a valid multibase string. */
export class InvalidThreadKeyError extends WeftError {
  override readonly name: string = 'InvalidThreadKeyError'
  static override readonly code: string = 'ERR_INVALID_THREAD_KEY'
  constructor(message = 'invalid thread key', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Public or private key bytes are malformed (wrong length, wrong type, inconsistent pair). */
export class InvalidKeyError extends WeftError {
  override readonly name: string = 'InvalidKeyError'
  static override readonly code: string = 'ERR_INVALID_KEY'
  constructor(message = 'invalid key', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** An identity string (multibase of a marshalled public key) is malformed. */
export class InvalidIdentityError extends WeftError {
  override readonly name: string = 'InvalidIdentityError'
  static override readonly code: string = 'ERR_INVALID_IDENTITY'
  constructor(message = 'invalid identity', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A log ID is not the peer ID of an Ed25519 public key. */
export class InvalidLogIDError extends WeftError {
  override readonly name: string = 'InvalidLogIDError'
  static override readonly code: string = 'ERR_INVALID_LOG_ID'
  constructor(message = 'invalid log ID', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A block is not valid dag-cbor, its bytes do not hash to its CID, or a CID has the wrong kind. */
export class InvalidBlockError extends WeftError {
  override readonly name: string = 'InvalidBlockError'
  static override readonly code: string = 'ERR_INVALID_BLOCK'
  constructor(message = 'invalid block', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A record, event or header node decodes but does not have the shape its format version specifies. */
export class InvalidRecordError extends WeftError {
  override readonly name: string = 'InvalidRecordError'
  static override readonly code: string = 'ERR_INVALID_RECORD'
  constructor(message = 'invalid record', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A record's signature does not verify with the log's public key. */
export class BadSignatureError extends WeftError {
  override readonly name: string = 'BadSignatureError'
  static override readonly code: string = 'ERR_BAD_SIGNATURE'
  constructor(message = 'signature does not verify', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Authenticated decryption failed: wrong key, or the ciphertext was altered. */
export class DecryptionError extends WeftError {
  override readonly name: string = 'DecryptionError'
  static override readonly code: string = 'ERR_DECRYPTION'
  constructor(message = 'decryption failed', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A record's `prev` link is not the one expected (a fork, a gap or a reordered log). */
export class PrevLinkMismatchError extends WeftError {
  override readonly name: string = 'PrevLinkMismatchError'
  static override readonly code: string = 'ERR_PREV_LINK_MISMATCH'
  constructor(message = 'record prev link does not match', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Reading or writing an event needs the thread's read key, and none was given. */
export class MissingReadKeyError extends WeftError {
  override readonly name: string = 'MissingReadKeyError'
  static override readonly code: string = 'ERR_MISSING_READ_KEY'
  constructor(message = 'the thread read key is required', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A hybrid logical clock timestamp is malformed or too far ahead of local physical time. */
export class InvalidClockError extends WeftError {
  override readonly name: string = 'InvalidClockError'
  static override readonly code: string = 'ERR_INVALID_CLOCK'
  constructor(message = 'invalid clock timestamp', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * A record node names a format version this implementation does not read (`v` other than 2 on a
 * node that has one). Distinct from {@link InvalidRecordError}: the record may be valid for a newer
 * peer.
 */
export class UnsupportedRecordVersionError extends WeftError {
  override readonly name: string = 'UnsupportedRecordVersionError'
  static override readonly code: string = 'ERR_UNSUPPORTED_RECORD_VERSION'
  constructor(message = 'unsupported record format version', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * A record names an author it does not prove: the author is not the log key and the record carries
 * no valid delegation certificate signed by the author for that log key (or it is a version 1
 * record, which cannot carry one). A forgery, like a bad signature.
 */
export class UnprovenAuthorError extends WeftError {
  override readonly name: string = 'UnprovenAuthorError'
  static override readonly code: string = 'ERR_UNPROVEN_AUTHOR'
  constructor(message = 'the record does not prove its author', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A text encoding (base64url) is malformed or not in its one canonical form. */
export class InvalidEncodingError extends WeftError {
  override readonly name: string = 'InvalidEncodingError'
  static override readonly code: string = 'ERR_INVALID_ENCODING'
  constructor(message = 'invalid encoding', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * A token is malformed, not in its canonical encoding, from an issuer that is not trusted here, or
 * its signature does not verify; or a token was asked for with a lifetime out of range.
 */
export class InvalidTokenError extends WeftError {
  override readonly name: string = 'InvalidTokenError'
  static override readonly code: string = 'ERR_INVALID_TOKEN'
  constructor(message = 'invalid token', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A token is past its expiry. */
export class TokenExpiredError extends WeftError {
  override readonly name: string = 'TokenExpiredError'
  static override readonly code: string = 'ERR_TOKEN_EXPIRED'
  constructor(message = 'the token has expired', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A token challenge is unknown, expired, already answered, or its signature does not verify. */
export class ChallengeFailedError extends WeftError {
  override readonly name: string = 'ChallengeFailedError'
  static override readonly code: string = 'ERR_CHALLENGE_FAILED'
  constructor(message = 'the signing challenge failed', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Throw {@link AbortError} (with the signal's reason as cause) if `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AbortError(undefined, { cause: signal.reason })
}

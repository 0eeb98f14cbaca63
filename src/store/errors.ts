/**
 * Errors of the store layer. Every error is a named {@link WeftError} with a stable `code`;
 * callers branch on `err.name`. The platform's error (an IndexedDB `DOMException` such as
 * `QuotaExceededError`, a LevelDB error) is kept as `cause`.
 */
import { WeftError } from '../core/errors.js'

/** A block's bytes do not hash to its CID, or its CID is not CIDv1 dag-cbor sha2-256 (the core's error). */
export { InvalidBlockError } from '../core/errors.js'

/** The store was closed; no further calls are accepted. */
export class StoreClosedError extends WeftError {
  override readonly name: string = 'StoreClosedError'
  static override readonly code: string = 'ERR_STORE_CLOSED'
  constructor(message = 'the store is closed', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The storage backend failed (I/O error, quota exceeded, aborted transaction…); see `cause`. */
export class StoreIOError extends WeftError {
  override readonly name: string = 'StoreIOError'
  static override readonly code: string = 'ERR_STORE_IO'
  constructor(message = 'the storage backend failed', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A key, value, batch operation or range option is malformed (e.g. a key that is not a `Uint8Array`). */
export class InvalidStoreInputError extends WeftError {
  override readonly name: string = 'InvalidStoreInputError'
  static override readonly code: string = 'ERR_INVALID_STORE_INPUT'
  constructor(message = 'invalid key, value or option', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The stored data was written by a newer (or unknown) storage format version. */
export class UnsupportedStoreFormatError extends WeftError {
  override readonly name: string = 'UnsupportedStoreFormatError'
  static override readonly code: string = 'ERR_UNSUPPORTED_STORE_FORMAT'
  constructor(message = 'the stored data has an unsupported format version', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A stored value could not be decoded: the store is corrupt or was written by something else. */
export class CorruptStoreError extends WeftError {
  override readonly name: string = 'CorruptStoreError'
  static override readonly code: string = 'ERR_CORRUPT_STORE'
  constructor(message = 'a stored value could not be decoded', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** An append's `prev` is not the log's current head (or a batch's records do not chain). */
export class HeadMismatchError extends WeftError {
  override readonly name: string = 'HeadMismatchError'
  static override readonly code: string = 'ERR_HEAD_MISMATCH'
  constructor(message = 'the record does not follow the current head of its log', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The thread is not in the log store. */
export class ThreadNotFoundError extends WeftError {
  override readonly name: string = 'ThreadNotFoundError'
  static override readonly code: string = 'ERR_THREAD_NOT_FOUND'
  constructor(message = 'thread not found', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The thread is already in the log store. */
export class ThreadExistsError extends WeftError {
  override readonly name: string = 'ThreadExistsError'
  static override readonly code: string = 'ERR_THREAD_EXISTS'
  constructor(message = 'thread already exists', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The log is not in the thread. */
export class LogNotFoundError extends WeftError {
  override readonly name: string = 'LogNotFoundError'
  static override readonly code: string = 'ERR_LOG_NOT_FOUND'
  constructor(message = 'log not found', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The log is already in the thread. */
export class LogExistsError extends WeftError {
  override readonly name: string = 'LogExistsError'
  static override readonly code: string = 'ERR_LOG_EXISTS'
  constructor(message = 'log already exists', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A block the log index refers to is missing from the block store. */
export class BlockNotFoundError extends WeftError {
  override readonly name: string = 'BlockNotFoundError'
  static override readonly code: string = 'ERR_BLOCK_NOT_FOUND'
  constructor(message = 'block not found', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * A limit of the log store would be passed: logs per thread, addresses in a signed list, the size
 * of a record's blocks (docs/STORAGE.md, "Limits"). Nothing is written.
 */
export class LimitExceededError extends WeftError {
  override readonly name: string = 'LimitExceededError'
  static override readonly code: string = 'ERR_LIMIT_EXCEEDED'
  constructor(message = 'a limit of the log store would be exceeded', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * The log is frozen at a fork (its owner signed two records at one position): no record at or past
 * the fork is stored. Nothing is written.
 */
export class LogFrozenError extends WeftError {
  override readonly name: string = 'LogFrozenError'
  static override readonly code: string = 'ERR_LOG_FROZEN'
  constructor(message = 'the log is frozen at a fork', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * Errors of the document database layer. Every error is a named class with a stable `code`;
 * callers branch on `err.name` (it survives a worker boundary). Rejections of events, local or
 * remote, carry the same names, so a conflict read back later says why an event was refused.
 */
import { WeftError } from '../core/errors.js'

type Options = { cause?: unknown }

/** A DB or collection name does not match `^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$`. */
export class InvalidNameError extends WeftError {
  override readonly name: string = 'InvalidNameError'
  static override readonly code: string = 'ERR_INVALID_NAME'
  constructor(message = 'name may only contain alphanumeric characters or non-consecutive hyphens, and cannot begin or end with a hyphen', options?: Options) { super(message, options) }
}

/** A collection schema does not compile, or does not define `_id` as a string. */
export class InvalidSchemaError extends WeftError {
  override readonly name: string = 'InvalidSchemaError'
  static override readonly code: string = 'ERR_INVALID_SCHEMA'
  constructor(message = 'the collection schema _id property must be a string', options?: Options) { super(message, options) }
}

/** An index definition is malformed, targets `_id`, or targets a path of a non-indexable type. */
export class InvalidIndexError extends WeftError {
  override readonly name: string = 'InvalidIndexError'
  static override readonly code: string = 'ERR_INVALID_INDEX'
  constructor(message = 'value not indexable', options?: Options) { super(message, options) }
}

/** A write validator or read filter body does not compile. */
export class InvalidValidatorError extends WeftError {
  override readonly name: string = 'InvalidValidatorError'
  static override readonly code: string = 'ERR_INVALID_VALIDATOR'
  constructor(message = 'the validator or filter does not compile', options?: Options) { super(message, options) }
}

/** An instance does not match its collection's JSON Schema. */
export class SchemaValidationError extends WeftError {
  override readonly name: string = 'SchemaValidationError'
  static override readonly code: string = 'ERR_SCHEMA_VALIDATION'
  constructor(message = "instance doesn't correspond to schema", options?: Options) { super(message, options) }
}

/** An instance is not a JSON object (functions, NaN, cycles…) or its `_id` is missing or not a string. */
export class InvalidInstanceError extends WeftError {
  override readonly name: string = 'InvalidInstanceError'
  static override readonly code: string = 'ERR_INVALID_INSTANCE'
  constructor(message = 'invalid instance', options?: Options) { super(message, options) }
}

export class CollectionNotFoundError extends WeftError {
  override readonly name: string = 'CollectionNotFoundError'
  static override readonly code: string = 'ERR_COLLECTION_NOT_FOUND'
  constructor(message = 'collection not found', options?: Options) { super(message, options) }
}

export class CollectionExistsError extends WeftError {
  override readonly name: string = 'CollectionExistsError'
  static override readonly code: string = 'ERR_COLLECTION_EXISTS'
  constructor(message = 'collection already registered', options?: Options) { super(message, options) }
}

/** A unique index already holds the value (or a unique index cannot be added over duplicates). */
export class UniqueConstraintError extends WeftError {
  override readonly name: string = 'UniqueConstraintError'
  static override readonly code: string = 'ERR_UNIQUE_CONSTRAINT'
  constructor(message = 'unique constraint violation', options?: Options) { super(message, options) }
}

export class InstanceNotFoundError extends WeftError {
  override readonly name: string = 'InstanceNotFoundError'
  static override readonly code: string = 'ERR_INSTANCE_NOT_FOUND'
  constructor(message = 'instance not found', options?: Options) { super(message, options) }
}

/** A create names an `_id` that the collection already holds. */
export class InstanceExistsError extends WeftError {
  override readonly name: string = 'InstanceExistsError'
  static override readonly code: string = 'ERR_INSTANCE_EXISTS'
  constructor(message = "can't create already existing instance", options?: Options) { super(message, options) }
}

/** A query is malformed: unknown operation, bad value, bad path, bad sort/limit/skip/index. */
export class InvalidQueryError extends WeftError {
  override readonly name: string = 'InvalidQueryError'
  static override readonly code: string = 'ERR_INVALID_QUERY'
  constructor(message = 'invalid query', options?: Options) { super(message, options) }
}

/** An instance is larger than `MAX_DOCUMENT_BYTES` as canonical JSON. */
export class OversizedDocumentError extends WeftError {
  override readonly name: string = 'OversizedDocumentError'
  static override readonly code: string = 'ERR_OVERSIZED_DOCUMENT'
  constructor(message = 'instance is larger than allowed', options?: Options) { super(message, options) }
}

/** A transaction does not fit in one record body (the net layer's body limit). */
export class OversizedTransactionError extends WeftError {
  override readonly name: string = 'OversizedTransactionError'
  static override readonly code: string = 'ERR_OVERSIZED_TRANSACTION'
  constructor(message = 'transaction is larger than one record allows', options?: Options) { super(message, options) }
}

/** The collection's write validator returned something other than `true`. */
export class ValidatorRejectedError extends WeftError {
  override readonly name: string = 'ValidatorRejectedError'
  static override readonly code: string = 'ERR_VALIDATOR_REJECTED'
  constructor(message = 'app denied net record body', options?: Options) { super(message, options) }
}

/** A write validator or read filter threw. */
export class ValidatorError extends WeftError {
  override readonly name: string = 'ValidatorError'
  static override readonly code: string = 'ERR_VALIDATOR'
  constructor(message = 'the validator threw', options?: Options) { super(message, options) }
}

/** A write validator or read filter ran past its operation budget. */
export class ValidatorTimeoutError extends WeftError {
  override readonly name: string = 'ValidatorTimeoutError'
  static override readonly code: string = 'ERR_VALIDATOR_TIMEOUT'
  constructor(message = 'the validator ran past its time budget', options?: Options) { super(message, options) }
}

/** A write validator or read filter allocated past its memory limit. */
export class ValidatorMemoryError extends WeftError {
  override readonly name: string = 'ValidatorMemoryError'
  static override readonly code: string = 'ERR_VALIDATOR_MEMORY'
  constructor(message = 'the validator ran past its memory limit', options?: Options) { super(message, options) }
}

/** The transaction was discarded; nothing more can be done with it. */
export class TransactionDiscardedError extends WeftError {
  override readonly name: string = 'TransactionDiscardedError'
  static override readonly code: string = 'ERR_TRANSACTION_DISCARDED'
  constructor(message = "can't commit discarded txn", options?: Options) { super(message, options) }
}

/** The transaction has ended (committed or released), or was never started. */
export class TransactionClosedError extends WeftError {
  override readonly name: string = 'TransactionClosedError'
  static override readonly code: string = 'ERR_TRANSACTION_CLOSED'
  constructor(message = 'the transaction is not active', options?: Options) { super(message, options) }
}

/** A write operation was attempted in a read transaction. */
export class ReadOnlyTransactionError extends WeftError {
  override readonly name: string = 'ReadOnlyTransactionError'
  static override readonly code: string = 'ERR_READ_ONLY_TRANSACTION'
  constructor(message = 'read only transaction', options?: Options) { super(message, options) }
}

export class DBNotFoundError extends WeftError {
  override readonly name: string = 'DBNotFoundError'
  static override readonly code: string = 'ERR_DB_NOT_FOUND'
  constructor(message = 'db not found', options?: Options) { super(message, options) }
}

export class DBExistsError extends WeftError {
  override readonly name: string = 'DBExistsError'
  static override readonly code: string = 'ERR_DB_EXISTS'
  constructor(message = 'db already exists', options?: Options) { super(message, options) }
}

/** The DB (or its manager) was closed. */
export class DBClosedError extends WeftError {
  override readonly name: string = 'DBClosedError'
  static override readonly code: string = 'ERR_DB_CLOSED'
  constructor(message = 'the db is closed', options?: Options) { super(message, options) }
}

/** A record body in the thread is not a DB event of a known version. */
export class InvalidEventError extends WeftError {
  override readonly name: string = 'InvalidEventError'
  static override readonly code: string = 'ERR_INVALID_EVENT'
  constructor(message = 'invalid db event', options?: Options) { super(message, options) }
}

/** A collection, owner or writer change by an author who is not an owner of the DB. */
export class NotAnOwnerError extends WeftError {
  override readonly name: string = 'NotAnOwnerError'
  static override readonly code: string = 'ERR_NOT_AN_OWNER'
  constructor(message = 'only an owner of the DB may change its collections, owners or writers', options?: Options) { super(message, options) }
}

/** An owner or writer given to the API is not an identity, or cannot own the DB it is given for. */
export class InvalidOwnerError extends WeftError {
  override readonly name: string = 'InvalidOwnerError'
  static override readonly code: string = 'ERR_INVALID_OWNER'
  constructor(message = 'not a usable owner identity', options?: Options) { super(message, options) }
}

/** An instance write by an author outside the DB's writer list (and its owners). */
export class NotAWriterError extends WeftError {
  override readonly name: string = 'NotAWriterError'
  static override readonly code: string = 'ERR_NOT_A_WRITER'
  constructor(message = 'the author is not a writer of the DB', options?: Options) { super(message, options) }
}

/**
 * A genesis op that does not open the DB: its owner and salt do not match the thread ID's
 * commitment, its author is not that owner, or the DB already has owners.
 */
export class InvalidGenesisError extends WeftError {
  override readonly name: string = 'InvalidGenesisError'
  static override readonly code: string = 'ERR_INVALID_GENESIS'
  constructor(message = 'the genesis does not match the thread ID or its author', options?: Options) { super(message, options) }
}

/** An owner change that would leave the DB without owners. */
export class LastOwnerError extends WeftError {
  override readonly name: string = 'LastOwnerError'
  static override readonly code: string = 'ERR_LAST_OWNER'
  constructor(message = 'the last owner of a DB cannot be removed', options?: Options) { super(message, options) }
}

/** The log's owner equivocated: the log forked, and none of its records at or past the fork apply. */
export class EquivocationError extends WeftError {
  override readonly name: string = 'EquivocationError'
  static override readonly code: string = 'ERR_EQUIVOCATION'
  constructor(message = 'the log forked: its records at and past the fork are not applied', options?: Options) { super(message, options) }
}

/** An event whose time is not after the time of the previous record of its log. */
export class ClockRegressionError extends WeftError {
  override readonly name: string = 'ClockRegressionError'
  static override readonly code: string = 'ERR_CLOCK_REGRESSION'
  constructor(message = 'the event time does not increase within its log', options?: Options) { super(message, options) }
}

/**
 * A local write committed (its record exists and is applied at its place in the order on every
 * peer), but an event applied before it sorts after it and overwrites or voids its effect.
 */
export class WriteOutrankedError extends WeftError {
  override readonly name: string = 'WriteOutrankedError'
  static override readonly code: string = 'ERR_WRITE_OUTRANKED'
  constructor(message = 'the write was recorded, but an event already applied sorts after it and overrides its effect', options?: Options) { super(message, options) }
}

/** A string that is not well-formed UTF-16 (a lone surrogate) in an ID, a document or a query. */
export class InvalidStringError extends WeftError {
  override readonly name: string = 'InvalidStringError'
  static override readonly code: string = 'ERR_INVALID_STRING'
  constructor(message = 'the string is not well-formed UTF-16 (it holds a lone surrogate)', options?: Options) { super(message, options) }
}

/** A read filter failed (threw, ran past its budget or memory) on the instance asked for. */
export class ReadFilterError extends WeftError {
  override readonly name: string = 'ReadFilterError'
  static override readonly code: string = 'ERR_READ_FILTER'
  constructor(message = 'the read filter failed on this instance', options?: Options) { super(message, options) }
}

/** A record of the thread that the service layer accepted but that could not be read as an event. */
export class UnreadableEventError extends WeftError {
  override readonly name: string = 'UnreadableEventError'
  static override readonly code: string = 'ERR_UNREADABLE_EVENT'
  constructor(message = 'the record could not be decrypted or decoded', options?: Options) { super(message, options) }
}

const REJECTIONS: Record<string, new (message?: string, options?: Options) => WeftError> = {
  SchemaValidationError, InvalidInstanceError, CollectionNotFoundError, CollectionExistsError, UniqueConstraintError,
  InstanceExistsError, OversizedDocumentError, ValidatorRejectedError, ValidatorError, ValidatorTimeoutError,
  ValidatorMemoryError, InvalidEventError, InvalidSchemaError, InvalidIndexError, InvalidValidatorError, InvalidNameError,
  NotAnOwnerError, NotAWriterError, InvalidGenesisError, LastOwnerError, EquivocationError, ClockRegressionError,
  InvalidStringError, UnreadableEventError
}

/** Whether an error is a reason to reject an event (as opposed to a failure of this peer, e.g. I/O). */
export function isRejection(err: unknown): err is WeftError {
  return err instanceof WeftError && Object.prototype.hasOwnProperty.call(REJECTIONS, err.name)
}

/** The named error a rejection was recorded with. */
export function rejectionError(name: string, message: string): WeftError {
  const Ctor = Object.prototype.hasOwnProperty.call(REJECTIONS, name) ? REJECTIONS[name]! : InvalidEventError
  return new Ctor(message)
}

/**
 * A write transaction read something that another commit (local or remote) changed before it
 * committed: nothing of it was written. Retryable: run the transaction again. `Database.create`,
 * `save` and `delete` (and their collection forms) retry by themselves.
 */
export class TransactionConflictError extends WeftError {
  override readonly name: string = 'TransactionConflictError'
  static override readonly code: string = 'ERR_TRANSACTION_CONFLICT'
  readonly retryable = true
  constructor(message = 'the transaction read state that changed before it committed: nothing was written; run it again', options?: Options) { super(message, options) }
}

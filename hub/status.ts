/**
 * Weft errors as gRPC statuses. Each named error maps to one status code (by `err.name`, so
 * errors of every layer are covered without importing their classes); the message is the error's
 * own, which starts with go-threads' string where go-threads has one (`instance not found`,
 * `collection not found`, `db not found`, `unique constraint violation`…), so what a go-threads
 * user matches on still matches. The table is docs/HUB.md's "Errors".
 *
 * An error that is not a Weft error is a bug or an I/O failure of the hub: it becomes `Internal`
 * with a generic message (the detail goes to the log, not to the client).
 */
import { Code, ConnectError } from '@connectrpc/connect'
import { WeftError } from '../src/core/errors.js'
import { logger } from '../src/core/logger.js'

const log = logger('weft:hub:status')

/** gRPC status code of each named error. */
export const STATUS_OF_ERROR: Readonly<Record<string, Code>> = {
  // the request is malformed
  InvalidRequestError: Code.InvalidArgument,
  MalformedFrameError: Code.InvalidArgument,
  InvalidThreadIDError: Code.InvalidArgument,
  InvalidThreadKeyError: Code.InvalidArgument,
  InvalidKeyError: Code.InvalidArgument,
  InvalidIdentityError: Code.InvalidArgument,
  InvalidLogIDError: Code.InvalidArgument,
  InvalidAddressError: Code.InvalidArgument,
  InvalidBlockError: Code.InvalidArgument,
  InvalidRecordError: Code.InvalidArgument,
  BadSignatureError: Code.InvalidArgument,
  PrevLinkMismatchError: Code.InvalidArgument,
  InvalidNameError: Code.InvalidArgument,
  InvalidSchemaError: Code.InvalidArgument,
  InvalidIndexError: Code.InvalidArgument,
  InvalidValidatorError: Code.InvalidArgument,
  InvalidQueryError: Code.InvalidArgument,
  InvalidInstanceError: Code.InvalidArgument,
  InvalidStringError: Code.InvalidArgument,
  SchemaValidationError: Code.InvalidArgument,
  // something named does not exist
  DBNotFoundError: Code.NotFound,
  CollectionNotFoundError: Code.NotFound,
  InstanceNotFoundError: Code.NotFound,
  ThreadNotFoundError: Code.NotFound,
  ThreadUnknownError: Code.NotFound,
  LogNotFoundError: Code.NotFound,
  LogUnknownError: Code.NotFound,
  BlockNotFoundError: Code.NotFound,
  // it exists already
  DBExistsError: Code.AlreadyExists,
  CollectionExistsError: Code.AlreadyExists,
  InstanceExistsError: Code.AlreadyExists,
  ThreadExistsError: Code.AlreadyExists,
  ThreadAlreadyExistsError: Code.AlreadyExists,
  LogExistsError: Code.AlreadyExists,
  UniqueConstraintError: Code.AlreadyExists,
  // the DB's rules refuse it
  ValidatorRejectedError: Code.PermissionDenied,
  ReadOnlyThreadError: Code.PermissionDenied,
  MissingReadKeyError: Code.PermissionDenied,
  UnprovenAuthorError: Code.PermissionDenied,
  NotOwnerError: Code.PermissionDenied,
  NotAnOwnerError: Code.PermissionDenied,
  NotAWriterError: Code.PermissionDenied,
  LastOwnerError: Code.FailedPrecondition,
  InvalidOwnerError: Code.InvalidArgument,
  ValidatorError: Code.FailedPrecondition,
  TransactionDiscardedError: Code.FailedPrecondition,
  TransactionClosedError: Code.FailedPrecondition,
  ReadOnlyTransactionError: Code.FailedPrecondition,
  ThreadInUseError: Code.FailedPrecondition,
  HeadMismatchError: Code.FailedPrecondition,
  LogFrozenError: Code.FailedPrecondition,
  GapError: Code.FailedPrecondition,
  WriteOutrankedError: Code.Aborted,
  // too big, too much
  OversizedInputError: Code.ResourceExhausted,
  OversizedDocumentError: Code.ResourceExhausted,
  OversizedTransactionError: Code.ResourceExhausted,
  MessageTooLargeError: Code.ResourceExhausted,
  ValidatorTimeoutError: Code.ResourceExhausted,
  ValidatorMemoryError: Code.ResourceExhausted,
  SubscriberOverflowError: Code.ResourceExhausted,
  LimitExceededError: Code.ResourceExhausted,
  QuotaExceededError: Code.ResourceExhausted,
  // who is calling
  UnauthenticatedError: Code.Unauthenticated,
  InvalidTokenError: Code.Unauthenticated,
  TokenExpiredError: Code.Unauthenticated,
  ChallengeFailedError: Code.Unauthenticated,
  UnauthorizedError: Code.PermissionDenied,
  // time and lifecycle
  IdleTimeoutError: Code.DeadlineExceeded,
  TimeoutError: Code.DeadlineExceeded,
  AbortError: Code.Canceled,
  DBClosedError: Code.Unavailable,
  StoreClosedError: Code.Unavailable,
  NotStartedError: Code.Unavailable,
  RemoteError: Code.Unavailable
}

/** The gRPC status of any error a handler throws. A ConnectError passes through unchanged. */
export function toStatus(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err
  if (err instanceof WeftError) {
    const code = STATUS_OF_ERROR[err.name] ?? Code.Unknown
    return new ConnectError(err.message, code, undefined, undefined, err)
  }
  log.error('internal error: %s', (err as Error)?.stack ?? String(err))
  return new ConnectError('internal error', Code.Internal, undefined, undefined, err)
}

/** Run `fn`, turning what it throws into a gRPC status. */
export async function withStatus<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw toStatus(err)
  }
}

/** The message a go-threads transaction reply carries in `transactionError` for an error. */
export function transactionError(err: unknown): string {
  return err instanceof WeftError ? err.message : toStatus(err).rawMessage
}

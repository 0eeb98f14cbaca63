/**
 * Errors of the tab⇄worker contract, thrown on either side of the port (the client SDK exports
 * them). Errors thrown in the worker cross the port as `{ name, message, code }` and are rebuilt
 * in the tab with the same `name` (and the class, when it is one of these), so callers branch on
 * `err.name` as they would in-process.
 */
import { AbortError, ChallengeFailedError, InvalidTokenError, TokenExpiredError, WeftError } from '../core/errors.js'
import type { WireError } from './protocol.js'

export { AbortError, InvalidTokenError, TokenExpiredError, ChallengeFailedError }

/** A call got no answer within its timeout. */
export class CallTimeoutError extends WeftError {
  override readonly name: string = 'CallTimeoutError'
  static override readonly code: string = 'ERR_CALL_TIMEOUT'
  constructor(message = 'the worker did not answer in time', options?: { cause?: unknown }) { super(message, options) }
}

/** The worker (or the tab that ran it) is gone; the call may or may not have been carried out. */
export class WorkerGoneError extends WeftError {
  override readonly name: string = 'WorkerGoneError'
  static override readonly code: string = 'ERR_WORKER_GONE'
  constructor(message = 'the worker is gone', options?: { cause?: unknown }) { super(message, options) }
}

/** The worker could not be started or reached. */
export class WorkerStartError extends WeftError {
  override readonly name: string = 'WorkerStartError'
  static override readonly code: string = 'ERR_WORKER_START'
  constructor(message = 'the worker could not be started', options?: { cause?: unknown }) { super(message, options) }
}

/** The client was closed. */
export class ClientClosedError extends WeftError {
  override readonly name: string = 'ClientClosedError'
  static override readonly code: string = 'ERR_CLIENT_CLOSED'
  constructor(message = 'the client is closed', options?: { cause?: unknown }) { super(message, options) }
}

/** A method the worker does not have (e.g. `db.*` before the db layer is composed in). */
export class UnknownMethodError extends WeftError {
  override readonly name: string = 'UnknownMethodError'
  static override readonly code: string = 'ERR_UNKNOWN_METHOD'
  constructor(message = 'unknown method', options?: { cause?: unknown }) { super(message, options) }
}

/** An invite string is malformed or of an unknown version. */
export class InvalidInviteError extends WeftError {
  override readonly name: string = 'InvalidInviteError'
  static override readonly code: string = 'ERR_INVALID_INVITE'
  constructor(message = 'invalid invite', options?: { cause?: unknown }) { super(message, options) }
}

/**
 * A DB was joined, but its collection definitions did not arrive before the join's deadline (or
 * the names asked for are not among them). The DB stays joined: the definitions apply when they
 * arrive, and joining again returns it.
 */
export class CollectionsNotReceivedError extends WeftError {
  override readonly name: string = 'CollectionsNotReceivedError'
  static override readonly code: string = 'ERR_COLLECTIONS_NOT_RECEIVED'
  constructor(message = 'the collection definitions of the joined DB did not arrive in time', options?: { cause?: unknown }) { super(message, options) }
}

/** An error from the worker whose class the tab does not have: same name, message and code. */
export class RemoteWorkerError extends WeftError {
  override readonly name: string = 'RemoteWorkerError'
  static override readonly code: string = 'ERR_REMOTE'
}

const KNOWN: Record<string, new (message?: string) => WeftError> = {
  AbortError, CallTimeoutError, WorkerGoneError, WorkerStartError, ClientClosedError, UnknownMethodError,
  InvalidTokenError, TokenExpiredError, ChallengeFailedError, InvalidInviteError, CollectionsNotReceivedError
}

/** The wire form of any thrown value (with up to 4 levels of causes). */
export function toWireError(err: unknown, depth = 0): WireError {
  if (err != null && typeof err === 'object') {
    const e = err as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown; cause?: unknown }
    const out: WireError = {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message: typeof e.message === 'string' ? e.message : String(err)
    }
    if (typeof e.code === 'string') out.code = e.code
    if (typeof e.stack === 'string') out.stack = e.stack
    if (e.cause != null && depth < 4) out.cause = toWireError(e.cause, depth + 1)
    return out
  }
  return { name: 'Error', message: String(err) }
}

/** Rebuild an error that crossed the port. */
export function fromWireError(wire: WireError): Error {
  const Known = KNOWN[wire.name]
  const err: Error & { code?: string } = Known != null ? new Known(wire.message) : new RemoteWorkerError(wire.message)
  err.name = wire.name
  if (wire.code != null) err.code = wire.code
  if (wire.stack != null) err.stack = `${wire.name}: ${wire.message}\n    --- in the worker ---\n${wire.stack}`
  if (wire.cause != null) Object.defineProperty(err, 'cause', { value: fromWireError(wire.cause), configurable: true, writable: true })
  return err
}

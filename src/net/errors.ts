/**
 * Errors of the net layer. Each is a named class with a stable code; `RemoteError` carries the
 * code a peer answered with.
 */
import { WeftError } from '../core/errors.js'
import type { ErrorCode } from './messages.js'

/** A frame from a peer is not a valid protocol message. */
export class InvalidMessageError extends WeftError {
  override readonly name: string = 'InvalidMessageError'
  static override readonly code: string = 'ERR_INVALID_MESSAGE'
  constructor(message = 'invalid protocol message', options?: { cause?: unknown }) { super(message, options) }
}

/** The peer could not prove knowledge of the thread's service key (or we could not). */
export class UnauthorizedError extends WeftError {
  override readonly name: string = 'UnauthorizedError'
  static override readonly code: string = 'ERR_UNAUTHORIZED'
  constructor(message = 'the peer did not prove knowledge of the thread key', options?: { cause?: unknown }) { super(message, options) }
}

/** A peer answered a request with an error. */
export class RemoteError extends WeftError {
  override readonly name: string = 'RemoteError'
  static override readonly code: string = 'ERR_REMOTE'
  readonly remoteCode: string
  constructor(remoteCode: string, message = 'the peer refused the request', options?: { cause?: unknown }) {
    super(`${remoteCode}: ${message}`, options)
    this.remoteCode = remoteCode
  }
}

/** The thread is not known here. */
export class ThreadUnknownError extends WeftError {
  override readonly name: string = 'ThreadUnknownError'
  static override readonly code: string = 'ERR_THREAD_NOT_FOUND'
  constructor(message = 'thread not found', options?: { cause?: unknown }) { super(message, options) }
}

/** A thread with this ID exists already. */
export class ThreadAlreadyExistsError extends WeftError {
  override readonly name: string = 'ThreadAlreadyExistsError'
  static override readonly code: string = 'ERR_THREAD_EXISTS'
  constructor(message = 'thread already exists', options?: { cause?: unknown }) { super(message, options) }
}

/** The log is not known in this thread. */
export class LogUnknownError extends WeftError {
  override readonly name: string = 'LogUnknownError'
  static override readonly code: string = 'ERR_LOG_NOT_FOUND'
  constructor(message = 'log not found', options?: { cause?: unknown }) { super(message, options) }
}

/** A thread address could not be parsed (`<multiaddr>/p2p/<peer>/thread/<threadID>`). */
export class InvalidAddressError extends WeftError {
  override readonly name: string = 'InvalidAddressError'
  static override readonly code: string = 'ERR_INVALID_ADDRESS'
  constructor(message = 'invalid thread address', options?: { cause?: unknown }) { super(message, options) }
}

/** Writing needs a key we do not hold (read key or log private key). */
export class ReadOnlyThreadError extends WeftError {
  override readonly name: string = 'ReadOnlyThreadError'
  static override readonly code: string = 'ERR_READ_ONLY_THREAD'
  constructor(message = 'this peer cannot write to the thread', options?: { cause?: unknown }) { super(message, options) }
}

/** The peer did not answer in time. */
export class TimeoutError extends WeftError {
  override readonly name: string = 'TimeoutError'
  static override readonly code: string = 'ERR_TIMEOUT'
  constructor(message = 'the peer did not answer in time', options?: { cause?: unknown }) { super(message, options) }
}

/** The component is stopped. */
export class NotStartedError extends WeftError {
  override readonly name: string = 'NotStartedError'
  static override readonly code: string = 'ERR_NOT_STARTED'
  constructor(message = 'the net is not started', options?: { cause?: unknown }) { super(message, options) }
}

/** A record does not follow our head: the records between are missing. */
export class GapError extends WeftError {
  override readonly name: string = 'GapError'
  static override readonly code: string = 'ERR_GAP'
  constructor(message = 'records are missing before this one', options?: { cause?: unknown }) { super(message, options) }
}

/**
 * The session to a peer closed (reset, end of stream, the peer went away) before our request
 * was answered. A transport failure: it never counts against the peer, and the next request
 * opens a new session.
 */
export class SessionClosedError extends WeftError {
  override readonly name: string = 'SessionClosedError'
  static override readonly code: string = 'ERR_SESSION_CLOSED'
  constructor(message = 'the session to the peer closed before the answer', options?: { cause?: unknown }) { super(message, options) }
}

/** We could not open a session to the peer: no address works, the dial failed or timed out. */
export class PeerUnreachableError extends WeftError {
  override readonly name: string = 'PeerUnreachableError'
  static override readonly code: string = 'ERR_PEER_UNREACHABLE'
  constructor(message = 'the peer could not be reached', options?: { cause?: unknown }) { super(message, options) }
}

/** We refuse to talk to a peer while it is banned for proven abuse. */
export class PeerBannedError extends WeftError {
  override readonly name: string = 'PeerBannedError'
  static override readonly code: string = 'ERR_PEER_BANNED'
  constructor(message = 'the peer is banned for a while after sending forged or malformed data', options?: { cause?: unknown }) { super(message, options) }
}

/**
 * `addReplicator` could not confirm that the replicator holds everything we had when it was
 * called. `held` and `expected` count records over the logs we had then.
 */
export class ReplicationIncompleteError extends WeftError {
  override readonly name: string = 'ReplicationIncompleteError'
  static override readonly code: string = 'ERR_REPLICATION_INCOMPLETE'
  readonly held: number
  readonly expected: number
  constructor(held: number, expected: number, message?: string, options?: { cause?: unknown }) {
    super(message ?? `the replicator holds ${held} of ${expected} records`, options)
    this.held = held
    this.expected = expected
  }
}

/**
 * A readable one-line description of anything thrown, for messages and logs: `Name: message` for
 * errors (never `[object Event]`), the event type for DOM events, JSON for plain values.
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const msg = err.message !== '' ? err.message : (err.cause != null ? describeError(err.cause) : 'no message')
    return `${err.name}: ${msg}`
  }
  if (typeof Event !== 'undefined' && err instanceof Event) return `${err.type} event${err.target != null ? ` on ${err.target.constructor.name}` : ''}`
  if (err != null && typeof err === 'object') {
    const o = err as { name?: unknown; message?: unknown; type?: unknown }
    if (typeof o.message === 'string') return `${typeof o.name === 'string' ? o.name : 'Error'}: ${o.message}`
    if (typeof o.type === 'string') return `${o.type} event`
    try { return JSON.stringify(err).slice(0, 200) } catch { return Object.prototype.toString.call(err) }
  }
  return String(err)
}

/**
 * A request refused with a wire error code. Thrown by the protocol handler and turned into an
 * `error` frame by the session; it never reaches callers on this side.
 */
export class RequestRefusedError extends WeftError {
  override readonly name: string = 'RequestRefusedError'
  static override readonly code: string = 'ERR_REQUEST_REFUSED'
  readonly wireCode: ErrorCode
  constructor(wireCode: ErrorCode, message = 'refused', options?: { cause?: unknown }) {
    super(message, options)
    this.wireCode = wireCode
  }
}

/**
 * A record was refused. `proof` is true when the failure proves the sender sent forged or corrupt
 * data (its envelope — CIDs, service-key layer, signature — does not verify); false when the
 * record is valid as sent but cannot be taken (it forks the log, or its event does not decrypt).
 * `appended` counts the records before it that were taken.
 */
export class RecordRejectedError extends WeftError {
  override readonly name: string = 'RecordRejectedError'
  static override readonly code: string = 'ERR_RECORD_REJECTED'
  readonly proof: boolean
  appended = 0
  constructor(proof: boolean, message = 'the record was refused', options?: { cause?: unknown }) {
    super(message, options)
    this.proof = proof
  }
}

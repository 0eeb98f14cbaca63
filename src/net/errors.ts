/**
 * Errors of the net layer. Each is a named class with a stable code; `RemoteError` carries the
 * code a peer answered with.
 */
import { WeftError } from '../core/errors.js'

/** A frame from a peer is not a valid protocol message. */
export class InvalidMessageError extends WeftError {
  static override readonly code: string = 'ERR_INVALID_MESSAGE'
  constructor(message = 'invalid protocol message', options?: { cause?: unknown }) { super(message, options) }
}

/** The peer could not prove knowledge of the thread's service key (or we could not). */
export class UnauthorizedError extends WeftError {
  static override readonly code: string = 'ERR_UNAUTHORIZED'
  constructor(message = 'the peer did not prove knowledge of the thread key', options?: { cause?: unknown }) { super(message, options) }
}

/** A peer answered a request with an error. */
export class RemoteError extends WeftError {
  static override readonly code: string = 'ERR_REMOTE'
  readonly remoteCode: string
  constructor(remoteCode: string, message = 'the peer refused the request', options?: { cause?: unknown }) {
    super(`${remoteCode}: ${message}`, options)
    this.remoteCode = remoteCode
  }
}

/** The thread is not known here. */
export class ThreadUnknownError extends WeftError {
  static override readonly code: string = 'ERR_THREAD_NOT_FOUND'
  constructor(message = 'thread not found', options?: { cause?: unknown }) { super(message, options) }
}

/** A thread with this ID exists already. */
export class ThreadAlreadyExistsError extends WeftError {
  static override readonly code: string = 'ERR_THREAD_EXISTS'
  constructor(message = 'thread already exists', options?: { cause?: unknown }) { super(message, options) }
}

/** The log is not known in this thread. */
export class LogUnknownError extends WeftError {
  static override readonly code: string = 'ERR_LOG_NOT_FOUND'
  constructor(message = 'log not found', options?: { cause?: unknown }) { super(message, options) }
}

/** A thread address could not be parsed (`<multiaddr>/p2p/<peer>/thread/<threadID>`). */
export class InvalidAddressError extends WeftError {
  static override readonly code: string = 'ERR_INVALID_ADDRESS'
  constructor(message = 'invalid thread address', options?: { cause?: unknown }) { super(message, options) }
}

/** Writing needs a key we do not hold (read key or log private key). */
export class ReadOnlyThreadError extends WeftError {
  static override readonly code: string = 'ERR_READ_ONLY_THREAD'
  constructor(message = 'this peer cannot write to the thread', options?: { cause?: unknown }) { super(message, options) }
}

/** The peer did not answer in time. */
export class TimeoutError extends WeftError {
  static override readonly code: string = 'ERR_TIMEOUT'
  constructor(message = 'the peer did not answer in time', options?: { cause?: unknown }) { super(message, options) }
}

/** The component is stopped. */
export class NotStartedError extends WeftError {
  static override readonly code: string = 'ERR_NOT_STARTED'
  constructor(message = 'the net is not started', options?: { cause?: unknown }) { super(message, options) }
}

/** A record does not follow our head: the records between are missing. */
export class GapError extends WeftError {
  static override readonly code: string = 'ERR_GAP'
  constructor(message = 'records are missing before this one', options?: { cause?: unknown }) { super(message, options) }
}

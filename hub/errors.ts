/**
 * Errors of the hub daemon. Like every Weft error they extend {@link WeftError}: a stable `name`
 * and `code`, the cause kept. hub/status.ts turns these (and every other layer's errors) into
 * gRPC status codes.
 */
import { WeftError } from '../src/core/errors.js'

type Options = { cause?: unknown }

/** One or more environment variables hold values the hub cannot use. Exit code 2. */
export class HubConfigError extends WeftError {
  override readonly name: string = 'HubConfigError'
  static override readonly code: string = 'ERR_HUB_CONFIG'
  /** One line per problem, each starting with the variable's name. */
  readonly problems: string[]

  constructor(problems: string[] = [], options?: Options) {
    super(problems.length > 0 ? `invalid hub configuration:\n  ${problems.join('\n  ')}` : 'invalid hub configuration', options)
    this.problems = problems
  }
}

/** A request is malformed: a required field is missing, or bytes do not decode (JSON, IDs, keys). gRPC `InvalidArgument`. */
export class InvalidRequestError extends WeftError {
  override readonly name: string = 'InvalidRequestError'
  static override readonly code: string = 'ERR_HUB_INVALID_REQUEST'
  constructor(message = 'invalid request', options?: Options) { super(message, options) }
}

/** A WebSocket frame or header block of the grpc-websockets transport is malformed. gRPC `InvalidArgument`. */
export class MalformedFrameError extends WeftError {
  override readonly name: string = 'MalformedFrameError'
  static override readonly code: string = 'ERR_HUB_MALFORMED_FRAME'
  constructor(message = 'malformed grpc-websockets frame', options?: Options) { super(message, options) }
}

/** A message or header block is larger than the hub accepts. gRPC `ResourceExhausted`. */
export class MessageTooLargeError extends WeftError {
  override readonly name: string = 'MessageTooLargeError'
  static override readonly code: string = 'ERR_HUB_MESSAGE_TOO_LARGE'
  constructor(message = 'message is larger than allowed', options?: Options) { super(message, options) }
}

/** A call carries no token where one is required, or a token this hub did not issue. gRPC `Unauthenticated`. */
export class UnauthenticatedError extends WeftError {
  override readonly name: string = 'UnauthenticatedError'
  static override readonly code: string = 'ERR_HUB_UNAUTHENTICATED'
  constructor(message = 'unauthenticated', options?: Options) { super(message, options) }
}

/** The client left a transaction, a token challenge or a connection silent past the idle timeout. gRPC `DeadlineExceeded`. */
export class IdleTimeoutError extends WeftError {
  override readonly name: string = 'IdleTimeoutError'
  static override readonly code: string = 'ERR_HUB_IDLE_TIMEOUT'
  constructor(message = 'the client was idle for too long', options?: Options) { super(message, options) }
}

/** A thread cannot be deleted through the Net API while a DB lives on it. gRPC `FailedPrecondition`. */
export class ThreadInUseError extends WeftError {
  override readonly name: string = 'ThreadInUseError'
  static override readonly code: string = 'ERR_HUB_THREAD_IN_USE'
  constructor(message = 'thread is in use', options?: Options) { super(message, options) }
}

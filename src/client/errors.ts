/**
 * Errors of the client layer: those of the tab⇄worker contract (src/contract/errors.ts), which the
 * worker throws too, rebuilt in the tab by name.
 */
export {
  AbortError, CallTimeoutError, WorkerGoneError, WorkerStartError, ClientClosedError, UnknownMethodError, InvalidTokenError,
  TokenExpiredError, ChallengeFailedError, InvalidInviteError, CollectionsNotReceivedError, RemoteWorkerError, toWireError, fromWireError
} from '../contract/index.js'

/**
 * The contract between a tab and the worker: the messages of the port (protocol.ts), the methods
 * and streams of the worker with their argument and answer types (methods.ts), and the errors
 * that cross it (errors.ts). Both sides import it; neither imports the other.
 */
export type {
  PeerConfig, WireError, FilterFailureWire, Envelope, Reported, FilterErrorNote, AttachInfo, WorkerApi, SubMessage, LogMessage,
  RpcMessage, RtcEnvelope, LinkMessage, ClientRecord, ClientLogInfo, ClientThreadInfo, ConnectionKind, SyncError, PeerStatus,
  Connectivity, ClientSyncStatus, PeerInfo, TokenClaims, TxnOpName, TxnOp, TxnBegin, TxnBatch
} from './protocol.js'
export { SUB_WINDOW, TOKEN_CHALLENGE_PREFIX } from './protocol.js'
export type {
  TokenArg, ReadArg, ReadAnswer, NewDBArg, JoinArg, ListenArg, ObserveArg, DBMethods, DBStreams, PeerMethods, PeerStreams, Prefixed,
  WorkerMethods, WorkerStreams, ArgsOf, ResultOf, Untrusted
} from './methods.js'
export {
  AbortError, CallTimeoutError, WorkerGoneError, WorkerStartError, ClientClosedError, UnknownMethodError, InvalidTokenError,
  TokenExpiredError, ChallengeFailedError, InvalidInviteError, CollectionsNotReceivedError, RemoteWorkerError, toWireError, fromWireError
} from './errors.js'

/** The port's messages, as the client's modules name them: src/contract/protocol.ts. */
export type {
  PeerConfig, WireError, FilterFailureWire, Envelope, Reported, FilterErrorNote, AttachInfo, WorkerApi, SubMessage, LogMessage,
  RpcMessage, RtcEnvelope, LinkMessage, ClientRecord, ClientLogInfo, ClientThreadInfo, ConnectionKind, SyncError, PeerStatus,
  Connectivity, ClientSyncStatus, PeerInfo, TokenClaims, TxnOpName, TxnOp, TxnBegin, TxnBatch
} from '../contract/index.js'
export { SUB_WINDOW, TOKEN_CHALLENGE_PREFIX } from '../contract/index.js'

/**
 * The Weft client SDK: `connect()` finds or starts the browser peer (a SharedWorker shared by the
 * origin's tabs, or a dedicated Worker run by one elected tab) and returns a typed client over
 * Comlink. Everything that crosses the port is structured-cloneable: IDs and CIDs are strings.
 */
export { connect } from './connect.js'
export type {
  ConnectOptions, WeftClient, NetClient, DBSeam, TokenSigner, CreateThreadOptions, AddThreadOptions,
  SubscribeOptions, CallOptions, Subscription
} from './types.js'
export type {
  ClientRecord, ClientThreadInfo, ClientLogInfo, ClientSyncStatus, PeerStatus, ConnectionKind, Connectivity, SyncError, PeerInfo,
  TokenClaims, LogMessage
} from './protocol.js'
export type {
  DBClient, ClientDatabase, ClientCollection, ClientReadTransaction, ClientWriteTransaction, ClientDBInfo, ClientDBListEntry,
  ClientNewDBOptions, ClientJoinOptions, ClientListenOptions, ClientObserveOptions, DBCallOptions, TxnOptions, NewInstance, TypedChange,
  CollectionEvent,
  CollectionConfig, CollectionInfo, DBInfo, IndexConfig, InstanceID, Instance, JSONObject, JSONValue, JSONSchema, ListenEvent,
  ListenFilter, ListenActionType, InstanceChange, Rejection, QueryJSON, CriterionJSON, SortJSON, QueryValue, QueryExplain,
  OperationCode, OperationName, Governance, FilterFailure
} from './db-types.js'
/** The fluent query builder (`where('name').eq('Alice')`): plain data, it crosses the port as JSON. */
export { where, Where, Query, Criterion } from '../db/builder.js'
export { Operation } from '../db/types.js'
export { toInvite, fromInvite, MAX_INVITE_LENGTH } from './invite.js'
export type { Invite, InviteSource } from './invite.js'
export {
  AbortError, CallTimeoutError, WorkerGoneError, WorkerStartError, ClientClosedError, UnknownMethodError,
  InvalidTokenError, TokenExpiredError, ChallengeFailedError, InvalidInviteError, RemoteWorkerError, CollectionsNotReceivedError
} from './errors.js'
export { JOIN_TIMEOUT_MS } from './join.js'

/**
 * The thread network (`net` layer): threads of signed, encrypted logs exchanged between peers
 * over `/weft/net/2.0.0` sessions. Protocol: docs/PROTOCOL.md.
 */
export { createNet } from './net.js'
export type { NetComponents } from './net.js'
export type { NetInit } from './options.js'
export type {
  Net, NetRecord, NetStats, ThreadInfo, LogInfo, SyncStatus, PeerSyncState, SyncProgress,
  CreateThreadOptions, AddThreadOptions, SubscribeOptions, ProgressOptions, SignalOptions,
  AddLogOptions, CreateRecordOptions, Fork, ForkNotice
} from './types.js'
export { forkSource, checkForkProof } from './forks.js'
export type { CheckedFork } from './forks.js'
export { addrsPayload } from './log-addrs.js'
export type { Transport, TransportEvents, Channel, ChannelHandlers, ConnectionFacts, Via } from './transport.js'
export { libp2pTransport } from './libp2p-transport.js'
export type { Libp2pTransportInit } from './libp2p-transport.js'
export { systemTimers } from './timers.js'
export type { Timers, TimerHandle } from './timers.js'
export { parseThreadAddress, formatThreadAddress, shareableAddrs } from './address.js'
export type { ThreadAddress } from './address.js'
export { PROTOCOL, MAX_FRAME_BYTES } from './messages.js'
export { keyID } from './auth.js'
export {
  InvalidMessageError, UnauthorizedError, RemoteError, ThreadUnknownError, ThreadAlreadyExistsError,
  LogUnknownError, InvalidAddressError, ReadOnlyThreadError, TimeoutError, NotStartedError, GapError,
  SessionClosedError, PeerUnreachableError, PeerBannedError, ReplicationIncompleteError, RecordRejectedError
} from './errors.js'
export { BusyError } from './limiter.js'
export { LimitExceededError, LogFrozenError } from '../store/index.js'
export { QuotaExceededError, AdmissionRefusedError } from './admission.js'
export type { Admission, AdmissionRequest } from './admission.js'

/**
 * The thread network (`net` layer): threads of signed, encrypted logs exchanged between peers
 * over `/weft/net/1.0.0`. Protocol: docs/PROTOCOL.md.
 */
export { createNet } from './net.js'
export type { NetComponents } from './net.js'
export type { NetInit } from './context.js'
export type {
  Net, NetRecord, NetStats, ThreadInfo, LogInfo, SyncStatus, PeerSyncState, SyncProgress,
  CreateThreadOptions, AddThreadOptions, SubscribeOptions, ProgressOptions, SignalOptions
} from './types.js'
export { parseThreadAddress, formatThreadAddress, shareableAddrs } from './address.js'
export type { ThreadAddress } from './address.js'
export { PROTOCOL, MAX_FRAME_BYTES } from './messages.js'
export {
  InvalidMessageError, UnauthorizedError, RemoteError, ThreadUnknownError, ThreadAlreadyExistsError,
  LogUnknownError, InvalidAddressError, ReadOnlyThreadError, TimeoutError, NotStartedError, GapError
} from './errors.js'
export { BusyError } from './limiter.js'
export { QuotaExceededError, AdmissionRefusedError } from './admission.js'
export type { Admission, AdmissionRequest } from './admission.js'

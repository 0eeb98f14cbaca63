/**
 * The state the parts of the net layer share: components, the thread cache (keys, our own log),
 * the per-log write lock, the record broadcast and the sync bookkeeping.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Broadcast } from '../core/channel.js'
import type { Clock } from '../core/hlc.js'
import type { Logger } from '../core/logger.js'
import type { PrivateKey, PublicKey } from '../core/identity.js'
import type { ThreadKey } from '../core/thread-key.js'
import type { LogID, ThreadID } from '../core/types.js'
import type { LogStore } from '../store/logstore.js'
import type { Admission } from './admission.js'
import type { KeyedMutex, Limiter } from './limiter.js'
import type { NetRecord, NetStats, SyncProgress } from './types.js'

export interface NetInit {
  /** Exchange heads with connected thread peers this often; 0 turns the interval off. @default 10000 */
  syncIntervalMs?: number
  /** Deadline of one request to a peer. @default 10000 */
  requestTimeoutMs?: number
  /** Deadline for a peer to send its request or take our answer on one stream. @default 10000 */
  streamTimeoutMs?: number
  /** Records asked for per `getRecords` request while catching up. @default 1000 */
  pullBatchSize?: number
  /** Records verified and appended together while catching up. @default 250 */
  ingestBatchSize?: number
  /** Accept threads pushed to us with their service key (the replicator role). @default false */
  replicator?: boolean
  /** Include loopback and private addresses in addresses given out for joining. @default false */
  allowPrivateAddrs?: boolean
  /** Protocol violations tolerated from one peer before it is disconnected. @default 3 */
  maxStrikes?: number
  /** Concurrent sync requests in total / per peer. @default 16 / 4 */
  maxConcurrent?: number
  maxConcurrentPerPeer?: number
  /** Inbound streams of the protocol per connection. @default 32 */
  maxInboundStreams?: number
  /** Prefix for this peer's log lines (multi-peer tests). */
  logPrefix?: string
  /**
   * Policy asked before adopting a thread a peer hands over and before storing records from a
   * peer (a public relay's quotas and allow-lists). @default admit everything
   */
  admission?: Admission
}

export interface ThreadState {
  id: ThreadID
  idBytes: Uint8Array
  key: ThreadKey
  /** Our own log in the thread, when we hold its private key. */
  own?: { id: LogID; key: PrivateKey }
  /** Public keys of the thread's logs, by log ID. */
  logKeys: Map<LogID, PublicKey>
}


export interface NetContext {
  libp2p: Libp2p
  store: LogStore
  self: PeerId
  selfBytes: Uint8Array
  clock: Clock
  log: Logger
  init: Required<Omit<NetInit, 'logPrefix' | 'admission'>>
  admission: Admission
  /** Per-log serialisation of appends (key: `${thread}/${log}`). */
  logLock: KeyedMutex
  /** Bounded concurrency of outgoing sync work, keyed by peer. */
  limiter: Limiter
  records: Broadcast<NetRecord>
  stats: NetStats
  /** Records created here that no peer is known to hold yet, per thread: CID → counter in our log. */
  pendingPush: Map<ThreadID, Map<string, number>>
  /** A peer holds our log up to `counter`: forget pending pushes at or below it. */
  delivered(thread: ThreadID, log: LogID, counter: number): void
  catchUp: Map<ThreadID, SyncProgress>
  /** Peers named by each thread's log addresses (without us); dropped whenever logs or addresses change. */
  peerCache: Map<ThreadID, string[]>
  lastError: Map<ThreadID, { message: string; name: string; at: number }>
  /** The component's lifetime; aborted by stop(). */
  shutdown: AbortSignal
  getThreadState(id: ThreadID): Promise<ThreadState>
  /** New records or logs arrived from `from`: let the other connected thread peers know. */
  gossip(thread: ThreadID, from?: PeerId): void
  /** A record pushed to us was new: pass it on to the other connected thread peers. */
  forward(thread: ThreadState, record: NetRecord, from: PeerId): void
  forgetThread(id: ThreadID): void
}

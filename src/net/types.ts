/**
 * The public shapes of the Net API.
 */
import type { CID } from 'multiformats/cid'
import type { HLC } from '../core/hlc.js'
import type { LogID, ThreadID } from '../core/types.js'
import type { RecordBlocks } from '../core/record.js'
import type { ThreadKey } from '../core/thread-key.js'
import type { AuthorCertificate } from '../core/index.js'
import type { BatchOp, KVStore, ReadLogOptions } from '../store/index.js'

export interface SignalOptions {
  signal?: AbortSignal
}

/** Catch-up progress: records fetched so far of those the peers said they have for us. */
export interface SyncProgress {
  thread: ThreadID
  peer: string
  fetched: number
  expected: number
}

export interface ProgressOptions extends SignalOptions {
  onProgress?: (progress: SyncProgress) => void
}

export interface LogInfo {
  id: LogID
  /** libp2p-marshalled public key of the log. */
  publicKey: Uint8Array
  /**
   * Multiaddrs (ending in /p2p/<peer>) of the peers that hold this log: the list its owner signed,
   * then addresses kept unsigned from older stores.
   */
  addrs: string[]
  head: { cid: CID | undefined; counter: number }
  /** True when this peer holds the log's private key (it is our log). */
  managed: boolean
  /** For a log of ours: the identity its records are written as (the log key's, or its certificate's author). */
  author?: string
  /** The log is frozen here: its owner signed two records at this counter, and none from there on is valid. */
  frozenAt?: number
}

/** A fork of a log: its owner signed two records at `counter`; no record of the log from there on is valid. */
export interface Fork {
  log: LogID
  counter: number
}

/** A fork found or learnt, as `forkNotices()` reports it. */
export interface ForkNotice extends Fork {
  thread: ThreadID
}

export interface ThreadInfo {
  id: ThreadID
  /** The thread key as a multibase string: service key, plus the read key when held. */
  key: string
  /** True when the read key is held (events can be read and written). */
  readable: boolean
  logs: LogInfo[]
  /** Thread addresses another peer can join through (`<multiaddr>/p2p/<us>/thread/<id>`). */
  addrs: string[]
}

/** A record as Net hands it out, local or remote. */
export interface NetRecord {
  thread: ThreadID
  log: LogID
  cid: CID
  counter: number
  blocks: RecordBlocks
  /** Where it came from: created here, or received from a peer. */
  origin: 'local' | 'remote'
  /** Only when the read key is held: the event's timestamp and body. */
  time?: HLC
  /** The identity that wrote the record (proven: the log key, or an author it carries a certificate of). */
  author?: string
  body?: unknown
  /**
   * Set (instead of `time` and `body`) when the record is valid — its service layer verified — but
   * its event could not be read: the header or body does not decrypt with the read key, or does
   * not decode. Such a record is part of its log (stored, served and passed on like any other).
   */
  error?: { name: string; message: string }
}

export interface CreateThreadOptions extends SignalOptions {
  /** Thread key as bytes, a multibase string or a key object; a new random key by default. */
  threadKey?: ThreadKey | string
  /** Our log's private key (libp2p-marshalled bytes); a new Ed25519 key by default. */
  logKey?: Uint8Array
}

export interface AddThreadOptions extends ProgressOptions {
  threadKey: ThreadKey | string
  logKey?: Uint8Array
}

export interface SubscribeOptions extends SignalOptions {
  /** Only records of these threads; all threads when absent. */
  threads?: ThreadID[]
}

export interface AddLogOptions extends SignalOptions {
  /** The log's private key (libp2p-marshalled Ed25519). */
  logKey: Uint8Array
  /**
   * The identity the log writes as, when it is not the log key: a marshalled public key or an
   * identity string. Needs `certificate`.
   */
  author?: Uint8Array | string
  /** The author's delegation of the log key (`createAuthorCertificate(author, logKey's public key)`). */
  certificate?: AuthorCertificate
}

export interface CreateRecordOptions extends SignalOptions {
  /** The log of ours to write to. @default our first log in the thread */
  log?: LogID
  /**
   * With the records sealed and before they are stored: writes of another store on the log
   * store's KV store (see {@link Net.writesTo}) to commit in the same atomic batch as the records,
   * so both are stored or neither is. Called once, under the log's lock; what it throws fails the
   * call with nothing written. Returning nothing writes the records alone.
   */
  with?: (records: readonly NetRecord[]) => readonly BatchOp[] | undefined
  /**
   * Runs the storing of the sealed records (`with` is called inside it): for a caller that must
   * hold something while its writes are stored, but not while records are sealed. Called once,
   * under the log's lock; it must call `store` once and answer what it answers.
   * @default runs `store` as it is
   */
  storing?: <T>(store: () => Promise<T>) => Promise<T>
  /**
   * Per body, the wall time (ms) its record should carry — the time the caller checked it at — when
   * the clock allows (not before a time already seen, not ahead of the physical clock); else the
   * record is stamped now.
   */
  at?: ReadonlyArray<number | undefined>
}

export interface Net {
  readonly peerId: string
  createThread(id: ThreadID, options?: CreateThreadOptions): Promise<ThreadInfo>
  addThread(address: string, options: AddThreadOptions): Promise<ThreadInfo>
  getThread(id: ThreadID, options?: SignalOptions): Promise<ThreadInfo>
  listThreads(options?: SignalOptions): Promise<ThreadID[]>
  pullThread(id: ThreadID, options?: ProgressOptions): Promise<void>
  deleteThread(id: ThreadID, options?: SignalOptions): Promise<void>
  /**
   * Hand the thread to a replicator (service key only) and resolve with its peer ID once it holds
   * every record we held when called. A refused hand-over rejects with `RemoteError`
   * (`UNAUTHORIZED`, `QUOTA_EXCEEDED`); a replica that stops growing with `ReplicationIncompleteError`.
   */
  addReplicator(id: ThreadID, peerAddress: string, options?: SignalOptions): Promise<string>
  /**
   * Add a log of ours to a thread, keyed with `logKey` and, with `author` and `certificate`,
   * writing as that identity. Resolves with the log (as it was when the key is ours already).
   * `UnprovenAuthorError` for an author without a valid certificate, `LimitExceededError` past
   * 4,096 logs in the thread, `LogExistsError` for a log of someone else.
   */
  addLog(id: ThreadID, options: AddLogOptions): Promise<LogInfo>
  /**
   * Append a record to a log of ours (`options.log`, our first log by default): durable when this
   * resolves. `LogFrozenError` when that log is frozen at a fork.
   */
  createRecord(id: ThreadID, body: unknown, options?: CreateRecordOptions): Promise<NetRecord>
  /**
   * {@link Net.createRecord} for several bodies: consecutive records of our log, appended to the
   * log store in one atomic batch (all of them or none), then published and pushed in order.
   */
  createRecords(id: ThreadID, bodies: readonly unknown[], options?: CreateRecordOptions): Promise<NetRecord[]>
  /** Whether records are stored in `kv` (the very same store object): `with` writes of a store on it are atomic with them. */
  writesTo(kv: KVStore): boolean
  addRecord(id: ThreadID, logId: LogID, blocks: RecordBlocks, options?: SignalOptions): Promise<NetRecord>
  getRecord(id: ThreadID, cid: CID, options?: SignalOptions): Promise<NetRecord>
  /**
   * The records of one of the thread's logs that this peer holds, oldest first, after
   * `options.after` (opened: decrypted without verifying their signatures again, since only
   * records that verified are stored).
   */
  readLog(id: ThreadID, logId: LogID, options?: ReadLogOptions): AsyncIterable<NetRecord>
  /**
   * Records as they are created or received. A subscription lives until its signal aborts (or it
   * falls too far behind: it then ends with `SubscriberOverflowError`); it keeps working across
   * `stop()` and `start()`.
   */
  subscribe(options?: SubscribeOptions): AsyncIterable<NetRecord>
  /** The forks of the thread's logs this peer holds proof of (docs/PROTOCOL.md, "Forks"). */
  forks(id: ThreadID, options?: SignalOptions): Promise<Fork[]>
  /**
   * Forks as they are found or learnt from peers. A subscription lives until its signal aborts
   * (or it falls too far behind: it then ends with `SubscriberOverflowError`; read `forks()`).
   */
  forkNotices(options?: SubscribeOptions): AsyncIterable<ForkNotice>
  /** What the sync engine is doing: pending pushes, connected thread peers, last error. */
  syncStatus(id: ThreadID): Promise<SyncStatus>
  /** Counters for monitoring (records and bytes stored and served, rejected requests). */
  stats(): NetStats
  /** Start (or restart) serving and syncing. Idempotent; a failed start undoes itself. */
  start(): Promise<void>
  /** Stop serving and syncing; appends in flight finish first. Idempotent. */
  stop(): Promise<void>
}

export interface NetStats {
  recordsCreated: number
  recordsReceived: number
  recordsServed: number
  bytesReceived: number
  bytesServed: number
  /** Heads exchanges answered (each is one cheap comparison). */
  headsAnswered: number
  /** Proven protocol violations by peers (undecodable or oversized frames, forged records). */
  rejected: number
  /** Strikes counted against peers (each proven violation is one). */
  strikes: number
  /** Bans given to peers after repeated proven violations. */
  bans: number
  /** Sessions refused before any frame was read (banned peer, throttled IP, too many sessions). */
  refusedSessions: number
  /** Times a remote IP was throttled for too many bad or unknown-thread requests. */
  throttledIps: number
  /** Sessions opened, by either side. */
  sessionsOpened: number
}

export interface PeerSyncState {
  peer: string
  connected: boolean
  /** How we reach the peer right now. */
  via: 'direct' | 'relayed' | 'none'
  /** Proven violations counted against the peer (they decay, one a minute). */
  strikes: number
  /** Until when the peer is banned, while it is. */
  bannedUntil?: number
  /** Syncs with the peer that failed in a row. */
  failures: number
  /** When we try the peer again, while backing off after a failure. */
  nextAttemptAt?: number
  /** How many records of our own log the peer is known to hold. */
  holds: number
  /** The last failure with this peer, as a named error. */
  lastError?: { message: string; name: string; at: number }
}

export interface SyncStatus {
  thread: ThreadID
  peers: PeerSyncState[]
  /** Records created here not yet acknowledged by any thread peer. */
  pendingPush: number
  catchUp?: SyncProgress
  lastError?: { message: string; name: string; at: number }
}

/**
 * Public types of the log store: threads, logs with their heads, records as the four blocks that
 * travel together (record, event, header, body).
 */
import type { CID } from 'multiformats/cid'
import type { Block, LogID, ThreadID } from '../core/types.js'
import type { AbortOptions, BatchOp, KVStore } from './kv.js'

/** A thread known to this host and its thread key (binary: service key, optionally read key). */
export interface ThreadInfo {
  id: ThreadID
  key: Uint8Array
}

/** A log head: its last record and the number of records in the log (`{ undefined, 0 }` when empty). */
export interface Head {
  cid: CID | undefined
  counter: number
}

/** An address list signed by the log's key, with its sequence number (the net layer checks it). */
export interface SignedAddrs {
  /** A newer list has a greater sequence number. */
  seq: number
  /** At most 32 multiaddrs. */
  addrs: string[]
  /** The log key's signature over the list. */
  sig: Uint8Array
}

/** A fork of a log: two records its owner signed at one position, which freeze the log there. */
export interface LogFork {
  /** The position of both records: the log holds no record at or past it. */
  counter: number
  /** The two record blocks (record nodes, encrypted with the service key). */
  records: [Uint8Array, Uint8Array]
}

/** An author's certificate for a log key (docs/FORMAT.md, "Author certificates"). */
export interface StoredAuthorCertificate {
  nonce: Uint8Array
  signature: Uint8Array
}

/** A log of a thread: its keys, known addresses and head. */
export interface LogInfo {
  id: LogID
  /** The log's public key bytes. */
  publicKey: Uint8Array
  /** The log's private key bytes, present only for logs this host writes. */
  privateKey?: Uint8Array
  /** For a further log this host writes: its place among them (absent: the first, 0). */
  own?: number
  /** The identity this host's log writes as, when it is not the log key (marshalled public key). */
  author?: Uint8Array
  /** The author's certificate for the log key, with `author`. */
  certificate?: StoredAuthorCertificate
  /**
   * Multiaddrs where the log can be fetched: those of its signed list, then the unsigned ones
   * (newest last), deduplicated.
   */
  addrs: string[]
  /** The newest address list signed by the log's key that this host holds. */
  signedAddrs?: SignedAddrs
  /** Where the log is frozen, with the proof. */
  fork?: LogFork
  head: Head
}

export interface AddLogInit {
  id: LogID
  publicKey: Uint8Array
  privateKey?: Uint8Array
  /** Unsigned addresses (the newest 32 are kept). */
  addrs?: string[]
  /** An address list signed by the log key (at most 32 addresses). */
  signedAddrs?: SignedAddrs
  /** Place among this host's logs in the thread (0, the default, for the first). */
  own?: number
  author?: Uint8Array
  certificate?: StoredAuthorCertificate
}

/** The four blocks of a record. */
export interface RecordBlocks {
  /** The encrypted record node; its CID is the record's CID. */
  readonly record: Block
  /** The plaintext event node. */
  readonly event: Block
  /** The encrypted header node. */
  readonly header: Block
  /** The encrypted body node. */
  readonly body: Block
}

/** A record to append to a log. */
export interface AppendInput {
  /** The record's CID (the CID of `blocks.record`). */
  cid: CID
  /** The previous record of the log: its current head, `undefined` for the first record. */
  prev?: CID | undefined
  /** The four blocks, by name or as `[record, event, header, body]`. */
  blocks: RecordBlocks | readonly [Block, Block, Block, Block]
}

/** A record read back from a log. */
export interface LogEntry {
  /** Position in the log, from 1. */
  counter: number
  cid: CID
  blocks: RecordBlocks
}

/** A record found by CID in a thread. */
export interface StoredRecord extends LogEntry {
  logId: LogID
}

/** Options of {@link LogStore.appendRecords}. */
export interface AppendOptions extends AbortOptions {
  /**
   * Writes of another store on the same KV store (see {@link LogStore.writesTo}), committed in the
   * same atomic batch as the records: all of them or none. A key in the log store's own key space
   * is refused (InvalidStoreInputError); nothing is written then.
   */
  with?: readonly BatchOp[]
}

export interface ReadLogOptions extends AbortOptions {
  /**
   * Start after this counter (0 reads from the first record).
   * @default 0
   */
  after?: number
  /**
   * Read at most this many records.
   * @default Infinity
   */
  limit?: number
}

export interface LogStoreInit {
  /**
   * Check that each block's bytes hash to its CID before storing it. Turn off only where the
   * caller has already verified the blocks.
   * @default true
   */
  verifyBlocks?: boolean
  /**
   * The sha2-256 function used to verify blocks. A Node composition root can pass a faster
   * one-shot hash, e.g. `(b) => crypto.hash('sha256', b, 'buffer')` from `node:crypto`.
   * @default multiformats' sha256 (node:crypto in Node, WebCrypto in browsers)
   */
  sha256?: (bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>
  /**
   * Records whose blocks are fetched together while reading a log.
   * @default 64
   */
  readPageSize?: number
  /**
   * Deletions per batch when deleting a thread.
   * @default 1024
   */
  deleteChunkSize?: number
}

/** Threads, logs, heads and blocks of one host, written against a {@link KVStore}. */
export interface LogStore {
  /** Add a thread. ThreadExistsError when it is already present. */
  addThread(id: ThreadID, init: { key: Uint8Array }, options?: AbortOptions): Promise<ThreadInfo>
  /** The thread, or ThreadNotFoundError. */
  getThread(id: ThreadID, options?: AbortOptions): Promise<ThreadInfo>
  hasThread(id: ThreadID, options?: AbortOptions): Promise<boolean>
  /** All threads, ordered by ID. */
  listThreads(options?: AbortOptions): Promise<ThreadInfo[]>
  /** Replace the thread key (e.g. once the read key is known). ThreadNotFoundError when absent. */
  setThreadKey(id: ThreadID, key: Uint8Array, options?: AbortOptions): Promise<void>
  /**
   * Remove the thread, its logs, its index entries and the blocks of its records, in chunks.
   * If interrupted, the thread is still present and the call can be repeated.
   */
  deleteThread(id: ThreadID, options?: AbortOptions): Promise<void>

  /**
   * Add a log to a thread (empty head). LogExistsError / ThreadNotFoundError; LimitExceededError
   * past 4,096 logs in the thread or 32 addresses in the signed list.
   */
  addLog(threadId: ThreadID, init: AddLogInit, options?: AbortOptions): Promise<LogInfo>
  /** The log, or LogNotFoundError / ThreadNotFoundError. */
  getLog(threadId: ThreadID, logId: LogID, options?: AbortOptions): Promise<LogInfo>
  /** The logs of a thread, ordered by ID. */
  listLogs(threadId: ThreadID, options?: AbortOptions): Promise<LogInfo[]>
  /**
   * Merge unsigned addresses into a log's (deduplicated; the newest 32 are kept); returns the
   * unsigned addresses now held.
   */
  addAddrs(threadId: ThreadID, logId: LogID, addrs: readonly string[], options?: AbortOptions): Promise<string[]>
  /**
   * Keep `signed` as the log's signed address list when its sequence number is greater than the
   * one held (or none is held); returns whether it was kept. The caller checks the signature.
   * LimitExceededError past 32 addresses.
   */
  setSignedAddrs(threadId: ThreadID, logId: LogID, signed: SignedAddrs, options?: AbortOptions): Promise<boolean>
  /**
   * Freeze a log at a fork: keep the proof, drop the records at and past `fork.counter` (the
   * head moves back to the record before it) and refuse them from then on (LogFrozenError). A log
   * frozen at an earlier counter stays so. Returns the fork the log is frozen at. The caller
   * checks the proof.
   */
  freezeLog(threadId: ThreadID, logId: LogID, fork: LogFork, options?: AbortOptions): Promise<LogFork>
  getHead(threadId: ThreadID, logId: LogID, options?: AbortOptions): Promise<Head>
  /** The head of every log of the thread, ordered by log ID. */
  getHeads(threadId: ThreadID, options?: AbortOptions): Promise<Array<{ id: LogID; head: Head }>>

  /** Store blocks by CID (verified). */
  putBlocks(blocks: readonly Block[], options?: AbortOptions): Promise<void>
  getBlock(cid: CID, options?: AbortOptions): Promise<Uint8Array | undefined>
  hasBlock(cid: CID, options?: AbortOptions): Promise<boolean>

  /**
   * Append one record: in one atomic batch, its blocks, its index entry and the new head.
   * HeadMismatchError when `prev` is not the current head, InvalidBlockError when a block does
   * not match its CID; nothing is written then. Returns the new head.
   */
  appendRecord(threadId: ThreadID, logId: LogID, record: AppendInput, options?: AbortOptions): Promise<Head>
  /**
   * Append records that chain from the current head, in one atomic batch. Returns the new head.
   * LimitExceededError for a block over its size (4 KiB; 1 MiB + 64 bytes for a body),
   * LogFrozenError for a record at or past the log's fork; nothing is written then.
   */
  appendRecords(threadId: ThreadID, logId: LogID, records: readonly AppendInput[], options?: AppendOptions): Promise<Head>
  /**
   * Whether this log store writes into `kv` (the very same store object), so that writes passed
   * as `with` to {@link LogStore.appendRecords} by a store on `kv` are atomic with the records.
   */
  writesTo(kv: KVStore): boolean
  /** The records of a log in order, streamed. LogNotFoundError when the log is absent. */
  readLog(threadId: ThreadID, logId: LogID, options?: ReadLogOptions): AsyncIterable<LogEntry>
  /** A record of the thread by its CID, or `undefined`. */
  getRecordBlocks(threadId: ThreadID, cid: CID, options?: AbortOptions): Promise<StoredRecord | undefined>
  /** Whether the thread holds the record. */
  hasRecord(threadId: ThreadID, cid: CID, options?: AbortOptions): Promise<boolean>
}

/**
 * What the DB needs from the thread network, as a narrow interface: the Net API's thread and
 * record calls, plus `records()` to read back what the log store holds (so a DB that was stopped
 * between a record and its application catches up on open), and — when the net detects forks —
 * the forks of a thread's logs. {@link dbNetFromNet} adapts a real `Net`, its `LogStore` and a
 * fork source; tests use an in-process fake.
 */
import type { LogID, ThreadID } from '../core/types.js'
import type { BatchOp, KVStore } from '../store/kv.js'
import type { LogStore } from '../store/logstore-types.js'
import type { Net, NetRecord, ThreadInfo } from '../net/types.js'
import type { DBRecord, Fork } from './engine.js'

export interface RecordsOptions {
  /** Per log, the counter to read after (0 or absent: from the first record). */
  after?: ReadonlyMap<LogID, number>
  /** Only these logs. */
  logs?: readonly LogID[]
  signal?: AbortSignal
}

/** The thread information the DB uses. */
export type DBThreadInfo = Pick<ThreadInfo, 'id' | 'key' | 'addrs' | 'readable'> & {
  logs: Array<{ id: LogID; publicKey: Uint8Array; managed: boolean; head: { counter: number }; author?: string }>
}

/** A fork notice for a thread: no record of `log` at or past `counter` may apply. */
export interface ForkNotice extends Fork {
  thread: ThreadID
}

/**
 * Where fork notices come from (the net layer's fork detection): the forks it holds proof of, and
 * a stream of new ones. The same proofs give the same notices on every peer.
 */
export interface ForkSource {
  /** Every fork of the thread's logs known so far. */
  forks(id: ThreadID, options?: { signal?: AbortSignal }): Promise<Fork[]>
  /** New forks as they are found (or learnt from peers). */
  subscribe(options: { threads: ThreadID[]; signal?: AbortSignal }): AsyncIterable<ForkNotice>
}

/** Options of {@link DBNet.createRecords}. */
export interface CreateRecordsOptions {
  /** That log of ours. @default our first log in the thread */
  log?: LogID
  /**
   * With the records sealed, before they are stored: the DB's writes to commit in the same
   * atomic batch (only when {@link DBNet.writesTo} says the stores are one). Nothing: the records
   * alone.
   */
  with?: (records: readonly DBRecord[]) => readonly BatchOp[] | undefined
  /**
   * Runs the storing of the sealed records, `with` inside it (the DB holds its state's gate only
   * meanwhile, not while records are sealed). It calls `store` once and answers what it answers.
   * @default runs `store` as it is
   */
  storing?: <T>(store: () => Promise<T>) => Promise<T>
  /** Per body, the wall time write validators saw for it: its record carries it when the clock allows. */
  at?: ReadonlyArray<number | undefined>
  signal?: AbortSignal
}

export interface DBNet {
  /**
   * Create a thread. `logKey` (libp2p-marshalled private key) keys our log in it; a net that
   * keys every log with its own identity may ignore it and say so through `writerKey()`.
   */
  createThread(id: ThreadID, options?: { threadKey?: string; logKey?: Uint8Array; signal?: AbortSignal }): Promise<DBThreadInfo>
  /**
   * Join a thread and pull it. `onProgress` (when the net reports progress) is called as the pull
   * goes on; its first call comes once the thread and our log in it exist, before any record.
   */
  addThread(address: string, options: { threadKey: string; signal?: AbortSignal; onProgress?: (progress: { thread: ThreadID }) => void }): Promise<DBThreadInfo>
  getThread(id: ThreadID, options?: { signal?: AbortSignal }): Promise<DBThreadInfo>
  deleteThread(id: ThreadID, options?: { signal?: AbortSignal }): Promise<void>
  /** Append a record with `body` to our log (`log`: that log of ours); it is durable when this resolves. */
  createRecord(id: ThreadID, body: unknown, options?: { log?: LogID; signal?: AbortSignal }): Promise<DBRecord>
  /**
   * Several consecutive records of our log (`log`: that log of ours), stored in one atomic batch
   * (all or none). Absent: the DB creates them one by one.
   */
  createRecords?(id: ThreadID, bodies: readonly unknown[], options?: CreateRecordsOptions): Promise<DBRecord[]>
  /**
   * Whether the net stores records in `kv` (the very same store object): then `with` writes of the
   * DB, on `kv`, are committed in the same atomic batch as the records. Absent: it does not.
   */
  writesTo?(kv: KVStore): boolean
  /** New records of the threads, local and remote, each log's in order. */
  subscribe(options: { threads: ThreadID[]; signal?: AbortSignal }): AsyncIterable<DBRecord>
  /** The records the log store holds, each log's in order. */
  records(id: ThreadID, options?: RecordsOptions): AsyncIterable<DBRecord>
  /**
   * The marshalled public key our records in a new thread are authored by, when the net fixes it
   * (a peer whose logs are all keyed with its user identity). Absent: the DB picks the log key.
   */
  writerKey?(): Promise<Uint8Array>
  /** Forks of the thread's logs known so far (absent: the net detects none). */
  forks?(id: ThreadID, options?: { signal?: AbortSignal }): Promise<Fork[]>
  /** New fork notices (absent: the net detects none). */
  forkNotices?(options: { threads: ThreadID[]; signal?: AbortSignal }): AsyncIterable<ForkNotice>
}

/**
 * The DB's view of a real Net: its own calls, `records()` read back from the net's log store
 * (`net.readLog`: opened without verifying signatures a second time), and the forks `forkSource`
 * reports (without one, no log is ever frozen). `_logStore` is the net's log store (no longer read
 * here directly; kept so callers need not change).
 */
export function dbNetFromNet(net: Net, _logStore: LogStore, forkSource?: ForkSource): DBNet {
  return {
    ...(forkSource !== undefined
      ? {
          forks: async (id: ThreadID, options?: { signal?: AbortSignal }) => await forkSource.forks(id, options),
          forkNotices: (options: { threads: ThreadID[]; signal?: AbortSignal }) => forkSource.subscribe(options)
        }
      : {}),
    createThread: async (id, options) => await net.createThread(id, options),
    addThread: async (address, options) => await net.addThread(address, options),
    getThread: async (id, options) => await net.getThread(id, options),
    deleteThread: async (id, options) => { await net.deleteThread(id, options) },
    createRecord: async (id, body, options) => await net.createRecord(id, body, options),
    createRecords: async (id, bodies, options) => await net.createRecords(id, bodies, options),
    writesTo: (kv) => net.writesTo(kv),
    subscribe: (options) => net.subscribe(options) as AsyncIterable<NetRecord>,
    async * records(id, options = {}) {
      const info = await net.getThread(id, options.signal === undefined ? {} : { signal: options.signal })
      for (const l of info.logs) {
        if (options.logs !== undefined && !options.logs.includes(l.id)) continue
        const after = options.after?.get(l.id) ?? 0
        if (l.head.counter <= after) continue
        yield * net.readLog(id, l.id, { after, ...(options.signal === undefined ? {} : { signal: options.signal }) }) as AsyncIterable<DBRecord>
      }
    }
  }
}

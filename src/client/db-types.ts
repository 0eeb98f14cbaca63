/**
 * The db API as a tab sees it: the in-process API of src/db (DB manager, Database, Collection,
 * transactions, listeners) with thread IDs as strings, every call taking `{ signal, timeoutMs }`
 * and an optional identity `token`, and listeners as {@link Subscription}s. The shapes that cross
 * the port are src/db's own (they are plain data); only types are imported from src/db, so the
 * tab bundle carries none of its code.
 */
import type { ReadTransaction, WriteTransaction } from '../db/txn.js'
import type { CollectionEvent, NewInstance } from '../db/typed.js'
import type {
  CollectionConfig, CollectionInfo, DBInfo, FilterFailure, Governance, IndexConfig, InstanceID, JSONObject, ListenEvent, ListenFilter,
  QueryExplain, QueryJSON, Rejection
} from '../db/types.js'
import type { CallOptions } from './rpc.js'
import type { Subscription } from './stream.js'

export type {
  CollectionConfig, CollectionInfo, DBInfo, IndexConfig, InstanceID, Instance, JSONObject, JSONValue, JSONSchema, ListenEvent,
  ListenFilter, ListenActionType, InstanceChange, Rejection, QueryJSON, CriterionJSON, SortJSON, QueryValue, QueryExplain,
  OperationCode, OperationName, Governance, FilterFailure
} from '../db/types.js'
export type { NewInstance, TypedChange, CollectionEvent } from '../db/typed.js'

/** Options of a db call. */
export interface DBCallOptions extends CallOptions {
  /**
   * A token from `getToken()`: its identity is the `reader` of read filters for this call (and
   * of the read filter applied to the base of a save). The peer's identity when absent.
   */
  token?: string
  /**
   * Told of each instance a read leaves out because the collection's read filter failed on it
   * (it threw, ran out of time or memory); the other instances are returned. Called in this tab,
   * before the read resolves.
   */
  onFilterError?: (failure: FilterFailure) => void
}

/** What another peer needs to join a DB, with its thread ID (so it can become an invite). */
export interface ClientDBInfo extends DBInfo {
  id: string
}

export interface ClientDBListEntry {
  id: string
  info: DBInfo
}

export interface ClientNewDBOptions extends CallOptions {
  /** A local label. @default 'unnamed' */
  name?: string
  /** Collections to create in the new DB (as events of its thread). */
  collections?: CollectionConfig[]
  /** Thread key (multibase); a new random key by default. */
  threadKey?: string
  /**
   * Without a thread ID, the DB is owned by this peer's identity (its ID commits to it), and an
   * `owner` other than that identity is an InvalidOwnerError. With a thread ID: the identity
   * that owns the DB (every member must be given the same), or none for an ungoverned DB.
   */
  owner?: string
}

export interface ClientJoinOptions extends CallOptions {
  /** A local label. @default the invite's name, else 'unnamed' */
  name?: string
  /**
   * Collections to create if the thread does not define them yet (when this peer may: in a
   * governed DB only an owner defines collections; a member gets them from the thread).
   */
  collections?: CollectionConfig[]
  /** The owner of a DB whose thread ID does not commit to one (as its creator was given). */
  owner?: string
  /**
   * Resolve only once the DB defines its collections, so that the first write after `join`
   * finds them: `true` waits for at least one collection, a list of names for those. `false`
   * resolves as soon as the thread is joined (its collections then arrive with the next sync,
   * and writes before that fail with CollectionNotFoundError). @default true
   */
  waitForCollections?: boolean | string[]
  /**
   * Deadline of the whole join, the wait for collections included (ms). When the DB is joined
   * but its collections have not arrived by then, the join rejects with
   * CollectionsNotReceivedError (the DB stays joined). @default 60000
   */
  timeoutMs?: number
}

/** Options of a transaction; its `onFilterError` is told of the failures of each of its reads. */
export interface TxnOptions extends DBCallOptions {
  /**
   * The worker discards the transaction (releasing the DB's lock) after this long without a
   * call; its later operations fail with TransactionDiscardedError. @default 30000
   */
  idleTimeoutMs?: number
}

export interface ClientListenOptions {
  signal?: AbortSignal
  /** A token from `getToken()`: its identity is the reader of read filters. */
  token?: string
  /** Events the worker keeps for a slow listener before it ends it with SubscriberOverflowError. @default 10000 */
  bufferSize?: number
  /** Told of each change not delivered because the read filter failed on its instance. */
  onFilterError?: (failure: FilterFailure) => void
}

/**
 * A read transaction, run in the worker: `start()` takes the DB's read lock (resolving to `end`),
 * every read sees one state, `end()` releases it. The same shape as src/db's.
 */
export type ClientReadTransaction = ReadTransaction

/**
 * A write transaction, run in the worker: it reads its own writes, a failed operation leaves it
 * as it was, and `end()` commits it as one event (durable when it resolves). Operations issued
 * without awaiting each other travel to the worker in one message. The same shape as src/db's.
 */
export type ClientWriteTransaction = WriteTransaction

/** Options of a live query (`observe`). */
export interface ClientObserveOptions {
  /** Stops the live query (its iteration ends normally). */
  signal?: AbortSignal
  /** A token from `getToken()`: its identity is the reader of read filters. */
  token?: string
}

/**
 * One collection's operations, its instances typed as `T`: `db.collection<Task>('Tasks')` (derive
 * `T` from the collection's JSON Schema with json-schema-to-ts's `FromSchema`, or write it). The
 * schema still checks every write in the worker.
 */
export interface ClientCollection<T extends object = JSONObject> {
  readonly name: string
  create(instances: Array<NewInstance<T>>, options?: DBCallOptions): Promise<InstanceID[]>
  save(instances: T[], options?: DBCallOptions): Promise<void>
  delete(ids: InstanceID[], options?: DBCallOptions): Promise<void>
  has(ids: InstanceID[], options?: DBCallOptions): Promise<boolean>
  find(query?: QueryJSON, options?: DBCallOptions): Promise<T[]>
  findByID(id: InstanceID, options?: DBCallOptions): Promise<T>
  verify(instances: T[], options?: DBCallOptions): Promise<void>
  explain(query?: QueryJSON, options?: DBCallOptions): Promise<QueryExplain>
  readTransaction(options?: TxnOptions): ClientReadTransaction
  writeTransaction(options?: TxnOptions): ClientWriteTransaction
  /** This collection's changes (and rejected events naming it). */
  listen(options?: ClientListenOptions): Subscription<CollectionEvent<T>>
  /**
   * A live query: the result set now, then a new one each time a change alters it (the worker
   * runs the query again only for changes that can). Stop it with `signal`, `close()` or by
   * leaving the `for await` loop.
   */
  observe(query?: QueryJSON, options?: ClientObserveOptions): Subscription<T[]>
}

/** One DB (a thread). A handle: it holds nothing in the tab. */
export interface ClientDatabase {
  readonly id: string
  newCollection(config: CollectionConfig, options?: CallOptions): Promise<void>
  updateCollection(config: CollectionConfig, options?: CallOptions): Promise<void>
  deleteCollection(name: string, options?: CallOptions): Promise<void>
  getCollectionInfo(name: string, options?: CallOptions): Promise<CollectionInfo>
  getCollectionIndexes(name: string, options?: CallOptions): Promise<IndexConfig[]>
  listCollections(options?: CallOptions): Promise<CollectionInfo[]>
  /** Who may change the DB: whether it is governed, its owners, its writer list. */
  getGovernance(options?: CallOptions): Promise<Governance>
  /**
   * Add and remove owners (owners only: NotAnOwnerError; the last owner cannot be removed:
   * LastOwnerError). Like every change, an event of the thread, applied alike on every peer.
   */
  updateOwners(change: { add?: string[]; remove?: string[] }, options?: CallOptions): Promise<void>
  /**
   * Set the writer list (owners only): only these identities and the owners may then write
   * instances (NotAWriterError). `null` lets every member write again.
   */
  setWriters(writers: string[] | null, options?: CallOptions): Promise<void>
  collection<T extends object = JSONObject>(name: string): ClientCollection<T>
  create(collection: string, instances: object[], options?: DBCallOptions): Promise<InstanceID[]>
  save(collection: string, instances: object[], options?: DBCallOptions): Promise<void>
  delete(collection: string, ids: InstanceID[], options?: DBCallOptions): Promise<void>
  has(collection: string, ids: InstanceID[], options?: DBCallOptions): Promise<boolean>
  find(collection: string, query?: QueryJSON, options?: DBCallOptions): Promise<JSONObject[]>
  findByID(collection: string, id: InstanceID, options?: DBCallOptions): Promise<JSONObject>
  verify(collection: string, instances: object[], options?: DBCallOptions): Promise<void>
  explain(collection: string, query?: QueryJSON, options?: DBCallOptions): Promise<QueryExplain>
  readTransaction(collection: string, options?: TxnOptions): ClientReadTransaction
  writeTransaction(collection: string, options?: TxnOptions): ClientWriteTransaction
  /** Changes (local and remote) and rejected events matching any filter (all without filters). */
  listen(filters?: ListenFilter[], options?: ClientListenOptions): Subscription<ListenEvent>
  /** A live query on a collection (see {@link ClientCollection.observe}). */
  observe<T extends object = JSONObject>(collection: string, query?: QueryJSON, options?: ClientObserveOptions): Subscription<T[]>
  /** Events of the thread this DB refused, oldest first. */
  conflicts(options?: CallOptions): Promise<Rejection[]>
  /** Apply every record the log store holds that the DB has not applied yet. */
  sync(options?: CallOptions): Promise<void>
  /** Hash of the replicated state (equal on peers that hold the same records). */
  stateHash(options?: CallOptions): Promise<string>
  /** What another peer needs to join. */
  info(options?: CallOptions): Promise<ClientDBInfo>
  /** `info()` as an invite string (see `toInvite`): a secret, share it as one. */
  invite(options?: CallOptions): Promise<string>
}

/** The db API of a client: the DB manager's calls; DBs as handles. */
export interface DBClient {
  /** Create a DB on a new thread (a random thread ID when none is given). */
  newDB(threadID?: string, options?: ClientNewDBOptions): Promise<ClientDatabase>
  /**
   * Join a DB from a thread address and its key; its collections come with the thread (this
   * call does not wait for them: `join` does).
   */
  newDBFromAddr(address: string, key: string, options?: Omit<ClientJoinOptions, 'waitForCollections'>): Promise<ClientDatabase>
  /**
   * Join a DB from an invite, trying its addresses in turn; a DB already joined is returned as
   * is. Resolves once the DB's collection definitions are here (see `waitForCollections`).
   */
  join(invite: string, options?: ClientJoinOptions): Promise<ClientDatabase>
  /**
   * A handle on a DB this peer holds (no call is made: its calls fail with DBNotFoundError if it
   * does not exist). `token` becomes the default token of the handle's calls.
   */
  getDB(threadID: string, options?: { token?: string }): ClientDatabase
  getDBInfo(threadID: string, options?: CallOptions): Promise<ClientDBInfo>
  /** An invite to the DB (its info as a compact `weft2.` string, see `toInvite`). */
  invite(threadID: string, options?: CallOptions): Promise<string>
  listDBs(options?: CallOptions): Promise<ClientDBListEntry[]>
  /** Delete the DB's thread and erase its data (on this peer). */
  deleteDB(threadID: string, options?: CallOptions): Promise<void>
  /** A raw `db.<method>` call (extensions, tests). */
  call<T = unknown>(method: string, args: unknown[], options?: CallOptions): Promise<T>
  /** A raw `db.<method>` stream. */
  stream<T = unknown>(method: string, args: unknown[], options?: { signal?: AbortSignal }): Subscription<T>
}

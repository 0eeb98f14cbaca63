/**
 * The methods and streams of the worker, once for both sides: the tab's caller takes a method's
 * name and its arguments as typed here and answers with its result type, and the worker's handler
 * tables must name exactly these methods and answer with these types. So tsc catches a call to a
 * method the worker lacks, a wrong argument, or a handler that answers something else.
 *
 * The worker still checks every argument at run time: a tab is not trusted (a handler receives
 * {@link Untrusted} arguments: as many as declared, each `unknown` until checked).
 *
 * Names: the worker's own methods (`attach`, `stream`, `peer.*`, `net.*`, `identity.*`) and those
 * of the worker modules, prefixed with the module's name (`db.*`, {@link DBMethods}).
 */
import type {
  CollectionConfig, CollectionInfo, DBInfo, DBListEntry, Governance, IndexConfig, InstanceID, JSONObject, ListenEvent, ListenFilter,
  QueryExplain, QueryJSON, Rejection
} from '../db/types.js'
import type {
  AttachInfo, ClientRecord, ClientSyncStatus, ClientThreadInfo, Envelope, FilterErrorNote, PeerConfig, PeerInfo, Reported, TokenClaims,
  TxnBatch
} from './protocol.js'

/** The token argument of a write: a token from `getToken()` names the caller's identity. */
export interface TokenArg { token?: string }
/** The options argument of a read: its token, and whether to answer with its read filter failures. */
export interface ReadArg extends TokenArg { reportFilterErrors?: true }
/** The answer of a read: `T`, or `{ result, filterErrors }` when the read asked for them. */
export type ReadAnswer<T> = T | Reported<T>

/** Options of `db.newDB`. */
export interface NewDBArg { name?: string; collections?: CollectionConfig[]; threadKey?: string; owner?: string }
/** Options of `db.newDBFromAddr`. */
export interface JoinArg { name?: string; collections?: CollectionConfig[]; owner?: string }
/** Options of `db.listen`. */
export interface ListenArg extends TokenArg { bufferSize?: number; reportFilterErrors?: true }
/** Options of `db.observe` (a live query). */
export type ObserveArg = TokenArg

/** The db module's methods (called as `db.<name>`). */
export interface DBMethods {
  newDB: (thread: string | null, options: NewDBArg) => string
  newDBFromAddr: (address: string, key: string, options: JoinArg) => string
  waitForCollections: (thread: string, names: string[] | null, options: { timeoutMs?: number }) => string[]
  getDBInfo: (thread: string) => DBInfo & { id: string }
  listDBs: () => DBListEntry[]
  deleteDB: (thread: string) => void
  newCollection: (thread: string, config: CollectionConfig) => void
  updateCollection: (thread: string, config: CollectionConfig) => void
  deleteCollection: (thread: string, name: string) => void
  getCollectionInfo: (thread: string, name: string) => CollectionInfo
  getCollectionIndexes: (thread: string, name: string) => IndexConfig[]
  listCollections: (thread: string) => CollectionInfo[]
  getGovernance: (thread: string) => Governance
  updateOwners: (thread: string, change: { add?: string[]; remove?: string[] }) => void
  setWriters: (thread: string, writers: string[] | null) => void
  create: (thread: string, collection: string, instances: object[], options: TokenArg) => InstanceID[]
  save: (thread: string, collection: string, instances: object[], options: TokenArg) => void
  delete: (thread: string, collection: string, ids: InstanceID[], options: TokenArg) => void
  has: (thread: string, collection: string, ids: InstanceID[], options: ReadArg) => ReadAnswer<boolean>
  find: (thread: string, collection: string, query: QueryJSON | null, options: ReadArg) => ReadAnswer<JSONObject[]>
  findByID: (thread: string, collection: string, id: InstanceID, options: ReadArg) => ReadAnswer<JSONObject>
  verify: (thread: string, collection: string, instances: object[], options: TokenArg) => void
  explain: (thread: string, collection: string, query: QueryJSON | null, options: ReadArg) => ReadAnswer<QueryExplain>
  conflicts: (thread: string) => Rejection[]
  sync: (thread: string) => void
  stateHash: (thread: string) => string
  txn: (batch: TxnBatch) => Envelope[]
}

/** The db module's streams (opened as `db.<name>`): their arguments and the items they yield. */
export interface DBStreams {
  listen: (thread: string, filters: ListenFilter[], options: ListenArg) => ListenEvent | FilterErrorNote
  /** A live query: the result set now, then again after each change that may alter it. */
  observe: (thread: string, collection: string, query: QueryJSON | null, options: ObserveArg) => JSONObject[]
}

/** The worker's own methods. */
export interface PeerMethods {
  attach: (config: PeerConfig, tabLock: string) => AttachInfo
  /** Open a stream (`id` names it on the `sub` channel) of {@link WorkerStreams}. */
  stream: (id: number, name: string, args: unknown[]) => true
  'peer.info': () => PeerInfo
  'peer.kickRelays': () => void
  'peer.reserved': () => PeerInfo
  'peer.ping': (peer: string, count?: number) => number[]
  'peer.sessions': () => { tabs: number; streams: number }
  'peer.rtcStats': () => Record<string, number | boolean>
  'peer.remeetStats': () => Record<string, number>
  'net.createThread': (id: string | null, options: { threadKey?: string }) => ClientThreadInfo
  'net.addThread': (address: string, options: { threadKey: string }) => ClientThreadInfo
  'net.getThread': (id: string) => ClientThreadInfo
  'net.listThreads': () => string[]
  'net.pullThread': (id: string) => void
  'net.deleteThread': (id: string) => void
  'net.addReplicator': (id: string, address: string) => string
  'net.createRecord': (id: string, body: unknown) => ClientRecord
  'net.getRecord': (id: string, cid: string) => ClientRecord
  'net.syncStatus': (id: string) => ClientSyncStatus
  'net.stats': () => unknown
  'identity.default': () => string
  'identity.challenge': (identity: string) => Uint8Array
  'identity.token': (identity: string, challenge: Uint8Array, signature: Uint8Array, ttlMs: number | null) => string
  'identity.defaultToken': (ttlMs: number | null) => string
  'identity.verifyToken': (token: string) => TokenClaims
}

/** The worker's own streams. */
export interface PeerStreams {
  'net.subscribe': (options: { threads?: string[] }) => ClientRecord
  'net.watchSyncStatus': (id: string) => ClientSyncStatus
}

/** `M`'s names under the prefix `P.` */
export type Prefixed<P extends string, M> = { [K in keyof M & string as `${P}.${K}`]: M[K] }

/** Every method a tab may call. */
export type WorkerMethods = PeerMethods & Prefixed<'db', DBMethods>
/** Every stream a tab may open. */
export type WorkerStreams = PeerStreams & Prefixed<'db', DBStreams>

/** A function type of a method map. */
type Fn = (...args: never[]) => unknown

/** The arguments of method `M` of map `T`, as the caller sends them. */
export type ArgsOf<T, M extends keyof T> = T[M] extends Fn ? Parameters<T[M]> : never
/** The answer of method `M` of map `T`. */
export type ResultOf<T, M extends keyof T> = T[M] extends Fn ? ReturnType<T[M]> : never

/** Arguments as a handler receives them: as many as declared, each unchecked. */
export type Untrusted<A extends readonly unknown[]> = { [K in keyof A]-?: unknown }

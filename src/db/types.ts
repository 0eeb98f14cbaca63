/**
 * Public shapes of the document database. Everything here is plain data (structured-cloneable),
 * so it crosses a worker boundary unchanged.
 */
import type { HLC } from '../core/hlc.js'
import type { LogID, ThreadID } from '../core/types.js'

/** A JSON value as stored: objects, arrays, strings, finite numbers, booleans, null. */
export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue }
export type JSONObject = { [key: string]: JSONValue }

/** An instance of a collection: a JSON object with a string `_id`. */
export type Instance = JSONObject & { _id: string }

/** A lower-case ULID or any non-empty string chosen by the writer. */
export type InstanceID = string

/** JSON Schema (draft-07 keywords; `$schema` of draft-04/06/07 is accepted and ignored). */
export type JSONSchema = { [key: string]: unknown }

export interface IndexConfig {
  /** Dot path into the instance (`address.city`); not `_id`, which is always a unique index. */
  path: string
  /** Reject a write that would give two instances the same value. @default false */
  unique?: boolean
}

export interface CollectionConfig {
  /** Unique per DB; letters, digits and single inner hyphens. */
  name: string
  /** JSON Schema of the instances; must declare `_id` as a string. @default { type: 'object', properties: { _id: { type: 'string' } } } */
  schema?: JSONSchema
  indexes?: IndexConfig[]
  /**
   * Body of `function (writer, event, instance)`: only `true` accepts the write, a string is the
   * reason for rejecting it, anything else rejects it.
   */
  writeValidator?: string
  /** Body of `function (reader, instance)`: returns the instance to show, or null to hide it. */
  readFilter?: string
}

/** A collection as stored in the DB (defaults filled in). */
export interface CollectionInfo {
  name: string
  schema: JSONSchema
  indexes: Array<{ path: string; unique: boolean }>
  writeValidator: string
  readFilter: string
}

/** Who may change a DB: its owners and its writer list. */
export interface Governance {
  /** Whether the DB has owners (false: any member may change collections). */
  governed: boolean
  /** The owners' identities (empty while a governed DB waits for its genesis, or when ungoverned). */
  owners: string[]
  /** The writer list, or null when any member may write instances. */
  writers: string[] | null
}

/** What another peer needs to join a DB, and who governs it. */
export interface DBInfo extends Governance {
  name: string
  /** Thread addresses (`<multiaddr>/p2p/<peer>/thread/<id>`). */
  addrs: string[]
  /** The full thread key (service + read key) as a multibase string. */
  key: string
}

export interface NewDBOptions {
  /** A local label. @default 'unnamed' */
  name?: string
  /** Collections to create in the new DB (as events in the thread). */
  collections?: CollectionConfig[]
  /** Thread key (multibase string); a new random key by default. */
  threadKey?: string
  /**
   * With a given thread ID: the identity that owns the DB (every peer must be given the same).
   * Without one, the DB is ungoverned. Without a thread ID, the creator owns the DB and the new
   * ID commits to it; an `owner` other than the creator is then an InvalidOwnerError.
   */
  owner?: string
  signal?: AbortSignal
}

export interface NewDBFromAddrOptions {
  name?: string
  /**
   * Collections to create if the thread does not define them yet — when this peer may: in a
   * governed DB a member who is not an owner gets the collections from the thread instead.
   */
  collections?: CollectionConfig[]
  /** The owner of a DB whose thread ID does not commit to one (as given to its creator). */
  owner?: string
  signal?: AbortSignal
}

/** A read filter failed on one instance: the instance is hidden from the read. */
export interface FilterFailure {
  collection: string
  instanceID: InstanceID
  /** The sandbox's error (`ValidatorError`, `ValidatorTimeoutError`, `ValidatorMemoryError`…). */
  error: { name: string; message: string }
}

/** Options of reads: who is reading (for read filters). */
export interface ReadOptions {
  /** Identity string passed to read filters as `reader`. @default the DB's own writer identity */
  identity?: string
  /** Told of each instance hidden because the read filter failed on it (a warning is logged too). */
  onFilterError?: (failure: FilterFailure) => void
  signal?: AbortSignal
}

// ---- queries (the original's JSON form) ----

/** Comparison operations, numbered as in go-threads' wire format. */
export const Operation = { Eq: 0, Ne: 1, Gt: 2, Lt: 3, Ge: 4, Le: 5 } as const
export type OperationCode = typeof Operation[keyof typeof Operation]
export type OperationName = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le'

/** A comparison value: one of `string`, `bool`, `float` set (or a bare scalar). */
export type QueryValue = { string: string } | { bool: boolean } | { float: number } | string | number | boolean

export interface CriterionJSON {
  fieldPath: string
  operation: OperationCode | OperationName
  value: QueryValue
}

export interface SortJSON {
  fieldPath: string
  desc?: boolean
}

/**
 * A query: matches when every criterion in `ands` holds, or else when any query in `ors` matches
 * (`(A and B) or C`); an empty query matches everything. Sort applies before skip and limit.
 */
export interface QueryJSON {
  ands?: CriterionJSON[]
  ors?: QueryJSON[]
  sort?: SortJSON
  /** Start at this instance ID (inclusive) in `_id` order. */
  seek?: string
  /** Most results; 0 means no limit. */
  limit?: number
  skip?: number
  /** Answer through this index (it must exist); chosen automatically when absent. */
  index?: string
}

/** How a query was answered. */
export interface QueryExplain {
  /** `id`: by instance keys; `index`: through a user index; `scan`: every instance read. */
  plan: 'id' | 'index' | 'scan'
  index?: string
  /** Instances read from the store. */
  docsRead: number
  /** Index entries read. */
  indexEntriesRead: number
  /** Instances returned. */
  returned: number
}

// ---- listeners ----

export type ListenActionType = 'create' | 'save' | 'delete'

export interface ListenFilter {
  /** `all` matches every change and rejection. @default 'all' */
  type?: ListenActionType | 'all' | 'rejected'
  collection?: string
  instanceID?: string
}

export interface InstanceChange {
  type: ListenActionType
  collection: string
  instanceID: InstanceID
  /** The instance after a create or save (through the listener's read filter); absent on delete. */
  instance?: JSONObject
}

/** An event of the thread that the DB refused (it changed nothing). */
export interface Rejection {
  type: 'rejected'
  log: LogID
  counter: number
  time: HLC
  author: string
  /** Error name (`UniqueConstraintError`, `ValidatorRejectedError`…) and message. */
  error: { name: string; message: string }
  /** The first collection and instance the event touched, when any. */
  collection?: string
  instanceID?: string
  /** What the event tried to do (governance ops have no collection). */
  ops: Array<{ type: string; collection?: string; instanceID?: string }>
}

export type ListenEvent = InstanceChange | Rejection

export interface ListenOptions {
  signal?: AbortSignal
  /** Reader identity for read filters. */
  identity?: string
  /** Told of each change not delivered because the read filter failed on its instance. */
  onFilterError?: (failure: FilterFailure) => void
  /** Most undelivered events kept before the listener ends with SubscriberOverflowError. @default 10000 */
  bufferSize?: number
}

export interface DBListEntry {
  id: ThreadID
  info: DBInfo
}

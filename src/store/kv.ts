/**
 * The one small ordered key-value interface every Weft store is written against. Keys and values
 * are `Uint8Array`s; keys are ordered bytewise (unsigned), as IndexedDB orders binary keys and
 * LevelDB orders its default comparator.
 */
import type { AbortOptions } from '../core/types.js'

/** Options of operations that can be cancelled (checked on entry; a running write is never torn). */
export type { AbortOptions }

/** One operation of an atomic {@link KVStore.batch}. */
export type BatchOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array }


/**
 * Bounds of an ordered scan. All given bounds apply together (their intersection); a range whose
 * bounds cross is empty.
 */
export interface RangeOptions extends AbortOptions {
  /** Only keys that start with these bytes. */
  prefix?: Uint8Array
  /** Keys greater than or equal to this. */
  gte?: Uint8Array
  /** Keys greater than this. */
  gt?: Uint8Array
  /** Keys less than or equal to this. */
  lte?: Uint8Array
  /** Keys less than this. */
  lt?: Uint8Array
  /**
   * Yield in descending key order.
   * @default false
   */
  reverse?: boolean
  /**
   * Yield at most this many entries (a non-negative integer; `Infinity` for no limit).
   * @default Infinity
   */
  limit?: number
}

/** An ordered, persistent (or in-memory) key-value store. */
export interface KVStore {
  /** The value stored under `key`, or `undefined`. */
  get(key: Uint8Array, options?: AbortOptions): Promise<Uint8Array | undefined>
  /** The values stored under `keys`, in the same order (`undefined` where absent). */
  getMany(keys: readonly Uint8Array[], options?: AbortOptions): Promise<Array<Uint8Array | undefined>>
  /** Store `value` under `key` (overwriting). Durable when it resolves. */
  put(key: Uint8Array, value: Uint8Array, options?: AbortOptions): Promise<void>
  /** Remove `key` (a no-op when absent). Durable when it resolves. */
  delete(key: Uint8Array, options?: AbortOptions): Promise<void>
  /**
   * Apply `ops` atomically, in order: all of them or none. Malformed ops reject the whole batch
   * before anything is written. Durable when it resolves.
   */
  batch(ops: readonly BatchOp[], options?: AbortOptions): Promise<void>
  /**
   * Ordered scan over the entries within `options`. Streams: entries are read in pages, so memory
   * stays bounded whatever the size of the range, and no transaction or lock is held while the
   * consumer awaits between entries. Writes made during a scan may or may not be seen by it.
   */
  range(options?: RangeOptions): AsyncIterable<[key: Uint8Array, value: Uint8Array]>
  /**
   * The same scan, a page of entries (a non-empty array, in order) per step: one call to the
   * backend and one await per page rather than per entry, for consumers that read many entries.
   * Pages are as large as the backend reads at once (LevelDB's `nextv`, one IndexedDB
   * transaction); the same streaming and locking rules as {@link KVStore.range} apply.
   */
  pages(options?: RangeOptions): AsyncIterable<Array<[key: Uint8Array, value: Uint8Array]>>
  /**
   * Close the store, after the operations already started have settled. Idempotent; every call
   * made after it rejects with `StoreClosedError`.
   */
  close(): Promise<void>
}

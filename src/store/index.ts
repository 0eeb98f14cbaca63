/**
 * The store layer: one ordered key-value interface, its in-memory backend, and the log store
 * written against it.
 *
 * The persistent backends are environment-specific and therefore separate entry points, so that
 * neither environment loads the other's dependency:
 * - `src/store/level.js` — `levelStore({ path })`, LevelDB through classic-level (Node only);
 * - `src/store/idb.js` — `idbStore({ name })`, IndexedDB through idb (browsers, workers);
 *
 * Storage layout and semantics: docs/STORAGE.md.
 */
export type { AbortOptions, BatchOp, KVStore, RangeOptions } from './kv.js'
export { memoryStore } from './memory.js'
export { createLogStore } from './logstore.js'
export type {
  AddLogInit,
  AppendInput,
  AppendOptions,
  Head,
  LogEntry,
  LogFork,
  LogInfo,
  LogStore,
  LogStoreInit,
  ReadLogOptions,
  RecordBlocks,
  SignedAddrs,
  StoredAuthorCertificate,
  StoredRecord,
  ThreadInfo
} from './logstore-types.js'
export {
  concatBytes,
  compareBytes,
  decodeTuple,
  decodeUint64,
  encodeTuple,
  encodeUint64,
  equalBytes,
  prefixUpperBound,
  startsWith,
  utf8,
  fromUtf8,
  concat2,
  writeUint64,
  type TupleSegment
} from './keys.js'
export {
  BlockNotFoundError,
  CorruptStoreError,
  HeadMismatchError,
  InvalidBlockError,
  InvalidStoreInputError,
  LimitExceededError,
  LogExistsError,
  LogFrozenError,
  LogNotFoundError,
  StoreClosedError,
  StoreIOError,
  ThreadExistsError,
  ThreadNotFoundError,
  UnsupportedStoreFormatError
} from './errors.js'

/**
 * The document database (`db` layer): collections with JSON Schema, indexes, write validators and
 * read filters (QuickJS), instances, queries, transactions and listeners, materialised from the
 * events of a thread in a deterministic order so that every peer converges. Formats: docs/DB.md.
 */
export { createDBManager } from './manager.js'
export type { DBManager, DBManagerInit } from './manager.js'
export type { Database, Collection } from './database.js'
export type { LiveQuery, ObserveOptions } from './observe.js'
export type { NewInstance, TypedChange, CollectionEvent } from './typed.js'
export type { ReadTransaction, WriteTransaction } from './txn.js'
export { dbNetFromNet } from './net.js'
export type { DBNet, DBThreadInfo, RecordsOptions, ForkSource, ForkNotice } from './net.js'
export type { DBRecord, Fork } from './engine.js'
export { committedThreadID, threadCommitment, OWNER_COMMITMENT_PREFIX, GENESIS_SALT_BYTES } from './governance.js'
export { createSandbox } from './sandbox.js'
export type { Sandbox, SandboxInit } from './sandbox.js'
export { where, Where, Query, Criterion } from './builder.js'
export { Operation } from './types.js'
export type {
  JSONValue, JSONObject, Instance, InstanceID, JSONSchema, IndexConfig, CollectionConfig, CollectionInfo, DBInfo,
  NewDBOptions, NewDBFromAddrOptions, ReadOptions, OperationCode, OperationName, QueryValue, CriterionJSON, SortJSON,
  QueryJSON, QueryExplain, ListenActionType, ListenFilter, InstanceChange, Rejection, ListenEvent, ListenOptions, DBListEntry,
  Governance, FilterFailure
} from './types.js'
export { MAX_DOCUMENT_BYTES } from './apply.js'
export {
  EVENT_FORMAT_VERSION, LEGACY_EVENT_FORMAT_VERSION, MAX_OPS, MAX_ID_LENGTH, MAX_PARTS, DEFAULT_MAX_EVENT_BYTES, MAX_OWNERS, MAX_WRITERS
} from './event.js'
export {
  InvalidNameError, InvalidSchemaError, InvalidIndexError, InvalidValidatorError, SchemaValidationError, InvalidInstanceError,
  CollectionNotFoundError, CollectionExistsError, UniqueConstraintError, InstanceNotFoundError, InstanceExistsError,
  InvalidQueryError, OversizedDocumentError, OversizedTransactionError, ValidatorRejectedError, ValidatorError,
  ValidatorTimeoutError, ValidatorMemoryError, TransactionDiscardedError, TransactionClosedError, ReadOnlyTransactionError,
  DBNotFoundError, DBExistsError, DBClosedError, InvalidEventError, NotAnOwnerError, NotAWriterError, InvalidGenesisError,
  LastOwnerError, EquivocationError, ClockRegressionError, WriteOutrankedError, InvalidStringError, ReadFilterError,
  UnreadableEventError, InvalidOwnerError, TransactionConflictError
} from './errors.js'

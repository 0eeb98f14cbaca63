/**
 * Read and write transactions, shaped like the original's: `start()` (resolving to an `end`
 * function), `end()`, `discard()`. No transaction holds the DB's lock between its calls: each call
 * runs under the read lock, so it sees one consistent state, and reads never wait for an open
 * transaction — only for a commit or a batch of remote events being written.
 *
 * A write transaction is optimistic: each operation is validated at once against the state plus
 * the transaction's own earlier writes (which it reads back), a failed operation leaves the
 * transaction as it was, and everything it read is noted (readset.ts). `end()` takes the write
 * lock and, if anything was committed since the transaction began, checks that all it read still
 * holds; if so it commits everything as ONE event — one record, applied whole or not at all —
 * otherwise it writes nothing and rejects with TransactionConflictError (retryable). A write
 * transaction may span collections (`txn.collection('Other').create(…)`).
 */
import { newInstanceID } from './ids.js'
import { applyOps, type ApplyResult } from './apply.js'
import { throwIfAborted } from '../core/errors.js'
import type { Staged } from './commit.js'
import { InstanceNotFoundError, InvalidInstanceError, ReadOnlyTransactionError, TransactionClosedError, TransactionDiscardedError } from './errors.js'
import { checkIDString, checkInstanceID, type Op } from './event.js'
import { FILTER_FAILED, show, showOne, type Reader } from './filter.js'
import type { OwnerBasis } from './governance.js'
import { runQuery } from './find.js'
import { canonicalJSON, createMergePatch, isObject, toJSONValue } from './json.js'
import type { Layout } from './keys.js'
import { Overlay, storeReader, type StateReader } from './overlay.js'
import { normalizeQuery } from './query.js'
import { RecordingReader } from './readset.js'
import type { RWLock } from './lock.js'
import type { Sandbox } from './sandbox.js'
import { getConfig, getDoc } from './state.js'
import type { LogID } from '../core/index.js'
import type { KVStore } from '../store/kv.js'
import { CollectionNotFoundError } from './errors.js'
import type { CollectionInfo, InstanceID, JSONObject, QueryExplain, QueryJSON } from './types.js'

export interface TxnHost {
  store: KVStore
  layout: Layout
  sandbox: Sandbox
  lock: RWLock
  /** The lock of read transactions' calls (`read` only). @default lock */
  reads?: RWLock
  /** Our writer identity (the author of our records). */
  writer: string | undefined
  /** How the DB's owners are known. */
  gov: OwnerBasis
  assertOpen(): void
  /** A timestamp for validators in dry runs (the real one comes with the record). */
  provisionalTime(): number
  /** Turn validated ops into a record (in `log`, by default our own) and apply it; called with the write lock held. */
  /** `validatedAt`: the timestamp write validators saw in the dry run. */
  commit(ops: Op[], ov: Overlay, result: ApplyResult, log?: LogID, validatedAt?: number): Promise<void>
  /** The author of a log of ours (LogNotFoundError when the thread has no such log of ours). */
  authorOf(log: LogID): Promise<string>
  /**
   * Commit a write transaction staged without the lock, with the next group (commit.ts): checked
   * against the state and the group's earlier events; resolves when durable.
   */
  submit(staged: Staged): Promise<void>
  /** A number that changes whenever the DB's state in the store changes. */
  version(): number
}

/** Who reads, and the signal every call of the transaction honours. */
export interface TxnOptions extends Reader {
  signal?: AbortSignal | undefined
}

export interface ReadTransaction {
  /** Take the lock; resolves to `end`. */
  start(): Promise<() => Promise<void>>
  end(): Promise<void>
  discard(): Promise<void>
  has(ids: InstanceID[]): Promise<boolean>
  find(query?: QueryJSON): Promise<JSONObject[]>
  findByID(id: InstanceID): Promise<JSONObject>
  explain(query?: QueryJSON): Promise<QueryExplain>
  /** The same transaction, on another collection. */
  collection(name: string): ReadTransaction
}

export interface WriteTransaction extends Omit<ReadTransaction, 'collection'> {
  /** Create instances; a missing or empty `_id` becomes a lower-case ULID. Returns the IDs. */
  create(instances: object[]): Promise<InstanceID[]>
  /** Merge-patch each instance into its current value (created when missing). */
  save(instances: object[]): Promise<void>
  /** Delete instances (missing IDs are ignored). */
  delete(ids: InstanceID[]): Promise<void>
  /** Run validation of saves without keeping them. */
  verify(instances: object[]): Promise<void>
  collection(name: string): WriteTransaction
}

type State = 'new' | 'active' | 'ended' | 'discarded'

export async function requireConfig(reader: StateReader, layout: Layout, name: string): Promise<CollectionInfo> {
  const info = await getConfig(reader, layout, name)
  if (info === undefined) throw new CollectionNotFoundError(`collection not found: ${name}`)
  return info
}

/** Read operations against `reader` (the store, or a write transaction's overlay). */
export function readOps(host: TxnHost, reader: () => StateReader, collection: string, who: TxnOptions) {
  const query = async (q: QueryJSON | undefined) => {
    const normal = normalizeQuery(q)
    const info = await requireConfig(reader(), host.layout, collection)
    return await runQuery({ reader: reader(), layout: host.layout, info, sandbox: host.sandbox, who, signal: who.signal }, normal)
  }
  return {
    async has(ids: InstanceID[]): Promise<boolean> {
      const info = await requireConfig(reader(), host.layout, collection)
      for (const id of ids) {
        if (typeof id === 'string') checkIDString(id)
        const d = typeof id === 'string' ? await getDoc(reader(), host.layout, collection, id) : undefined
        if (d === undefined) return false
        const shown = await show(host.sandbox, info, who, d.doc)
        if (shown === null || shown === FILTER_FAILED) return false
      }
      return true
    },
    async find(q?: QueryJSON): Promise<JSONObject[]> { return (await query(q)).results },
    async explain(q?: QueryJSON): Promise<QueryExplain> { return (await query(q)).explain },
    async findByID(id: InstanceID): Promise<JSONObject> {
      const info = await requireConfig(reader(), host.layout, collection)
      if (typeof id === 'string') checkIDString(id)
      const d = typeof id === 'string' ? await getDoc(reader(), host.layout, collection, id) : undefined
      const shown = d === undefined ? null : await showOne(host.sandbox, info, who, d.doc)
      if (shown === null) throw new InstanceNotFoundError(`instance not found: ${collection}/${String(id)}`)
      return shown
    }
  }
}

function instanceOf(value: unknown): JSONObject {
  const v = toJSONValue(value)
  if (!isObject(v)) throw new InvalidInstanceError('an instance must be a JSON object')
  return v
}

export function readTransaction(host: TxnHost, collection: string, who: TxnOptions): ReadTransaction {
  let state: State = 'new'
  const reader = storeReader(host.store)
  const { signal } = who
  /** Run one call under the read lock (each call sees one consistent state). */
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (state === 'discarded') throw new TransactionDiscardedError()
    if (state !== 'active') throw new TransactionClosedError()
    host.assertOpen()
    return await (host.reads ?? host.lock).run('read', fn, signal)
  }
  const end = async (): Promise<void> => {
    if (state === 'active') state = 'ended'
  }
  const make = (name: string): ReadTransaction => {
    const ops = readOps(host, () => reader, name, who)
    return {
      async start() {
        host.assertOpen()
        if (state !== 'new') throw new TransactionClosedError('the transaction was already started')
        state = 'active'
        return end
      },
      end,
      async discard() { state = 'discarded'; await end() },
      async has(ids) { return await call(async () => await ops.has(ids)) },
      async find(q) { return await call(async () => await ops.find(q)) },
      async findByID(id) { return await call(async () => await ops.findByID(id)) },
      async explain(q) { return await call(async () => await ops.explain(q)) },
      collection: (other) => make(other),
      // The original's read transactions refuse writes by name; keep that for untyped callers.
      ...({ create: refuse, save: refuse, delete: refuse } as object)
    }
  }
  return make(collection)
}

async function refuse(): Promise<never> {
  throw new ReadOnlyTransactionError()
}

export function writeTransaction(host: TxnHost, collection: string, who: TxnOptions, log?: LogID): WriteTransaction {
  let state: State = 'new'
  /** The author of the events: the chosen log's, or ours. */
  let writer = host.writer
  // Nothing reads through them before start() (every call needs an active transaction).
  const reads = new RecordingReader(storeReader(host.store))
  const ov = new Overlay(reads)
  let began = 0
  /** Whether a call has read yet (`began` is the version then). */
  let reading = false
  const { signal } = who
  const ops: Op[] = []
  const total: ApplyResult = { changes: [], undo: [], validated: false }
  /** The one timestamp validators saw while staging (undefined once they saw two). */
  let validatedAt: number | undefined
  /** Run one call under the read lock; calls of one transaction run one after the other. */
  let tail: Promise<unknown> = Promise.resolve()
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    const run = async (): Promise<T> => {
      if (state === 'discarded') throw new TransactionDiscardedError()
      if (state !== 'active') throw new TransactionClosedError(state === 'new' ? 'call start() first' : 'the transaction has ended')
      host.assertOpen()
      // Like reads, a write transaction's calls wait only while the state is written: staging
      // overlaps a commit's signing and storing; what the commit then writes is checked at `end()`.
      return await (host.reads ?? host.lock).run('read', async () => {
        // The version its reads start from: taken under the lock, so no write is half done.
        if (!reading) {
          reading = true
          began = host.version()
        }
        return await fn()
      }, signal)
    }
    const p = tail.then(run, run)
    tail = p.catch(() => undefined)
    return await p
  }
  const stage = async (next: Op[]): Promise<void> => {
    if (next.length === 0) return
    const child = ov.child()
    const timestamp = host.provisionalTime()
    const res = await applyOps(child, { layout: host.layout, sandbox: host.sandbox, writer, timestamp, gov: host.gov }, next)
    child.mergeInto()
    ops.push(...next)
    total.changes.push(...res.changes)
    total.undo.push(...res.undo)
    if (res.validated) validatedAt = total.validated && validatedAt !== timestamp ? undefined : timestamp
    total.validated ||= res.validated
  }
  const saveOps = async (name: string, instances: object[]): Promise<Op[]> => {
    const info = await requireConfig(ov, host.layout, name)
    const out: Op[] = []
    for (const raw of instances) {
      const doc = instanceOf(raw)
      if (!checkInstanceID(doc._id)) throw new InvalidInstanceError('invalid instance: missing _id attribute')
      const prev = await getDoc(ov, host.layout, name, doc._id)
      const base = prev === undefined ? {} : (await showOne(host.sandbox, info, who, prev.doc)) ?? {}
      const patch = createMergePatch(base, doc)
      out.push({ t: 'save', c: name, id: doc._id, patch, json: canonicalJSON(patch) })
    }
    return out
  }
  const end = async (): Promise<void> => {
    if (state !== 'active') return
    await tail
    state = 'ended'
    if (ops.length === 0) return
    throwIfAborted(signal)
    host.assertOpen()
    // With the next group: if anything was committed since we began, only if all we read still holds.
    await host.submit({ ops, ov, result: total, reads, began, ...(log !== undefined ? { log } : {}), ...(validatedAt !== undefined ? { validatedAt } : {}) })
  }
  const make = (name: string): WriteTransaction => {
    const view = readOps(host, () => ov, name, who)
    return {
      async start() {
        host.assertOpen()
        if (state !== 'new') throw new TransactionClosedError('the transaction was already started')
        if (log !== undefined) writer = await host.authorOf(log)
        // Until the first call reads (which takes the version again under the lock).
        began = host.version()
        state = 'active'
        return end
      },
      end,
      async discard() {
        if (state === 'active' || state === 'new') state = 'discarded'
      },
      async create(instances) {
        return await call(async () => {
          const next: Op[] = []
          const ids: InstanceID[] = []
          for (const raw of instances) {
            const doc = instanceOf(raw)
            if (doc._id === undefined || doc._id === '') doc._id = newInstanceID()
            if (!checkInstanceID(doc._id)) throw new InvalidInstanceError('invalid instance: _id must be a non-empty string')
            next.push({ t: 'create', c: name, id: doc._id, doc, json: canonicalJSON(doc) })
            ids.push(doc._id)
          }
          await stage(next)
          return ids
        })
      },
      async save(instances) {
        await call(async () => { await stage(await saveOps(name, instances)) })
      },
      async delete(ids) {
        await call(async () => {
          await requireConfig(ov, host.layout, name)
          const next: Op[] = []
          for (const id of ids) {
            if (!checkInstanceID(id)) throw new InvalidInstanceError('an instance ID must be a non-empty string')
            checkIDString(id)
            if (await getDoc(ov, host.layout, name, id) !== undefined) next.push({ t: 'delete', c: name, id })
          }
          await stage(next)
        })
      },
      async verify(instances) {
        await call(async () => {
          const next = await saveOps(name, instances)
          await applyOps(ov.child(), { layout: host.layout, sandbox: host.sandbox, writer, timestamp: host.provisionalTime(), gov: host.gov }, next)
        })
      },
      async has(ids) { return await call(async () => await view.has(ids)) },
      async find(q) { return await call(async () => await view.find(q)) },
      async findByID(id) { return await call(async () => await view.findByID(id)) },
      async explain(q) { return await call(async () => await view.explain(q)) },
      collection: (other) => make(other)
    }
  }
  return make(collection)
}

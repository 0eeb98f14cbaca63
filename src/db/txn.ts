/**
 * Read and write transactions, shaped like the original's: `start()` (resolving to an `end`
 * function), `end()`, `discard()`. A read transaction holds the DB's read lock and sees one
 * consistent state. A write transaction holds the write lock; each operation is validated at once
 * against the state plus the transaction's own earlier writes (which it reads back), a failed
 * operation leaves the transaction as it was, and `end()` commits everything as ONE event — one
 * record, applied whole or not at all. A write transaction may span collections
 * (`txn.collection('Other').create(…)`).
 */
import { newInstanceID } from './ids.js'
import { applyOps, type ApplyResult } from './apply.js'
import { InstanceNotFoundError, InvalidInstanceError, ReadOnlyTransactionError, TransactionClosedError, TransactionDiscardedError } from './errors.js'
import { checkIDString, checkInstanceID, type Op } from './event.js'
import { FILTER_FAILED, show, showOne, type Reader } from './filter.js'
import type { OwnerBasis } from './governance.js'
import { runQuery } from './find.js'
import { canonicalJSON, createMergePatch, isObject, toJSONValue } from './json.js'
import type { Layout } from './keys.js'
import { Overlay, storeReader, type StateReader } from './overlay.js'
import { normalizeQuery } from './query.js'
import type { RWLock } from './lock.js'
import type { Sandbox } from './sandbox.js'
import { getConfig, getDoc } from './state.js'
import type { KVStore } from '../store/kv.js'
import { CollectionNotFoundError } from './errors.js'
import type { CollectionInfo, InstanceID, JSONObject, QueryExplain, QueryJSON } from './types.js'

export interface TxnHost {
  store: KVStore
  layout: Layout
  sandbox: Sandbox
  lock: RWLock
  /** Our writer identity (the author of our records). */
  writer: string | undefined
  /** How the DB's owners are known. */
  gov: OwnerBasis
  assertOpen(): void
  /** A timestamp for validators in dry runs (the real one comes with the record). */
  provisionalTime(): number
  /** Turn validated ops into a record and apply it; called with the write lock held. */
  commit(ops: Op[], ov: Overlay, result: ApplyResult): Promise<void>
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
export function readOps(host: TxnHost, reader: () => StateReader, collection: string, who: Reader) {
  const query = async (q: QueryJSON | undefined) => {
    const normal = normalizeQuery(q)
    const info = await requireConfig(reader(), host.layout, collection)
    return await runQuery({ reader: reader(), layout: host.layout, info, sandbox: host.sandbox, who }, normal)
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

export function readTransaction(host: TxnHost, collection: string, who: Reader): ReadTransaction {
  let state: State = 'new'
  let release: (() => void) | undefined
  const reader = storeReader(host.store)
  const guard = (): void => {
    if (state === 'discarded') throw new TransactionDiscardedError()
    if (state !== 'active') throw new TransactionClosedError()
  }
  const end = async (): Promise<void> => {
    if (state === 'active') state = 'ended'
    release?.()
    release = undefined
  }
  const make = (name: string): ReadTransaction => {
    const ops = readOps(host, () => reader, name, who)
    return {
      async start() {
        host.assertOpen()
        if (state !== 'new') throw new TransactionClosedError('the transaction was already started')
        release = await host.lock.acquire('read')
        state = 'active'
        return end
      },
      end,
      async discard() { state = 'discarded'; await end() },
      async has(ids) { guard(); return await ops.has(ids) },
      async find(q) { guard(); return await ops.find(q) },
      async findByID(id) { guard(); return await ops.findByID(id) },
      async explain(q) { guard(); return await ops.explain(q) },
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

export function writeTransaction(host: TxnHost, collection: string, who: Reader): WriteTransaction {
  let state: State = 'new'
  let release: (() => void) | undefined
  let ov = new Overlay(storeReader(host.store))
  const ops: Op[] = []
  const total: ApplyResult = { changes: [], undo: [], validated: false }
  const guard = (): void => {
    if (state === 'discarded') throw new TransactionDiscardedError()
    if (state !== 'active') throw new TransactionClosedError(state === 'new' ? 'call start() first' : 'the transaction has ended')
  }
  const stage = async (next: Op[]): Promise<void> => {
    if (next.length === 0) return
    const child = ov.child()
    const res = await applyOps(child, { layout: host.layout, sandbox: host.sandbox, writer: host.writer, timestamp: host.provisionalTime(), gov: host.gov }, next)
    child.mergeInto()
    ops.push(...next)
    total.changes.push(...res.changes)
    total.undo.push(...res.undo)
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
    if (state !== 'active') { release?.(); release = undefined; return }
    state = 'ended'
    try {
      if (ops.length > 0) await host.commit(ops, ov, total)
    } finally {
      release?.()
      release = undefined
    }
  }
  const make = (name: string): WriteTransaction => {
    const reads = readOps(host, () => ov, name, who)
    return {
      async start() {
        host.assertOpen()
        if (state !== 'new') throw new TransactionClosedError('the transaction was already started')
        release = await host.lock.acquire('write')
        state = 'active'
        ov = new Overlay(storeReader(host.store))
        return end
      },
      end,
      async discard() {
        if (state === 'active' || state === 'new') state = 'discarded'
        release?.()
        release = undefined
      },
      async create(instances) {
        guard()
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
      },
      async save(instances) {
        guard()
        await stage(await saveOps(name, instances))
      },
      async delete(ids) {
        guard()
        await requireConfig(ov, host.layout, name)
        const next: Op[] = []
        for (const id of ids) {
          if (!checkInstanceID(id)) throw new InvalidInstanceError('an instance ID must be a non-empty string')
          checkIDString(id)
          if (await getDoc(ov, host.layout, name, id) !== undefined) next.push({ t: 'delete', c: name, id })
        }
        await stage(next)
      },
      async verify(instances) {
        guard()
        const next = await saveOps(name, instances)
        await applyOps(ov.child(), { layout: host.layout, sandbox: host.sandbox, writer: host.writer, timestamp: host.provisionalTime(), gov: host.gov }, next)
      },
      async has(ids) { guard(); return await reads.has(ids) },
      async find(q) { guard(); return await reads.find(q) },
      async findByID(id) { guard(); return await reads.findByID(id) },
      async explain(q) { guard(); return await reads.explain(q) },
      collection: (other) => make(other)
    }
  }
  return make(collection)
}

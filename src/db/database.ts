/**
 * The public face of one DB: collection management, instance operations (each its own write
 * transaction, i.e. one record), queries, transactions and listeners. Collection definitions are
 * events in the thread like instance writes, so a peer that joins gets them.
 */
import { parseIdentity } from '../core/index.js'
import type { LogID, ThreadID } from '../core/types.js'
import { InvalidOwnerError, TransactionConflictError } from './errors.js'
import { applyOps } from './apply.js'
import type { DatabaseCore } from './db.js'
import { configToJSON, type Op } from './event.js'
import { Overlay, storeReader } from './overlay.js'
import { checkName, normalizeConfig } from './schema.js'
import { listConfigs } from './state.js'
import { requireConfig, type ReadTransaction, type WriteTransaction } from './txn.js'
import { canonicalIdentity } from './event.js'
import { observeQuery, type LiveQuery, type ObserveOptions } from './observe.js'
import type { CollectionEvent, NewInstance } from './typed.js'
import type {
  CollectionConfig, CollectionInfo, Governance, IndexConfig, InstanceID, JSONObject, ListenEvent, ListenFilter, ListenOptions, QueryExplain,
  QueryJSON, ReadOptions, Rejection
} from './types.js'

/** One collection's operations (the Go `Collection` style), its instances typed as `T` (typed.ts). */
export interface Collection<T extends object = JSONObject> {
  readonly name: string
  create(instances: Array<NewInstance<T>>, options?: ReadOptions): Promise<InstanceID[]>
  save(instances: T[], options?: ReadOptions): Promise<void>
  delete(ids: InstanceID[], options?: ReadOptions): Promise<void>
  has(ids: InstanceID[], options?: ReadOptions): Promise<boolean>
  find(query?: QueryJSON, options?: ReadOptions): Promise<T[]>
  findByID(id: InstanceID, options?: ReadOptions): Promise<T>
  verify(instances: T[], options?: ReadOptions): Promise<void>
  explain(query?: QueryJSON, options?: ReadOptions): Promise<QueryExplain>
  readTransaction(options?: ReadOptions): ReadTransaction
  writeTransaction(options?: ReadOptions): WriteTransaction
  /** This collection's changes (and rejected events naming it). */
  listen(options?: ListenOptions): AsyncIterable<CollectionEvent<T>>
  /** A live query: the result now, then each time a change alters it (observe.ts). */
  observe(query?: QueryJSON, options?: ObserveOptions): LiveQuery<T>
}

export interface Database {
  readonly id: ThreadID
  /** The author identity of this peer's records (the `writer` validators see). */
  readonly identity: string | undefined
  /** `options.log`: commit through that log of ours (see {@link ReadOptions.log}). */
  newCollection(config: CollectionConfig, options?: Pick<ReadOptions, 'log'>): Promise<void>
  updateCollection(config: CollectionConfig, options?: Pick<ReadOptions, 'log'>): Promise<void>
  deleteCollection(name: string, options?: Pick<ReadOptions, 'log'>): Promise<void>
  getCollectionInfo(name: string): Promise<CollectionInfo>
  /** User indexes (without `_id`). */
  getCollectionIndexes(name: string): Promise<IndexConfig[]>
  listCollections(): Promise<CollectionInfo[]>
  /** Who may change the DB: owners (empty when ungoverned) and the writer list. */
  getGovernance(): Promise<Governance>
  /** Add and remove owners (owners only; the last owner cannot be removed: LastOwnerError). */
  updateOwners(change: { add?: string[]; remove?: string[] }): Promise<void>
  /**
   * Set the writer list (owners only): only these identities and the owners may then write
   * instances (NotAWriterError). `null` lets every member write again.
   */
  setWriters(writers: string[] | null): Promise<void>
  collection<T extends object = JSONObject>(name: string): Collection<T>
  create(collection: string, instances: object[], options?: ReadOptions): Promise<InstanceID[]>
  save(collection: string, instances: object[], options?: ReadOptions): Promise<void>
  delete(collection: string, ids: InstanceID[], options?: ReadOptions): Promise<void>
  has(collection: string, ids: InstanceID[], options?: ReadOptions): Promise<boolean>
  find(collection: string, query?: QueryJSON, options?: ReadOptions): Promise<JSONObject[]>
  findByID(collection: string, id: InstanceID, options?: ReadOptions): Promise<JSONObject>
  verify(collection: string, instances: object[], options?: ReadOptions): Promise<void>
  /** Run a query and say how it was answered (plan, instances and index entries read). */
  explain(collection: string, query?: QueryJSON, options?: ReadOptions): Promise<QueryExplain>
  readTransaction(collection: string, options?: ReadOptions): ReadTransaction
  writeTransaction(collection: string, options?: ReadOptions): WriteTransaction
  listen(filters?: ListenFilter[], options?: ListenOptions): AsyncIterable<ListenEvent>
  /** A live query on a collection: the result now, then each time a change alters it (observe.ts). */
  observe<T extends object = JSONObject>(collection: string, query?: QueryJSON, options?: ObserveOptions): LiveQuery<T>
  /** Events of the thread this DB refused, oldest first. */
  conflicts(): Promise<Rejection[]>
  /** Apply every record the log store holds that the DB has not applied yet. */
  sync(options?: { signal?: AbortSignal }): Promise<void>
  /** SHA-256 (hex) of the replicated state (configs, instances, index entries). */
  stateHash(): Promise<string>
  /** The last failure of applying received records in the background (they wait for the next sync). */
  lastError(): Error | undefined
  close(): Promise<void>
}

/** Attempts of a single-operation write before its TransactionConflictError reaches the caller. */
const MAX_CONFLICT_RETRIES = 20

/** An identity given by the caller, in canonical form (InvalidOwnerError otherwise). */
export function identityArg(v: unknown, what: string): string {
  try {
    return canonicalIdentity(typeof v === 'string' ? canonicalForm(v) : v, what)
  } catch (err) {
    throw new InvalidOwnerError(`${what} is not an identity`, { cause: err })
  }
}

function canonicalForm(v: string): string {
  try {
    return parseIdentity(v).toString()
  } catch {
    return v
  }
}

/** Commit ops as one event (in `log`, by default our own), validated first against the current state. */
export async function commitEvent(core: DatabaseCore, ops: Op[], log?: LogID): Promise<void> {
  const { host } = core
  host.assertOpen()
  const writer = log === undefined ? host.writer : await host.authorOf(log)
  await core.lock.run('write', async () => {
    const ov = new Overlay(storeReader(host.store))
    const timestamp = host.provisionalTime()
    const result = await applyOps(ov, { layout: host.layout, sandbox: host.sandbox, writer, timestamp, gov: host.gov }, ops)
    await host.commit(ops, ov, result, log, timestamp)
  })
}

/**
 * Create the collections among `configs` that do not exist yet, as one event (after `first`, the
 * genesis of a new DB, when given).
 */
export async function createCollections(core: DatabaseCore, configs: readonly CollectionConfig[], first: Op[] = []): Promise<void> {
  const existing = new Set((await listConfigs(storeReader(core.host.store), core.layout)).map((c) => c.name))
  const ops: Op[] = [...first]
  for (const c of configs) {
    const info = normalizeConfig(c)
    if (existing.has(info.name)) continue
    existing.add(info.name)
    ops.push({ t: 'newCollection', c: info.name, config: configToJSON(info) })
  }
  if (ops.length > 0) await commitEvent(core, ops)
}

export function createDatabase(core: DatabaseCore): Database {
  const { host } = core
  const commitOps = async (ops: Op[], log?: LogID): Promise<void> => { await commitEvent(core, ops, log) }

  /**
   * One operation as its own write transaction. A conflict is retried: the operation is derived
   * from the caller's arguments alone (nothing it read was shown to the caller), so running it
   * again on the newer state is what the caller asked for.
   */
  async function withWrite<T>(collection: string, options: ReadOptions | undefined, fn: (t: WriteTransaction) => Promise<T>, keep = true): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const txn = core.writeTransaction(collection, options)
      await txn.start()
      try {
        const out = await fn(txn)
        if (keep) await txn.end()
        else await txn.discard()
        return out
      } catch (err) {
        await txn.discard()
        if (!(err instanceof TransactionConflictError) || attempt >= MAX_CONFLICT_RETRIES) throw err
        // Run again once the commit that outdated it has written (staged before, it would be
        // outdated again).
        await core.lock.run('read', async () => undefined)
      }
    }
  }

  async function withRead<T>(collection: string, options: ReadOptions | undefined, fn: (t: ReadTransaction) => Promise<T>): Promise<T> {
    const txn = core.readTransaction(collection, options)
    await txn.start()
    try {
      return await fn(txn)
    } finally {
      await txn.end()
    }
  }

  const db: Database = {
    id: core.id,
    identity: core.writer,
    async newCollection(config, options) {
      const info = normalizeConfig(config)
      await commitOps([{ t: 'newCollection', c: info.name, config: configToJSON(info) }], options?.log)
    },
    async updateCollection(config, options) {
      const info = normalizeConfig(config)
      await commitOps([{ t: 'updateCollection', c: info.name, config: configToJSON(info) }], options?.log)
    },
    async deleteCollection(name, options) {
      await commitOps([{ t: 'deleteCollection', c: checkName(name, 'collection name') }], options?.log)
    },
    async getCollectionInfo(name) {
      return await core.lock.run('read', async () => structuredClone(await requireConfig(storeReader(host.store), host.layout, name)))
    },
    async getGovernance() {
      const roles = await core.roles()
      return { governed: roles.owners !== null, owners: [...roles.owners ?? []], writers: roles.writers === null ? null : [...roles.writers] }
    },
    async updateOwners(change) {
      const list = (v: unknown, what: string): string[] => {
        if (v === undefined) return []
        if (!Array.isArray(v)) throw new InvalidOwnerError(`${what} must be an array of identities`)
        return v.map((x, i) => identityArg(x, `${what}[${i}]`))
      }
      const add = list(change?.add, 'add')
      const remove = list(change?.remove, 'remove')
      if (add.length + remove.length === 0) return
      await commitOps([{ t: 'owners', add, remove }])
    },
    async setWriters(writers) {
      if (writers !== null && !Array.isArray(writers)) throw new InvalidOwnerError('writers must be an array of identities or null')
      await commitOps([{ t: 'writers', set: writers === null ? null : writers.map((x, i) => identityArg(x, `writers[${i}]`)) }])
    },
    async getCollectionIndexes(name) {
      return (await db.getCollectionInfo(name)).indexes
    },
    async listCollections() {
      return await core.lock.run('read', async () => structuredClone(await listConfigs(storeReader(host.store), host.layout)))
    },
    collection<T extends object = JSONObject>(name: string): Collection<T> {
      const c: Collection = {
        name,
        create: async (instances, options) => await db.create(name, instances, options),
        save: async (instances, options) => { await db.save(name, instances, options) },
        delete: async (ids, options) => { await db.delete(name, ids, options) },
        has: async (ids, options) => await db.has(name, ids, options),
        find: async (query, options) => await db.find(name, query, options),
        findByID: async (id, options) => await db.findByID(name, id, options),
        verify: async (instances, options) => { await db.verify(name, instances, options) },
        explain: async (query, options) => await db.explain(name, query, options),
        readTransaction: (options) => db.readTransaction(name, options),
        writeTransaction: (options) => db.writeTransaction(name, options),
        listen: (options) => db.listen([{ collection: name }], options),
        observe: (query, options) => db.observe(name, query, options)
      }
      return c as unknown as Collection<T>
    },
    create: async (collection, instances, options) => await withWrite(collection, options, async (t) => await t.create(instances)),
    save: async (collection, instances, options) => { await withWrite(collection, options, async (t) => { await t.save(instances) }) },
    delete: async (collection, ids, options) => { await withWrite(collection, options, async (t) => { await t.delete(ids) }) },
    verify: async (collection, instances, options) => { await withWrite(collection, options, async (t) => { await t.verify(instances) }, false) },
    has: async (collection, ids, options) => await withRead(collection, options, async (t) => await t.has(ids)),
    find: async (collection, query, options) => await withRead(collection, options, async (t) => await t.find(query)),
    findByID: async (collection, id, options) => await withRead(collection, options, async (t) => await t.findByID(id)),
    explain: async (collection, query, options) => await withRead(collection, options, async (t) => await t.explain(query)),
    readTransaction: (collection, options) => core.readTransaction(collection, options),
    writeTransaction: (collection, options) => core.writeTransaction(collection, options),
    listen: (filters, options) => core.listen(filters, options),
    observe: (collection, query, options) => observeQuery({
      find: async (c, q, o) => await db.find(c, q, o),
      // Hidden instances come too, without content (src/db/listen.ts `bareHidden`).
      changes: (filters, o) => core.listen(filters, { ...o, bareHidden: true } as ListenOptions)
    }, collection, query, options),
    conflicts: async () => await core.conflicts(),
    sync: async (options) => { await core.sync(options) },
    stateHash: async () => await core.stateHash(),
    lastError: () => core.lastError(),
    close: async () => { await core.close() }
  }
  return db
}

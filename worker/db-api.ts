/**
 * The db handlers and streams a tab calls (`db.<name>`): the DB manager's lifecycle calls, and a
 * DB's collections, instances, queries, transactions (worker/db-txn.ts) and listeners, each
 * taking the DB's thread ID first. Values cross the port as they are (the db's shapes are plain
 * data); a builder query arrives as its JSON form. An optional `token` (from `getToken()`) names
 * the reader of read filters; it must be one this peer issued and not expired.
 */
import { parseThreadID } from '../src/core/index.js'
import type { ThreadID } from '../src/core/types.js'
import { CollectionsNotReceivedError, InvalidTokenError } from '../src/contract/index.js'
import type { DBMethods, DBStreams, FilterErrorNote, Reported, TokenClaims, TxnBatch } from '../src/contract/index.js'
import type {
  CollectionConfig, Database, DBManager, FilterFailure, InstanceID, ListenEvent, ListenFilter, QueryJSON, ReadOptions
} from '../src/db/index.js'
import type { HandlerTable, StreamTable } from './api.js'
import { createTxnSessions } from './db-txn.js'
import type { TokenIssuer } from './token.js'

export interface DBApiInit {
  manager: () => Promise<DBManager>
  tokens: TokenIssuer
  /** This peer's ID: tokens must be ours. */
  peerId: string
  /** @default 30000 */
  txnIdleMs?: number
  /** Pull a thread from its peers now (speeds up waiting for a joined DB's collections). */
  pull?: (id: ThreadID, options: { signal: AbortSignal }) => Promise<void>
}

/** How often a join that waits for collections looks, and pulls from the thread's peers (ms). */
const COLLECTIONS_POLL_MS = 200
const COLLECTIONS_PULL_MS = 2000
/** Default and longest wait for a joined DB's collections (ms). */
const COLLECTIONS_WAIT_MS = 30_000
const MAX_COLLECTIONS_WAIT_MS = 10 * 60_000

/** Verified tokens kept (a token is checked once, then by its expiry). */
const TOKEN_CACHE = 256

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a string`)
  return v
}

function list<T>(v: unknown, what: string): T[] {
  if (!Array.isArray(v)) throw new TypeError(`${what} must be an array`)
  return v as T[]
}

function opts(v: unknown): Record<string, unknown> {
  return v != null && typeof v === 'object' ? v as Record<string, unknown> : {}
}

function tid(v: unknown): ThreadID {
  return parseThreadID(str(v, 'thread ID'))
}

function query(v: unknown): QueryJSON | undefined {
  return v == null ? undefined : v as QueryJSON
}

export function dbApi(init: DBApiInit): { handlers: HandlerTable<DBMethods>; streams: StreamTable<DBStreams>; close(): void } {
  const verified = new Map<string, TokenClaims>()

  /** The identity a token names (undefined without one). */
  async function identityOf(token: unknown): Promise<string | undefined> {
    if (token == null) return undefined
    const t = str(token, 'token')
    const hit = verified.get(t)
    if (hit !== undefined && hit.exp > Date.now()) return hit.sub
    verified.delete(t)
    const claims = await init.tokens.verify(t)
    if (claims.iss !== init.peerId) throw new InvalidTokenError('the token was issued by another peer')
    if (verified.size >= TOKEN_CACHE) verified.delete(verified.keys().next().value!)
    verified.set(t, claims)
    return claims.sub
  }

  async function reading(o: unknown, failures?: FilterFailure[]): Promise<ReadOptions> {
    const identity = await identityOf(opts(o).token)
    return {
      ...(identity !== undefined ? { identity } : {}),
      ...(failures !== undefined ? { onFilterError: (f: FilterFailure) => { failures.push(copyFailure(f)) } } : {})
    }
  }

  /**
   * A read whose options may ask for the read filter's failures (`reportFilterErrors`): then it
   * answers `{ result, filterErrors }`, and the tab calls its `onFilterError` with each.
   */
  async function read<T>(o: unknown, run: (options: ReadOptions) => Promise<T>): Promise<T | Reported<T>> {
    if (opts(o).reportFilterErrors !== true) return await run(await reading(o))
    const failures: FilterFailure[] = []
    const result = await run(await reading(o, failures))
    return { result, filterErrors: failures }
  }

  /** Resolves once the DB defines its collections (`names`, or any); CollectionsNotReceivedError at the deadline. */
  async function waitForCollections(id: ThreadID, names: string[] | null, timeoutMs: number, signal: AbortSignal): Promise<string[]> {
    const d = await db(id)
    const deadline = AbortSignal.timeout(timeoutMs)
    const stop = AbortSignal.any([signal, deadline])
    let lastPull = 0
    while (true) {
      const have = (await d.listCollections()).map((c) => c.name)
      if (names === null ? have.length > 0 : names.every((n) => have.includes(n))) return have
      if (deadline.aborted) {
        throw new CollectionsNotReceivedError(`joined ${id}, but ${names === null ? 'no collection definition' : `the definitions of ${names.filter((n) => !have.includes(n)).join(', ')}`} arrived within ${timeoutMs} ms (the DB stays joined: they apply when they arrive)`)
      }
      if (signal.aborted) throw signal.reason as Error
      if (init.pull !== undefined && Date.now() - lastPull >= COLLECTIONS_PULL_MS) {
        lastPull = Date.now()
        void init.pull(id, { signal: stop }).catch(() => undefined)
      }
      await d.sync({ signal: stop }).catch(() => undefined)
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, COLLECTIONS_POLL_MS)
        function done (): void { clearTimeout(t); stop.removeEventListener('abort', done); resolve() }
        stop.addEventListener('abort', done, { once: true })
      })
    }
  }

  async function db(id: unknown): Promise<Database> {
    const thread = tid(id)
    return (await init.manager()).getDB(thread)
  }

  const txns = createTxnSessions({
    idleMs: init.txnIdleMs ?? 30_000,
    async open(begin, failures) {
      const [d, options] = await Promise.all([db(begin.thread), reading(begin, failures)])
      return begin.kind === 'write' ? d.writeTransaction(begin.collection, options) : d.readTransaction(begin.collection, options)
    }
  })

  const handlers: HandlerTable<DBMethods> = {
    // ---- lifecycle ----
    newDB: async ([id, o], { signal }) => {
      const options = opts(o)
      const created = await (await init.manager()).newDB(id == null ? undefined : tid(id), {
        signal,
        ...(options.name != null ? { name: str(options.name, 'name') } : {}),
        ...(options.collections != null ? { collections: list<CollectionConfig>(options.collections, 'collections') } : {}),
        ...(options.threadKey != null ? { threadKey: str(options.threadKey, 'threadKey') } : {}),
        ...(options.owner != null ? { owner: str(options.owner, 'owner') } : {})
      })
      return created.id
    },
    newDBFromAddr: async ([address, key, o], { signal }) => {
      const options = opts(o)
      const joined = await (await init.manager()).newDBFromAddr(str(address, 'address'), str(key, 'key'), {
        signal,
        ...(options.name != null ? { name: str(options.name, 'name') } : {}),
        ...(options.collections != null ? { collections: list<CollectionConfig>(options.collections, 'collections') } : {}),
        ...(options.owner != null ? { owner: str(options.owner, 'owner') } : {})
      })
      return joined.id
    },
    waitForCollections: async ([id, names, o], { signal }) => {
      const t = opts(o).timeoutMs
      const timeoutMs = typeof t === 'number' && Number.isFinite(t) ? Math.min(MAX_COLLECTIONS_WAIT_MS, Math.max(0, t)) : COLLECTIONS_WAIT_MS
      return await waitForCollections(tid(id), names == null ? null : list<string>(names, 'collection names').map((n) => str(n, 'collection name')), timeoutMs, signal)
    },
    getDBInfo: async ([id]) => {
      const thread = tid(id)
      return { id: thread, ...await (await init.manager()).getDBInfo(thread) }
    },
    listDBs: async () => await (await init.manager()).listDBs(),
    deleteDB: async ([id]) => { await (await init.manager()).deleteDB(tid(id)) },

    // ---- collections ----
    newCollection: async ([id, config]) => { await (await db(id)).newCollection(config as CollectionConfig) },
    updateCollection: async ([id, config]) => { await (await db(id)).updateCollection(config as CollectionConfig) },
    deleteCollection: async ([id, name]) => { await (await db(id)).deleteCollection(str(name, 'collection name')) },
    getCollectionInfo: async ([id, name]) => await (await db(id)).getCollectionInfo(str(name, 'collection name')),
    getCollectionIndexes: async ([id, name]) => await (await db(id)).getCollectionIndexes(str(name, 'collection name')),
    listCollections: async ([id]) => await (await db(id)).listCollections(),

    // ---- owners and writers ----
    getGovernance: async ([id]) => await (await db(id)).getGovernance(),
    updateOwners: async ([id, change]) => {
      const c = opts(change)
      await (await db(id)).updateOwners({
        ...(c.add != null ? { add: list<string>(c.add, 'owners to add') } : {}),
        ...(c.remove != null ? { remove: list<string>(c.remove, 'owners to remove') } : {})
      })
    },
    setWriters: async ([id, writers]) => { await (await db(id)).setWriters(writers === null ? null : list<string>(writers, 'writers')) },

    // ---- instances and queries (each write its own transaction) ----
    create: async ([id, c, instances, o]) => await (await db(id)).create(str(c, 'collection'), list<object>(instances, 'instances'), await reading(o)),
    save: async ([id, c, instances, o]) => { await (await db(id)).save(str(c, 'collection'), list<object>(instances, 'instances'), await reading(o)) },
    delete: async ([id, c, ids, o]) => { await (await db(id)).delete(str(c, 'collection'), list<InstanceID>(ids, 'ids'), await reading(o)) },
    has: async ([id, c, ids, o]) => { const d = await db(id); return await read(o, async (r) => await d.has(str(c, 'collection'), list<InstanceID>(ids, 'ids'), r)) },
    find: async ([id, c, q, o]) => { const d = await db(id); return await read(o, async (r) => await d.find(str(c, 'collection'), query(q), r)) },
    findByID: async ([id, c, instanceID, o]) => { const d = await db(id); return await read(o, async (r) => await d.findByID(str(c, 'collection'), str(instanceID, 'instance ID'), r)) },
    verify: async ([id, c, instances, o]) => { await (await db(id)).verify(str(c, 'collection'), list<object>(instances, 'instances'), await reading(o)) },
    explain: async ([id, c, q, o]) => { const d = await db(id); return await read(o, async (r) => await d.explain(str(c, 'collection'), query(q), r)) },

    // ---- the rest of a DB ----
    conflicts: async ([id]) => await (await db(id)).conflicts(),
    sync: async ([id], { signal }) => { await (await db(id)).sync({ signal }) },
    stateHash: async ([id]) => await (await db(id)).stateHash(),

    // ---- transactions ----
    txn: async ([batch], ctx) => await txns.exec(batch as TxnBatch, ctx)
  }

  const streams: StreamTable<DBStreams> = {
    listen: async ([id, filters, o], { signal }) => {
      const options = opts(o)
      const [d, identity] = await Promise.all([db(id), identityOf(options.token)])
      const report = options.reportFilterErrors === true
      const failures: FilterFailure[] = []
      let noted: (() => void) | undefined
      const source = d.listen(filters == null ? [] : list<ListenFilter>(filters, 'filters'), {
        signal,
        ...(identity !== undefined ? { identity } : {}),
        ...(typeof options.bufferSize === 'number' ? { bufferSize: options.bufferSize } : {}),
        ...(report ? { onFilterError: (f: FilterFailure) => { failures.push(copyFailure(f)); noted?.() } } : {})
      })
      return report ? withFilterNotes(source, failures, (fn) => { noted = fn }) : source
    },
    // A live query (src/db/observe.ts): the result now, then each time a change alters it.
    observe: async ([id, c, q, o], { signal }) => {
      const [d, identity] = await Promise.all([db(id), identityOf(opts(o).token)])
      return d.observe(str(c, 'collection'), query(q), { signal, ...(identity !== undefined ? { identity } : {}) })
    }
  }

  return { handlers, streams, close: () => { txns.close() } }
}

function copyFailure(f: FilterFailure): FilterFailure {
  return { collection: f.collection, instanceID: f.instanceID, error: { name: f.error.name, message: f.error.message } }
}

/**
 * A listener's events with a note for each instance its read filter failed on, in the order they
 * happened (a note is sent as soon as it happens, even while no event follows).
 */
async function * withFilterNotes(
  source: AsyncIterable<ListenEvent>, failures: FilterFailure[], onNote: (fn: (() => void) | undefined) => void
): AsyncGenerator<ListenEvent | FilterErrorNote> {
  const it = source[Symbol.asyncIterator]()
  try {
    let next = it.next()
    while (true) {
      while (failures.length > 0) yield { type: 'filterError', failure: failures.shift()! }
      const noted = new Promise<'note'>((resolve) => { onNote(() => { resolve('note') }) })
      const r = await Promise.race([next, noted])
      onNote(undefined)
      if (r === 'note') continue
      if (r.done === true) break
      yield r.value
      next = it.next()
    }
    while (failures.length > 0) yield { type: 'filterError', failure: failures.shift()! }
  } finally {
    await it.return?.()
  }
}

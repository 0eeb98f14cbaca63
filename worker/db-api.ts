/**
 * The db handlers and streams a tab calls (`db.<name>`): the DB manager's lifecycle calls, and a
 * DB's collections, instances, queries, transactions (worker/db-txn.ts) and listeners, each
 * taking the DB's thread ID first. Values cross the port as they are (the db's shapes are plain
 * data); a builder query arrives as its JSON form. An optional `token` (from `getToken()`) names
 * the reader of read filters; it must be one this peer issued and not expired.
 */
import { parseThreadID } from '../src/core/thread-id.js'
import type { ThreadID } from '../src/core/types.js'
import { InvalidTokenError } from '../src/client/errors.js'
import type { TokenClaims, TxnBatch } from '../src/client/protocol.js'
import type {
  CollectionConfig, Database, DBManager, InstanceID, ListenFilter, QueryJSON, ReadOptions
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
}

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

export function dbApi(init: DBApiInit): { handlers: HandlerTable; streams: StreamTable; close(): void } {
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

  async function reading(o: unknown): Promise<ReadOptions> {
    const identity = await identityOf(opts(o).token)
    return identity !== undefined ? { identity } : {}
  }

  async function db(id: unknown): Promise<Database> {
    const thread = tid(id)
    return (await init.manager()).getDB(thread)
  }

  const txns = createTxnSessions({
    idleMs: init.txnIdleMs ?? 30_000,
    async open(begin) {
      const [d, options] = await Promise.all([db(begin.thread), reading(begin)])
      return begin.kind === 'write' ? d.writeTransaction(begin.collection, options) : d.readTransaction(begin.collection, options)
    }
  })

  const handlers: HandlerTable = {
    // ---- lifecycle ----
    newDB: async ([id, o], { signal }) => {
      const options = opts(o)
      const created = await (await init.manager()).newDB(id == null ? undefined : tid(id), {
        signal,
        ...(options.name != null ? { name: str(options.name, 'name') } : {}),
        ...(options.collections != null ? { collections: list<CollectionConfig>(options.collections, 'collections') } : {}),
        ...(options.threadKey != null ? { threadKey: str(options.threadKey, 'threadKey') } : {})
      })
      return created.id
    },
    newDBFromAddr: async ([address, key, o], { signal }) => {
      const options = opts(o)
      const joined = await (await init.manager()).newDBFromAddr(str(address, 'address'), str(key, 'key'), {
        signal,
        ...(options.name != null ? { name: str(options.name, 'name') } : {}),
        ...(options.collections != null ? { collections: list<CollectionConfig>(options.collections, 'collections') } : {})
      })
      return joined.id
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

    // ---- instances and queries (each write its own transaction) ----
    create: async ([id, c, instances, o]) => await (await db(id)).create(str(c, 'collection'), list<object>(instances, 'instances'), await reading(o)),
    save: async ([id, c, instances, o]) => { await (await db(id)).save(str(c, 'collection'), list<object>(instances, 'instances'), await reading(o)) },
    delete: async ([id, c, ids, o]) => { await (await db(id)).delete(str(c, 'collection'), list<InstanceID>(ids, 'ids'), await reading(o)) },
    has: async ([id, c, ids, o]) => await (await db(id)).has(str(c, 'collection'), list<InstanceID>(ids, 'ids'), await reading(o)),
    find: async ([id, c, q, o]) => await (await db(id)).find(str(c, 'collection'), query(q), await reading(o)),
    findByID: async ([id, c, instanceID, o]) => await (await db(id)).findByID(str(c, 'collection'), str(instanceID, 'instance ID'), await reading(o)),
    verify: async ([id, c, instances, o]) => { await (await db(id)).verify(str(c, 'collection'), list<object>(instances, 'instances'), await reading(o)) },
    explain: async ([id, c, q, o]) => await (await db(id)).explain(str(c, 'collection'), query(q), await reading(o)),

    // ---- the rest of a DB ----
    conflicts: async ([id]) => await (await db(id)).conflicts(),
    sync: async ([id], { signal }) => { await (await db(id)).sync({ signal }) },
    stateHash: async ([id]) => await (await db(id)).stateHash(),

    // ---- transactions ----
    txn: async ([batch], ctx) => await txns.exec(batch as TxnBatch, ctx)
  }

  const streams: StreamTable = {
    listen: async ([id, filters, o], { signal }) => {
      const options = opts(o)
      const [d, identity] = await Promise.all([db(id), identityOf(options.token)])
      return d.listen(filters == null ? [] : list<ListenFilter>(filters, 'filters'), {
        signal,
        ...(identity !== undefined ? { identity } : {}),
        ...(typeof options.bufferSize === 'number' ? { bufferSize: options.bufferSize } : {})
      })
    }
  }

  return { handlers, streams, close: () => { txns.close() } }
}

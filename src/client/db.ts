/**
 * The typed db client: every call of src/db's API as a call to the worker's `db.*` handlers
 * (worker/db-api.ts), DBs and collections as handles that hold nothing but names, transactions
 * run in the worker (db-txn.ts), listeners as subscriptions. A query built with `where()` crosses
 * as its JSON form.
 */
import type { ArgsOf, DBMethods, DBStreams, FilterErrorNote, ReadArg, ReadAnswer, ResultOf } from '../contract/index.js'
import { toInvite } from './invite.js'
import type {
  ClientCollection, ClientDatabase, ClientDBInfo, ClientJoinOptions, ClientListenOptions, DBCallOptions, DBClient, FilterFailure,
  JSONObject, ListenEvent, QueryJSON, TxnOptions
} from './db-types.js'
import { openTransaction } from './db-txn.js'
import { joinInvite } from './join.js'
import type { CallOptions, Caller, RawCaller } from './rpc.js'
import type { Subscription } from './stream.js'

/** What the db client is built on: typed calls and streams of the contract, and raw ones. */
export interface DBClientDeps {
  call: Caller
  rawCall: RawCaller
  rawSub: <T>(name: string, args: unknown[], options?: { signal?: AbortSignal }) => Subscription<T>
}

/** The JSON form of a query (a builder query's `toJSON()`), `null` for none. */
function queryJSON(q: QueryJSON | undefined): QueryJSON | null {
  const j = q as { toJSON?: () => QueryJSON } | null | undefined
  return typeof j?.toJSON === 'function' ? j.toJSON() : q ?? null
}

/** Call options without the token (which travels as an argument). */
function callOptions(o: CallOptions = {}): CallOptions {
  return {
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {})
  }
}

/** Hand each read filter failure to `onFilterError` (a throwing callback does not fail the read). */
function report(failures: FilterFailure[], onFilterError: ((f: FilterFailure) => void) | undefined): void {
  for (const f of failures) {
    try { onFilterError?.(f) } catch { /* the caller's callback: its failure is not the read's */ }
  }
}

/** A listener's events, with the read filter failures it reports handed to `onFilterError`. */
function withFilterErrors(sub: Subscription<ListenEvent | FilterErrorNote>, onFilterError: (f: FilterFailure) => void): Subscription<ListenEvent> {
  async function * events(): AsyncGenerator<ListenEvent> {
    for await (const item of sub) {
      if (item.type === 'filterError') { report([item.failure], onFilterError); continue }
      yield item
    }
  }
  const it = events()
  return { ready: sub.ready, close: () => { sub.close() }, [Symbol.asyncIterator]: () => it }
}

export function createDBClient({ call, rawCall, rawSub }: DBClientDeps): DBClient {
  /** A `db.<method>` call of the contract. */
  const dbCall = async <M extends keyof DBMethods>(method: M, args: ArgsOf<DBMethods, M>, o?: CallOptions): Promise<ResultOf<DBMethods, M>> =>
    await (call as unknown as (m: string, a: unknown[], o?: CallOptions) => Promise<ResultOf<DBMethods, M>>)(`db.${method}`, args, callOptions(o))
  /** A `db.<name>` stream of the contract. */
  const dbSub = <S extends keyof DBStreams>(name: S, args: ArgsOf<DBStreams, S>, o: { signal?: AbortSignal }): Subscription<ResultOf<DBStreams, S>> =>
    rawSub(`db.${name}`, args, o)

  function handle(id: string, defaultToken: string | undefined): ClientDatabase {
    /** The token argument of a call: the call's own, else the handle's. */
    const tok = (o?: DBCallOptions): { token?: string } => {
      const token = o?.token ?? defaultToken
      return token !== undefined ? { token } : {}
    }
    /** A read's options argument: its token, and whether to report read filter failures. */
    const readArg = (o?: DBCallOptions): { token?: string; reportFilterErrors?: true } =>
      ({ ...tok(o), ...(o?.onFilterError !== undefined ? { reportFilterErrors: true as const } : {}) })
    /** A read: when it asked for its read filter failures, they come with the result. */
    const read = async <T>(answer: Promise<ReadAnswer<T>>, o?: DBCallOptions): Promise<T> => {
      const a = await answer
      if (o?.onFilterError === undefined) return a as T
      const { result, filterErrors } = a as Exclude<ReadAnswer<T>, T>
      report(filterErrors, o.onFilterError)
      return result
    }
    const r = (o?: DBCallOptions): ReadArg => readArg(o)
    const txnOptions = (o: TxnOptions = {}): TxnOptions => ({ ...o, ...tok(o) })

    const db: ClientDatabase = {
      id,
      newCollection: async (config, o) => { await dbCall('newCollection', [id, config], o) },
      updateCollection: async (config, o) => { await dbCall('updateCollection', [id, config], o) },
      deleteCollection: async (name, o) => { await dbCall('deleteCollection', [id, name], o) },
      getCollectionInfo: async (name, o) => await dbCall('getCollectionInfo', [id, name], o),
      getCollectionIndexes: async (name, o) => await dbCall('getCollectionIndexes', [id, name], o),
      listCollections: async (o) => await dbCall('listCollections', [id], o),
      getGovernance: async (o) => await dbCall('getGovernance', [id], o),
      updateOwners: async (change, o) => {
        await dbCall('updateOwners', [id, {
          ...(change.add !== undefined ? { add: change.add } : {}),
          ...(change.remove !== undefined ? { remove: change.remove } : {})
        }], o)
      },
      setWriters: async (writers, o) => { await dbCall('setWriters', [id, writers], o) },
      collection<T extends object = JSONObject>(name: string): ClientCollection<T> {
        const c: ClientCollection = {
          name,
          create: async (instances, o) => await db.create(name, instances, o),
          save: async (instances, o) => { await db.save(name, instances, o) },
          delete: async (ids, o) => { await db.delete(name, ids, o) },
          has: async (ids, o) => await db.has(name, ids, o),
          find: async (q, o) => await db.find(name, q, o),
          findByID: async (instanceID, o) => await db.findByID(name, instanceID, o),
          verify: async (instances, o) => { await db.verify(name, instances, o) },
          explain: async (q, o) => await db.explain(name, q, o),
          readTransaction: (o) => db.readTransaction(name, o),
          writeTransaction: (o) => db.writeTransaction(name, o),
          listen: (o) => db.listen([{ collection: name }], o),
          observe: (q, o) => db.observe(name, q, o)
        }
        return c as unknown as ClientCollection<T>
      },
      create: async (c, instances, o) => await dbCall('create', [id, c, instances, tok(o)], o),
      save: async (c, instances, o) => { await dbCall('save', [id, c, instances, tok(o)], o) },
      delete: async (c, ids, o) => { await dbCall('delete', [id, c, ids, tok(o)], o) },
      has: async (c, ids, o) => await read(dbCall('has', [id, c, ids, r(o)], o), o),
      find: async (c, q, o) => await read(dbCall('find', [id, c, queryJSON(q), r(o)], o), o),
      findByID: async (c, instanceID, o) => await read(dbCall('findByID', [id, c, instanceID, r(o)], o), o),
      verify: async (c, instances, o) => { await dbCall('verify', [id, c, instances, tok(o)], o) },
      explain: async (c, q, o) => await read(dbCall('explain', [id, c, queryJSON(q), r(o)], o), o),
      readTransaction: (c, o) => openTransaction(rawCall, 'read', { thread: id, collection: c, ...readArg(o) }, txnOptions(o)),
      writeTransaction: (c, o) => openTransaction(rawCall, 'write', { thread: id, collection: c, ...readArg(o) }, txnOptions(o)),
      listen: (filters = [], o: ClientListenOptions = {}) => {
        const stream = dbSub('listen', [id, filters, {
          ...tok(o),
          ...(o.bufferSize !== undefined ? { bufferSize: o.bufferSize } : {}),
          ...(o.onFilterError !== undefined ? { reportFilterErrors: true } : {})
        }], o.signal !== undefined ? { signal: o.signal } : {})
        return o.onFilterError !== undefined ? withFilterErrors(stream, o.onFilterError) : stream as Subscription<ListenEvent>
      },
      observe: <T extends object = JSONObject>(c: string, q?: QueryJSON, o: { signal?: AbortSignal; token?: string } = {}) =>
        dbSub('observe', [id, c, queryJSON(q), { ...(o.token !== undefined ? { token: o.token } : tok()) }], o.signal !== undefined ? { signal: o.signal } : {}) as unknown as Subscription<T[]>,
      conflicts: async (o) => await dbCall('conflicts', [id], o),
      sync: async (o) => { await dbCall('sync', [id], o) },
      stateHash: async (o) => await dbCall('stateHash', [id], o),
      info: async (o) => await dbCall('getDBInfo', [id], o),
      invite: async (o) => toInvite(await db.info(o))
    }
    return db
  }

  async function joinFrom(address: string, key: string, o: ClientJoinOptions = {}): Promise<ClientDatabase> {
    const options = {
      ...(o.name !== undefined ? { name: o.name } : {}),
      ...(o.collections !== undefined ? { collections: o.collections } : {}),
      ...(o.owner !== undefined ? { owner: o.owner } : {})
    }
    return handle(await dbCall('newDBFromAddr', [address, key, options], o), undefined)
  }
  const client: DBClient = {
    async newDB(threadID, o = {}) {
      const options = {
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.collections !== undefined ? { collections: o.collections } : {}),
        ...(o.threadKey !== undefined ? { threadKey: o.threadKey } : {}),
        ...(o.owner !== undefined ? { owner: o.owner } : {})
      }
      return handle(await dbCall('newDB', [threadID ?? null, options], o), undefined)
    },
    newDBFromAddr: joinFrom,
    async join(invite, o = {}) {
      const id = await joinInvite(invite, o, {
        joinFrom: async (address, key, options) => (await joinFrom(address, key, options)).id,
        waitForCollections: async (thread, names, timeoutMs, options) => {
          await dbCall('waitForCollections', [thread, names, { timeoutMs }], options)
        }
      })
      return handle(id, undefined)
    },
    getDB: (threadID, o = {}) => handle(threadID, o.token),
    getDBInfo: async (threadID, o): Promise<ClientDBInfo> => await dbCall('getDBInfo', [threadID], o),
    invite: async (threadID, o) => toInvite(await client.getDBInfo(threadID, o)),
    listDBs: async (o) => await dbCall('listDBs', [], o),
    deleteDB: async (threadID, o) => { await dbCall('deleteDB', [threadID], o) },
    call: async (method, args, o) => await rawCall(`db.${method}`, args, o),
    stream: (method, args, o) => rawSub(`db.${method}`, args, o)
  }
  return client
}

/**
 * The DB API (`threads.pb.API`): DBs, collections, instances and queries as unary calls, plus
 * GetToken and Listen. Transactions are in hub/txn-service.ts. Requests are checked field by field
 * (hub/codec.ts); errors become gRPC statuses in the router's interceptor (hub/status.ts).
 */
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect'
import { Code, ConnectError } from '@connectrpc/connect'
import type { ListenFilter } from '../src/db/index.js'
import type { API} from './gen/threads_pb.js';
import { ListenRequest_Filter_Action, ListenReply_Action } from './gen/threads_pb.js'
import { callerOf, dbOf, readAs, writeAs, type ApiContext } from './api.js'
import {
  collectionConfigOf, collectionInfoToPb, instanceOf, queryOf, threadAddrFromBytes, threadAddrToBytes, threadIDOf, threadIDToBytes,
  threadKeyBytes, threadKeyOf, toJSONBytes
} from './codec.js'
import { InvalidRequestError, UnauthenticatedError } from './errors.js'
import { tokenExchange } from './streams.js'
import { readTransactionStream, writeTransactionStream } from './txn-service.js'

const LISTEN_TYPES: Record<number, ListenFilter['type']> = {
  [ListenRequest_Filter_Action.ALL]: 'all',
  [ListenRequest_Filter_Action.CREATE]: 'create',
  [ListenRequest_Filter_Action.SAVE]: 'save',
  [ListenRequest_Filter_Action.DELETE]: 'delete'
}
const LISTEN_ACTIONS = { create: ListenReply_Action.CREATE, save: ListenReply_Action.SAVE, delete: ListenReply_Action.DELETE } as const

const optional = (s: string): string | undefined => (s === '' ? undefined : s)

export function dbService(api: ApiContext): ServiceImpl<typeof API> {
  /** Authenticate the call, then find its DB. */
  const open = async (ctx: HandlerContext, dbID: Uint8Array) => {
    const identity = await callerOf(api, ctx)
    return { identity, db: dbOf(api, dbID), as: readAs(api, identity) }
  }
  /** Authenticate a write, find its DB and the caller's log in it. */
  const openToWrite = async (ctx: HandlerContext, dbID: Uint8Array) => {
    const identity = await callerOf(api, ctx)
    const db = dbOf(api, dbID)
    return { identity, db, as: await writeAs(api, db, identity) }
  }
  const dbInfo = async (id: Parameters<typeof api.manager.getDBInfo>[0]) => {
    const info = await api.manager.getDBInfo(id)
    return { name: info.name, key: threadKeyBytes(info.key), addrs: info.addrs.map(threadAddrToBytes), owners: info.owners }
  }

  return {
    getToken: (requests, ctx) => tokenExchange(api.auth, requests, ctx, api.idleTimeoutMs),

    async newDB(req, ctx) {
      const identity = await callerOf(api, ctx)
      const key = threadKeyOf(req.key)
      const name = optional(req.name)
      const collections = req.collections.map(collectionConfigOf)
      // Refuse before making anything an identity that could not write in the new DB.
      if (identity !== undefined && api.auth.delegation(identity) === undefined) {
        throw new UnauthenticatedError(`the hub holds no delegation from ${identity} to write as it in a new DB: call GetToken again`)
      }
      // The caller owns the DB (the hub without a token): only it defines collections.
      const db = await api.manager.newDB(threadIDOf(req.dbID), {
        owner: identity ?? api.auth.identity,
        ...(name !== undefined ? { name } : {}),
        ...(key !== undefined ? { threadKey: key } : {}),
        signal: ctx.signal
      })
      const as = await writeAs(api, db, identity)
      for (const config of collections) await db.newCollection(config, as)
      return {}
    },

    async newDBFromAddr(req, ctx) {
      await callerOf(api, ctx)
      const address = threadAddrFromBytes(req.addr)
      const key = threadKeyOf(req.key) ?? threadKeyOf(req.threadKey, 'threadKey')
      if (key === undefined) throw new InvalidRequestError('thread read key is required')
      const name = optional(req.name)
      await api.manager.newDBFromAddr(address, key, {
        collections: req.collections.map(collectionConfigOf),
        ...(name !== undefined ? { name } : {}),
        signal: ctx.signal
      })
      return {}
    },

    async listDBs(_req, ctx) {
      await callerOf(api, ctx)
      const dbs = await api.manager.listDBs()
      return { dbs: await Promise.all(dbs.map(async (d) => ({ dbID: threadIDToBytes(d.id), info: await dbInfo(d.id) }))) }
    },

    async getDBInfo(req, ctx) {
      await callerOf(api, ctx)
      return await dbInfo(threadIDOf(req.dbID))
    },

    async deleteDB(req, ctx) {
      await callerOf(api, ctx)
      const id = threadIDOf(req.dbID)
      await api.manager.deleteDB(id)
      api.logs.forget(id)
      return {}
    },

    async newCollection(req, ctx) {
      const { db, as } = await openToWrite(ctx, req.dbID)
      await db.newCollection(collectionConfigOf(req.config), as)
      return {}
    },

    async updateCollection(req, ctx) {
      const { db, as } = await openToWrite(ctx, req.dbID)
      await db.updateCollection(collectionConfigOf(req.config), as)
      return {}
    },

    async deleteCollection(req, ctx) {
      const { db, as } = await openToWrite(ctx, req.dbID)
      await db.deleteCollection(req.name, as)
      return {}
    },

    async getCollectionInfo(req, ctx) {
      const { db } = await open(ctx, req.dbID)
      return collectionInfoToPb(await db.getCollectionInfo(req.name))
    },

    async getCollectionIndexes(req, ctx) {
      const { db } = await open(ctx, req.dbID)
      return { indexes: (await db.getCollectionIndexes(req.name)).map((i) => ({ path: i.path, unique: i.unique === true })) }
    },

    async listCollections(req, ctx) {
      const { db } = await open(ctx, req.dbID)
      return { collections: (await db.listCollections()).map(collectionInfoToPb) }
    },

    async create(req, ctx) {
      const { db, as } = await openToWrite(ctx, req.dbID)
      return { instanceIDs: await db.create(req.collectionName, req.instances.map(instanceOf), as) }
    },

    async verify(req, ctx) {
      const { db, as } = await openToWrite(ctx, req.dbID)
      await db.verify(req.collectionName, req.instances.map(instanceOf), as)
      return {}
    },

    async save(req, ctx) {
      const { db, as } = await openToWrite(ctx, req.dbID)
      await db.save(req.collectionName, req.instances.map(instanceOf), as)
      return {}
    },

    async delete(req, ctx) {
      const { db, as } = await openToWrite(ctx, req.dbID)
      await db.delete(req.collectionName, req.instanceIDs, as)
      return {}
    },

    async has(req, ctx) {
      const { db, as } = await open(ctx, req.dbID)
      return { exists: await db.has(req.collectionName, req.instanceIDs, as) }
    },

    async find(req, ctx) {
      const { db, as } = await open(ctx, req.dbID)
      return { instances: (await db.find(req.collectionName, queryOf(req.queryJSON), as)).map(toJSONBytes) }
    },

    async findByID(req, ctx) {
      const { db, as } = await open(ctx, req.dbID)
      return { instance: toJSONBytes(await db.findByID(req.collectionName, req.instanceID, as)) }
    },

    readTransaction: (requests, ctx) => readTransactionStream(api, requests, ctx),
    writeTransaction: (requests, ctx) => writeTransactionStream(api, requests, ctx),

    async * listen(req, ctx) {
      const { db, identity } = await open(ctx, req.dbID)
      const filters: ListenFilter[] = req.filters.map((f) => {
        const type = LISTEN_TYPES[f.action]
        if (type === undefined) throw new ConnectError(`invalid filter action ${f.action}`, Code.InvalidArgument)
        const collection = optional(f.collectionName)
        const instanceID = optional(f.instanceID)
        return { type, ...(collection !== undefined ? { collection } : {}), ...(instanceID !== undefined ? { instanceID } : {}) }
      })
      try {
        for await (const e of db.listen(filters, { signal: ctx.signal, ...readAs(api, identity) })) {
          // go-threads listeners see changes only; Weft's also see rejected events.
          if (e.type === 'rejected') continue
          yield {
            collectionName: e.collection,
            instanceID: e.instanceID,
            action: LISTEN_ACTIONS[e.type],
            instance: e.instance === undefined ? new Uint8Array(0) : toJSONBytes(e.instance)
          }
        }
      } catch (err) {
        if (!ctx.signal.aborted) throw err
      }
    }
  }
}

/**
 * The DB manager: every DB of a peer, in one key-value store, each on its own thread. It reloads
 * the DBs it knows on start, creates DBs on new threads, joins DBs from an address and a key,
 * gives out what another peer needs to join, and deletes DBs with their data.
 */
import { logger } from '../core/logger.js'
import { newThreadID } from '../core/thread-id.js'
import type { ThreadID } from '../core/types.js'
import type { KVStore } from '../store/kv.js'
import { openDatabase, type DatabaseCore } from './db.js'
import { createCollections, createDatabase, type Database } from './database.js'
import { DBClosedError, DBExistsError, DBNotFoundError } from './errors.js'
import { dbPrefix, registryKey, registryPrefix, utf8, fromUtf8 } from './keys.js'
import type { DBNet } from './net.js'
import { createSandbox, type Sandbox, type SandboxInit } from './sandbox.js'
import { checkName } from './schema.js'
import type { DBInfo, DBListEntry, NewDBFromAddrOptions, NewDBOptions } from './types.js'

const log = logger('weft:db:manager')

export interface DBManagerInit {
  /** The thread network (see {@link dbNetFromNet} for a real Net). */
  net: DBNet
  /** Where documents, indexes and event bookkeeping live (may be shared with the log store). */
  kv: KVStore
  /** The validator sandbox, or the limits of a new one (shared by the manager's DBs). */
  sandbox?: SandboxInit | Sandbox
  /** Bytes of ops per record; a larger transaction spans several records. @default 900_000 */
  maxEventBytes?: number
  /** Prefix of log lines (multi-peer tests). */
  logPrefix?: string
}

export interface DBManager {
  /** Create a DB on a new thread (a random thread ID when none is given). */
  newDB(threadID?: ThreadID, options?: NewDBOptions): Promise<Database>
  /** Join a DB from a thread address and its key; collections are read from the thread. */
  newDBFromAddr(address: string, key: string, options?: NewDBFromAddrOptions): Promise<Database>
  getDB(threadID: ThreadID): Database
  /** What another peer needs to join: name, thread addresses and the full key. */
  getDBInfo(threadID: ThreadID): Promise<DBInfo>
  listDBs(): Promise<DBListEntry[]>
  /** Close the DB, delete its thread and erase its data. */
  deleteDB(threadID: ThreadID): Promise<void>
  /** Close every DB (the net and the store stay open: they are the caller's). Idempotent. */
  close(): Promise<void>
}

interface Open { db: Database; core: DatabaseCore; name: string }

export async function createDBManager(init: DBManagerInit): Promise<DBManager> {
  const { net, kv: store } = init
  const given = init.sandbox
  const ownsSandbox = given === undefined || !('validate' in given)
  const sandbox: Sandbox = ownsSandbox ? await createSandbox(given as SandboxInit | undefined) : given
  const dbs = new Map<ThreadID, Open>()
  let closed = false

  async function open(id: ThreadID, name: string): Promise<Open> {
    const core = await openDatabase({
      id, net, store, sandbox,
      ...(init.logPrefix !== undefined ? { logPrefix: init.logPrefix } : {}),
      ...(init.maxEventBytes !== undefined ? { maxEventBytes: init.maxEventBytes } : {})
    })
    const entry = { db: createDatabase(core), core, name }
    dbs.set(id, entry)
    return entry
  }

  async function register(id: ThreadID, name: string): Promise<void> {
    await store.put(registryKey(id), utf8(JSON.stringify({ name })))
  }

  function assertOpen(): void {
    if (closed) throw new DBClosedError('the DB manager is closed')
  }

  // Reload the DBs this store knows.
  const prefix = registryPrefix()
  const known: Array<[ThreadID, string]> = []
  for await (const [k, v] of store.range({ prefix })) {
    const id = fromUtf8(k.subarray(prefix.length, k.length - 2)) as ThreadID
    known.push([id, (JSON.parse(fromUtf8(v)) as { name: string }).name])
  }
  try {
    for (const [id, name] of known) await open(id, name)
  } catch (err) {
    await Promise.all([...dbs.values()].map(async (d) => { await d.core.close() }))
    if (ownsSandbox) sandbox.dispose()
    throw err
  }
  log('loaded %d DBs', known.length)

  const manager: DBManager = {
    async newDB(threadID, options = {}) {
      assertOpen()
      const id = threadID ?? newThreadID()
      const name = checkName(options.name ?? 'unnamed', 'DB name')
      if (dbs.has(id)) throw new DBExistsError(`db already exists: ${id}`)
      try {
        await net.createThread(id, { ...(options.threadKey !== undefined ? { threadKey: options.threadKey } : {}), ...(options.signal !== undefined ? { signal: options.signal } : {}) })
      } catch (err) {
        if ((err as Error).name === 'ThreadAlreadyExistsError') throw new DBExistsError(`db already exists: ${id}`, { cause: err })
        throw err
      }
      await register(id, name)
      const entry = await open(id, name)
      await createCollections(entry.core, options.collections ?? [])
      return entry.db
    },

    async newDBFromAddr(address, key, options = {}) {
      assertOpen()
      const name = checkName(options.name ?? 'unnamed', 'DB name')
      const info = await net.addThread(address, { threadKey: key, ...(options.signal !== undefined ? { signal: options.signal } : {}) })
      if (dbs.has(info.id)) throw new DBExistsError(`db already exists: ${info.id}`)
      await register(info.id, name)
      const entry = await open(info.id, name)
      await createCollections(entry.core, options.collections ?? [])
      return entry.db
    },

    getDB(threadID) {
      assertOpen()
      const entry = dbs.get(threadID)
      if (entry === undefined) throw new DBNotFoundError(`db not found: ${threadID}`)
      return entry.db
    },

    async getDBInfo(threadID) {
      assertOpen()
      const entry = dbs.get(threadID)
      if (entry === undefined) throw new DBNotFoundError(`db not found: ${threadID}`)
      const info = await net.getThread(threadID)
      return { name: entry.name, addrs: info.addrs, key: info.key }
    },

    async listDBs() {
      assertOpen()
      return await Promise.all([...dbs.keys()].map(async (id) => ({ id, info: await manager.getDBInfo(id) })))
    },

    async deleteDB(threadID) {
      assertOpen()
      const entry = dbs.get(threadID)
      if (entry === undefined) throw new DBNotFoundError(`db not found: ${threadID}`)
      await entry.core.close()
      dbs.delete(threadID)
      await net.deleteThread(threadID)
      // Erase the DB's keys in chunks, the registry entry last (a crash leaves it to retry).
      const base = dbPrefix(threadID)
      for (;;) {
        const keys: Uint8Array[] = []
        for await (const [k] of store.range({ prefix: base, limit: 1024 })) keys.push(k)
        if (keys.length === 0) break
        await store.batch(keys.map((key) => ({ type: 'del' as const, key })))
      }
      await store.delete(registryKey(threadID))
    },

    async close() {
      if (closed) return
      closed = true
      await Promise.all([...dbs.values()].map(async (d) => { await d.core.close() }))
      dbs.clear()
      if (ownsSandbox) sandbox.dispose()
    }
  }
  return manager
}

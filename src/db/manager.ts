/**
 * The DB manager: every DB of a peer, in one key-value store, each on its own thread. It reloads
 * the DBs it knows on start, creates DBs on new threads (whose IDs commit to their creator, who
 * owns them), joins DBs from an address and a key, gives out what another peer needs to join,
 * and deletes DBs with their data.
 */
import { equalBytes } from '../core/index.js'
import { generateKeyPair, identityToString, privateKeyToBytes, publicKeyFromBytes, publicKeyToBytes } from '../core/index.js'
import { logger } from '../core/logger.js'
import type { ThreadID } from '../core/types.js'
import type { KVStore } from '../store/kv.js'
import { earlyOpen, threadOfAddress, watchArrivals } from './arrivals.js'
import { openDatabase, type DatabaseCore } from './db.js'
import { createCollections, createDatabase, identityArg, type Database } from './database.js'
import { DBClosedError, DBExistsError, DBNotFoundError, InvalidOwnerError } from './errors.js'
import { committedThreadID } from './governance.js'
import { dbPrefix, registryKey, registryPrefix, utf8, fromUtf8 } from './keys.js'
import type { DBRecord } from './admit.js'
import type { DBNet, DBThreadInfo } from './net.js'
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
  /** This peer's clock (ms since the epoch), against which remote event times are bounded. @default Date.now */
  now?: () => number
  /** How far ahead of `now` a remote event may be stamped before it is held until its time. @default 60_000 */
  maxClockDriftMs?: number
  /** Prefix of log lines (multi-peer tests). */
  logPrefix?: string
}

export interface DBManager {
  /**
   * Create a DB on a new thread. Without a thread ID, the new ID commits to this peer's writer
   * identity, which owns the DB; with one, the DB is owned by `options.owner`, or ungoverned.
   */
  newDB(threadID?: ThreadID, options?: NewDBOptions): Promise<Database>
  /** Join a DB from a thread address and its key; collections are read from the thread. */
  newDBFromAddr(address: string, key: string, options?: NewDBFromAddrOptions): Promise<Database>
  getDB(threadID: ThreadID): Database
  /** What another peer needs to join (name, thread addresses, the full key), and who governs the DB. */
  getDBInfo(threadID: ThreadID): Promise<DBInfo>
  listDBs(): Promise<DBListEntry[]>
  /** Close the DB, delete its thread and erase its data. */
  deleteDB(threadID: ThreadID): Promise<void>
  /** Close every DB (the net and the store stay open: they are the caller's). Idempotent. */
  close(): Promise<void>
}

interface Open { db: Database; core: DatabaseCore; name: string }

/** A registry entry: the DB's local name, and the owner given for a thread ID that does not commit. */
interface Registered { name: string; owner?: string }

export async function createDBManager(init: DBManagerInit): Promise<DBManager> {
  const { net, kv: store } = init
  const given = init.sandbox
  const ownsSandbox = given === undefined || !('validate' in given)
  const sandbox: Sandbox = ownsSandbox ? await createSandbox(given as SandboxInit | undefined) : given
  const dbs = new Map<ThreadID, Open>()
  let closed = false

  async function open(id: ThreadID, reg: Registered, committed = false, received?: () => Promise<readonly DBRecord[]>): Promise<Open> {
    return opened(id, reg, await openCore(id, reg, committed, received))
  }

  function opened(id: ThreadID, reg: Registered, core: DatabaseCore): Open {
    const entry = { db: createDatabase(core), core, name: reg.name }
    dbs.set(id, entry)
    return entry
  }

  async function openCore(id: ThreadID, reg: Registered, committed = false, received?: () => Promise<readonly DBRecord[]>, joining = false): Promise<DatabaseCore> {
    return await openDatabase({
      id, net, store, sandbox,
      ...(received !== undefined ? { received } : {}),
      ...(joining ? { joining } : {}),
      ...(reg.owner !== undefined ? { owner: reg.owner } : {}),
      ...(committed ? { committed } : {}),
      ...(init.logPrefix !== undefined ? { logPrefix: init.logPrefix } : {}),
      ...(init.maxEventBytes !== undefined ? { maxEventBytes: init.maxEventBytes } : {}),
      ...(init.now !== undefined ? { now: init.now } : {}),
      ...(init.maxClockDriftMs !== undefined ? { maxClockDriftMs: init.maxClockDriftMs } : {})
    })
  }

  async function register(id: ThreadID, reg: Registered): Promise<void> {
    await store.put(registryKey(id), utf8(JSON.stringify(reg)))
  }

  /** Create a thread whose ID commits to the identity our log in it is keyed with. */
  async function createCommittedThread(options: NewDBOptions): Promise<{ id: ThreadID; owner: string; salt: string }> {
    let ownerKey: Uint8Array
    let logKey: Uint8Array | undefined
    if (net.writerKey !== undefined) {
      ownerKey = await net.writerKey()
    } else {
      const key = await generateKeyPair()
      logKey = privateKeyToBytes(key)
      ownerKey = publicKeyToBytes(key.publicKey)
    }
    if (options.owner !== undefined && identityArg(options.owner, 'owner') !== identityToString(publicKeyFromBytes(ownerKey))) {
      throw new InvalidOwnerError('a DB created without a thread ID is owned by its creator: give a thread ID to name another owner')
    }
    // A net may key our log with an identity of its own: then commit to that one instead.
    for (let attempt = 0; attempt < 2; attempt++) {
      const { id, salt } = committedThreadID(ownerKey)
      const info = await createThread(id, options, logKey)
      const own = info.logs.find((l) => l.managed)
      if (own !== undefined && equalBytes(own.publicKey, ownerKey)) return { id, owner: identityToString(publicKeyFromBytes(ownerKey)), salt }
      await net.deleteThread(id)
      if (own === undefined) break
      ownerKey = own.publicKey
      logKey = undefined
      if (options.owner !== undefined) throw new InvalidOwnerError('the net keys our log with another identity than the owner given')
    }
    throw new InvalidOwnerError('the net does not key our log with a predictable identity: a DB that commits to its owner cannot be created')
  }

  async function createThread(id: ThreadID, options: NewDBOptions, logKey?: Uint8Array): Promise<DBThreadInfo> {
    try {
      return await net.createThread(id, {
        ...(options.threadKey !== undefined ? { threadKey: options.threadKey } : {}),
        ...(logKey !== undefined ? { logKey } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {})
      })
    } catch (err) {
      if ((err as Error).name === 'ThreadAlreadyExistsError') throw new DBExistsError(`db already exists: ${id}`, { cause: err })
      throw err
    }
  }

  function assertOpen(): void {
    if (closed) throw new DBClosedError('the DB manager is closed')
  }

  // Reload the DBs this store knows.
  const prefix = registryPrefix()
  const known: Array<[ThreadID, Registered]> = []
  for await (const [k, v] of store.range({ prefix })) {
    const id = fromUtf8(k.subarray(prefix.length, k.length - 2)) as ThreadID
    const reg = JSON.parse(fromUtf8(v)) as Registered
    known.push([id, typeof reg.owner === 'string' ? { name: reg.name, owner: reg.owner } : { name: reg.name }])
  }
  try {
    for (const [id, reg] of known) await open(id, reg)
  } catch (err) {
    await Promise.all([...dbs.values()].map(async (d) => { await d.core.close() }))
    if (ownsSandbox) sandbox.dispose()
    throw err
  }
  log('loaded %d DBs', known.length)

  const manager: DBManager = {
    async newDB(threadID, options = {}) {
      assertOpen()
      const name = checkName(options.name ?? 'unnamed', 'DB name')
      if (threadID === undefined) {
        const { id, owner, salt } = await createCommittedThread(options)
        await register(id, { name })
        const entry = await open(id, { name }, true)
        await createCollections(entry.core, options.collections ?? [], [{ t: 'genesis', owner, salt }])
        return entry.db
      }
      const owner = options.owner === undefined ? undefined : identityArg(options.owner, 'owner')
      if (dbs.has(threadID)) throw new DBExistsError(`db already exists: ${threadID}`)
      await createThread(threadID, options)
      const reg: Registered = owner === undefined ? { name } : { name, owner }
      await register(threadID, reg)
      const entry = await open(threadID, reg)
      await createCollections(entry.core, options.collections ?? [])
      return entry.db
    },

    async newDBFromAddr(address, key, options = {}) {
      assertOpen()
      const name = checkName(options.name ?? 'unnamed', 'DB name')
      const owner = options.owner === undefined ? undefined : identityArg(options.owner, 'owner')
      const reg: Registered = owner === undefined ? { name } : { name, owner }
      // Keep the records the pull delivers: the new DB folds them without reading them back.
      const joining = threadOfAddress(address)
      const arrivals = joining !== undefined && !dbs.has(joining) ? watchArrivals(net, joining) : undefined
      const received = async (): Promise<DBRecord[]> => {
        const kept = await arrivals!.take()
        arrivals!.stop()
        return kept
      }
      // Once the thread exists (the pull's first progress), open the DB: it folds the records as
      // they arrive while the pull goes on, instead of all of them after it.
      const early = arrivals !== undefined ? earlyOpen(joining!, async () => await openCore(joining!, reg, false, received, true)) : undefined
      let entry: Open
      let info: DBThreadInfo
      let taken: DatabaseCore | undefined
      try {
        info = await net.addThread(address, {
          threadKey: key,
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
          ...(early !== undefined ? { onProgress: early.onProgress } : {})
        })
        if (dbs.has(info.id)) throw new DBExistsError(`db already exists: ${info.id}`)
        taken = info.id === joining ? await early?.take() : undefined
        await register(info.id, reg)
        if (taken !== undefined) {
          await taken.joined(options.signal)
          entry = opened(info.id, reg, taken)
        } else {
          entry = await open(info.id, reg, false, arrivals !== undefined && info.id === joining ? received : undefined)
        }
      } catch (err) {
        // A DB opened early that did not join is closed: what it folded stays, and the next open
        // of the DB goes on from there.
        await taken?.close()
        throw err
      } finally {
        arrivals?.stop()
        await early?.abandon()
      }
      // In a governed DB only an owner defines collections: a member gets them from the thread.
      const roles = await entry.core.roles()
      if (roles.owners === null || (entry.core.writer !== undefined && roles.owners.includes(entry.core.writer))) {
        await createCollections(entry.core, options.collections ?? [])
      } else if ((options.collections ?? []).length > 0) {
        log('joined %s as a member: its owners define its collections', info.id)
      }
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
      return { name: entry.name, addrs: info.addrs, key: info.key, ...await entry.db.getGovernance() }
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

/**
 * One DB: a thread, its materialised collections, and the machinery around them. Remote records
 * arrive through the net subscription, are queued and applied in batches under the write lock;
 * on open (and on `sync()`) every record the log store holds that the DB has not applied is
 * applied, so a stop between a record and its application loses nothing. Local writes go
 * through write transactions (txn.ts) and commit as one record each.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { OversizedInputError, MissingReadKeyError } from '../core/errors.js'
import { identityToString, publicKeyFromBytes } from '../core/identity.js'
import { logger } from '../core/logger.js'
import { toHex } from '../core/bytes.js'
import type { ThreadID } from '../core/types.js'
import type { KVStore } from '../store/kv.js'
import type { ApplyResult } from './apply.js'
import { cachingStore } from './cache.js'
import { createEngine, type BatchOutcome, type DBRecord, type Engine } from './engine.js'
import { DBClosedError, OversizedTransactionError } from './errors.js'
import { DEFAULT_MAX_EVENT_BYTES, MAX_PARTS, toBodies, type Op } from './event.js'
import { newInstanceID } from './ids.js'
import { createLayout, decodeEventKey, type Layout } from './keys.js'
import { createListeners, type Listeners } from './listen.js'
import { createRWLock, type RWLock } from './lock.js'
import type { DBNet } from './net.js'
import type { Overlay } from './overlay.js'
import type { Database } from './database.js'
import type { Sandbox } from './sandbox.js'
import { getConfig } from './state.js'
import { readTransaction, writeTransaction, type TxnHost } from './txn.js'

/** Records applied per store batch while catching up. */
const APPLY_CHUNK = 1000

/** What the public Database is built on: its shared members plus the engine's handles. */
export interface DatabaseCore extends Pick<Database,
  'id' | 'readTransaction' | 'writeTransaction' | 'listen' | 'conflicts' | 'sync' | 'stateHash' | 'lastError' | 'close'> {
  readonly layout: Layout
  readonly lock: RWLock
  readonly host: TxnHost
  /** Our writer identity. */
  readonly writer: string | undefined
}

export interface OpenDatabaseInit {
  id: ThreadID
  net: DBNet
  store: KVStore
  sandbox: Sandbox
  /** Ops per record before a transaction spans several records. @default 900_000 */
  maxEventBytes?: number
  logPrefix?: string
}

export async function openDatabase(init: OpenDatabaseInit): Promise<DatabaseCore> {
  const { id, net, sandbox } = init
  const log = logger(`weft:db${init.logPrefix !== undefined ? `:${init.logPrefix}` : ''}`)
  const layout = createLayout(id)
  const store = cachingStore(init.store, layout.configPrefix())
  const info = await net.getThread(id)
  if (!info.readable) throw new MissingReadKeyError('thread read key is required')
  const own = info.logs.find((l) => l.managed)
  const writer = own === undefined ? undefined : identityToString(publicKeyFromBytes(own.publicKey))
  const lock = createRWLock()
  const engine: Engine = createEngine({ store, layout, sandbox })
  await engine.load()
  const listeners: Listeners = createListeners({ sandbox, config: async (c) => await getConfig(store, layout, c) })
  const controller = new AbortController()
  let queue: DBRecord[] = []
  let scheduled = false
  let closed = false
  let lastError: Error | undefined
  /** Set while a local commit creates and applies its records (they come back through the pump). */
  let committing = false

  function publish(outcome: Pick<BatchOutcome, 'changes' | 'rejections'>): void {
    listeners.publish(outcome.changes)
    listeners.publish(outcome.rejections)
  }

  /** Apply records; fetch what a log skipped from the log store. Called with the write lock held. */
  async function applyRecords(records: DBRecord[]): Promise<BatchOutcome> {
    const outcome = await engine.apply(records)
    publish(outcome)
    if (outcome.gaps.size > 0) await catchUp(outcome.gaps)
    return outcome
  }

  async function catchUp(after?: ReadonlyMap<string, number>, signal?: AbortSignal): Promise<void> {
    let chunk: DBRecord[] = []
    const from = new Map(engine.counters)
    if (after !== undefined) for (const [l, c] of after) from.set(l as never, c)
    const options = { after: from, ...(after !== undefined ? { logs: [...after.keys()] as never[] } : {}), ...(signal !== undefined ? { signal } : {}) }
    for await (const r of net.records(id, options)) {
      chunk.push(r)
      if (chunk.length >= APPLY_CHUNK) {
        const outcome = await engine.apply(chunk)
        publish(outcome)
        chunk = []
      }
    }
    if (chunk.length > 0) publish(await engine.apply(chunk))
  }

  async function drain(): Promise<void> {
    while (queue.length > 0 && !closed) {
      const batch = queue.slice(0, APPLY_CHUNK)
      queue = queue.slice(batch.length)
      await applyRecords(batch)
    }
  }

  function schedule(): void {
    if (scheduled || closed) return
    scheduled = true
    void lock.run('write', async () => {
      scheduled = false
      await drain()
    }).catch((err: Error) => {
      lastError = err
      log.error('applying records failed (they are applied on the next sync): %s', err.message)
    })
  }

  async function pump(): Promise<void> {
    while (!closed) {
      try {
        for await (const r of net.subscribe({ threads: [id], signal: controller.signal })) {
          // A record of our own log during a commit is that commit's: it applies it (or requeues it).
          if (committing && own !== undefined && r.log === own.id) continue
          queue.push(r)
          schedule()
        }
        return
      } catch (err) {
        if (closed) return
        // The subscription fell behind (or failed): resubscribe, then read what we missed.
        log('subscription ended: %s; catching up from the log store', (err as Error).message)
        await lock.run('write', async () => { await catchUp() }).catch((e: Error) => { lastError = e })
      }
    }
  }

  const host: TxnHost = {
    store,
    layout,
    sandbox,
    lock,
    writer,
    assertOpen() { if (closed) throw new DBClosedError() },
    provisionalTime() {
      const last = engine.lastKey
      return Math.max(Date.now(), last === undefined ? 0 : decodeEventKey(last).time.wall)
    },
    async commit(ops: Op[], ov: Overlay, result: ApplyResult) {
      const bodies = toBodies(ops, init.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES, newInstanceID)
      if (bodies.length > MAX_PARTS) throw new OversizedTransactionError(`the transaction needs more than ${MAX_PARTS} records`)
      const records: DBRecord[] = []
      committing = true
      try {
        for (const body of bodies) records.push(await net.createRecord(id, body))
      } catch (err) {
        committing = false
        // Parts created before the failure are requeued: they apply (as nothing) like any record.
        queue.push(...records)
        if (records.length > 0) schedule()
        if (err instanceof OversizedInputError || (err as Error).name === 'OversizedInputError') {
          throw new OversizedTransactionError(`the transaction does not fit in its records: ${(err as Error).message}`, { cause: err })
        }
        throw err
      }
      // Our own records come back through the subscription too: they are not news.
      const last = records[records.length - 1]!
      queue = queue.filter((r) => r.log !== last.log || r.counter > last.counter)
      try {
        if (!result.validated && queue.length === 0) {
          const changes = await engine.commitPrepared(records, ov, result)
          if (changes !== undefined) {
            listeners.publish(changes)
            return
          }
        }
        const pending = queue
        queue = []
        const outcome = await applyRecords([...pending, ...records])
        const error = outcome.status.get(`${last.log}/${last.counter}`)
        if (error != null) throw error
      } catch (err) {
        // The records are in the log but not applied (e.g. the store failed): apply them later.
        if (engine.counters.get(last.log) !== last.counter) {
          queue.push(...records)
          schedule()
        }
        throw err
      } finally {
        committing = false
      }
    }
  }

  const pumping = pump()
  try {
    await lock.run('write', async () => { await catchUp() })
  } catch (err) {
    closed = true
    controller.abort()
    listeners.close()
    await pumping.catch(() => undefined)
    throw err
  }

  const core: DatabaseCore = {
    id,
    layout,
    lock,
    host,
    writer,
    readTransaction: (collection, options = {}) => readTransaction(host, collection, options.identity ?? writer),
    writeTransaction: (collection, options = {}) => writeTransaction(host, collection, options.identity ?? writer),
    listen: (filters = [], options = {}) => listeners.listen(filters, { ...options, defaultIdentity: writer }),
    conflicts: async () => await engine.conflicts(),
    async sync(options = {}) {
      host.assertOpen()
      await lock.run('write', async () => {
        await drain()
        await catchUp(undefined, options.signal)
      })
    },
    async stateHash() {
      return await lock.run('read', async () => {
        const h = sha256.create()
        const len = new Uint8Array(4)
        const view = new DataView(len.buffer)
        for (const prefix of layout.statePrefixes()) {
          for await (const [k, v] of store.range({ prefix })) {
            const key = k.subarray(layout.base.length)
            view.setUint32(0, key.length); h.update(len); h.update(key)
            view.setUint32(0, v.length); h.update(len); h.update(v)
          }
        }
        return toHex(h.digest())
      })
    },
    lastError: () => lastError,
    async close() {
      if (closed) return
      await lock.run('write', async () => {
        closed = true
        controller.abort()
      })
      listeners.close()
      await pumping.catch(() => undefined)
    }
  }
  return core
}


/**
 * One DB: a thread, its materialised collections, and the machinery around them. Remote records
 * arrive through the net subscription, are queued and applied in batches under the write lock;
 * on open (and on `sync()`) every record the log store holds that the DB has not applied is
 * applied, so a stop between a record and its application loses nothing. Fork notices from the
 * net freeze logs; records stamped too far ahead wait for a timer. Local writes go through write
 * transactions (txn.ts) and commit as one record each.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { DEFAULT_MAX_DRIFT_MS } from '../core/index.js'
import { MissingReadKeyError } from '../core/errors.js'
import { identityToString, publicKeyFromBytes } from '../core/index.js'
import { logger } from '../core/logger.js'
import { toHex } from '../core/index.js'
import type { LogID, ThreadID } from '../core/types.js'
import { LogNotFoundError } from '../store/index.js'
import type { BatchOp, KVStore } from '../store/kv.js'
import type { ApplyResult } from './apply.js'
import { cachingStore } from './cache.js'
import { createEngine, type BatchOutcome, type DBRecord, type Engine, type Fork } from './engine.js'
import { DBClosedError } from './errors.js'
import { eventOf } from './arrivals.js'
import { freshStore, type FreshStore } from './fresh.js'
import { DEFAULT_MAX_EVENT_BYTES, type Op } from './event.js'
import { readRoles, threadCommitment, type OwnerBasis, type Roles } from './governance.js'
import { compareBytes, createLayout, decodeEventKey, type Layout } from './keys.js'
import { createListeners, type Listeners } from './listen.js'
import { createGate, type Gate } from './gate.js'
import type { RWLock } from './lock.js'
import type { DBNet } from './net.js'
import { storeReader, type Overlay } from './overlay.js'
import type { Database } from './database.js'
import type { Sandbox } from './sandbox.js'
import { getConfig } from './state.js'
import { readTransaction, writeTransaction, type TxnHost } from './txn.js'
import { createCommitter, type Committer } from './commit.js'
import { recentWrites } from './recent.js'

/** Records applied per store batch in the background (a turn of the write lock). */
const APPLY_CHUNK = 1000
/** Records applied per store batch while catching up (on open and on `sync()`). */
const CATCH_UP_CHUNK = 5000
/**
 * Records queued before they are folded while the thread is still being pulled (see
 * {@link OpenDatabaseInit.joining}): large batches while the pull goes on, the rest at the end.
 */
const JOIN_CHUNK = 2000
/**
 * Most records queued while joining: past it (a fold slower than the pull) the records are not
 * kept, and the fold reads them from the log store instead (as after a gap).
 */
const JOIN_MAX_QUEUED = 50_000
/** Shortest wait before looking again at records held for being stamped ahead (ms). */
const MIN_HOLD_WAIT_MS = 50

/** What the public Database is built on: its shared members plus the engine's handles. */
export interface DatabaseCore extends Pick<Database,
  'id' | 'readTransaction' | 'writeTransaction' | 'listen' | 'conflicts' | 'sync' | 'stateHash' | 'lastError' | 'close'> {
  readonly layout: Layout
  readonly lock: RWLock
  readonly host: TxnHost
  /** Our writer identity. */
  readonly writer: string | undefined
  /** How the owners are known (mode changes when the events show the thread ID commits). */
  readonly gov: OwnerBasis
  /** Owners and writers as of the current state. */
  roles(): Promise<Roles>
  /**
   * The pull of a DB opened while joining ({@link OpenDatabaseInit.joining}) is over: fold what is
   * queued and what the log store holds beyond it, then read the store again for every lookup.
   * Resolves when the DB holds every record the log store does. Idempotent; a no-op otherwise.
   */
  joined(signal?: AbortSignal): Promise<void>
}

export interface OpenDatabaseInit {
  id: ThreadID
  net: DBNet
  store: KVStore
  sandbox: Sandbox
  /** The owner given for a thread ID that does not commit to one (an input of the fold). */
  owner?: string
  /** This peer created the DB on a thread ID that commits to its writer identity. */
  committed?: boolean
  /** Ops per record before a transaction spans several records. @default 900_000 */
  maxEventBytes?: number
  /** This peer's clock (ms since the epoch), against which remote event times are bounded. @default Date.now */
  now?: () => number
  /** How far ahead of `now` a remote event may be stamped before it is held. @default 60_000 */
  maxClockDriftMs?: number
  logPrefix?: string
  /**
   * Records of the thread this peer already received and stored (each log's in order): folded on
   * open as they are, before the log store is read for the rest (joining keeps them as they
   * arrive, so they are not read back and decrypted again).
   */
  received?: () => Promise<readonly DBRecord[]>
  /**
   * The thread is still being pulled: fold the records as they arrive, in batches of thousands,
   * while the pull goes on, and keep answering lookups of keys the DB never wrote without asking
   * the store, until {@link DatabaseCore.joined}. Nothing but the fold may write the DB meanwhile.
   * @default false
   */
  joining?: boolean
}

/**
 * A store that writes through `gate` (no read meanwhile), calls `bump` before and after each
 * write, and `wrote` with what each wrote (after the second bump; also when the write failed, as
 * it may have been half done).
 */
function versioned(store: KVStore, gate: Gate, bump: () => void, wrote: (ops: readonly BatchOp[]) => void): KVStore {
  const write = async (ops: readonly BatchOp[], fn: () => Promise<void>): Promise<void> => {
    await gate.writing(async () => {
      bump()
      try { await fn() } finally { bump(); wrote(ops) }
    })
  }
  return {
    get: (key, options) => store.get(key, options),
    getMany: (keys, options) => store.getMany(keys, options),
    put: async (key, value, options) => { await write([{ type: 'put', key, value }], async () => { await store.put(key, value, options) }) },
    delete: async (key, options) => { await write([{ type: 'del', key }], async () => { await store.delete(key, options) }) },
    batch: async (ops, options) => { await write(ops, async () => { await store.batch(ops, options) }) },
    range: (options) => store.range(options),
    pages: (options) => store.pages(options),
    close: async () => { await store.close() }
  }
}

/** Most keys a DB that never folded an event may hold (its layout version, its mode, …). */
const FRESH_KEYS = 16

/** Start the fresh store's shortcut when the DB holds no more than a few bookkeeping keys. */
async function beginFresh(fresh: FreshStore, layout: Layout): Promise<void> {
  const keys: Uint8Array[] = []
  for await (const [k] of fresh.range({ prefix: layout.base, limit: FRESH_KEYS + 1 })) keys.push(k)
  if (keys.length <= FRESH_KEYS) fresh.begin(keys)
}

export async function openDatabase(init: OpenDatabaseInit): Promise<DatabaseCore> {
  const { id, net, sandbox } = init
  const log = logger(`weft:db${init.logPrefix !== undefined ? `:${init.logPrefix}` : ''}`)
  const now = init.now ?? Date.now
  const maxClockDriftMs = init.maxClockDriftMs ?? DEFAULT_MAX_DRIFT_MS
  const layout = createLayout(id)
  /** Bumped before and after every write of the DB's state (optimistic transactions compare it). */
  let version = 0
  // Reads wait only while the state is written, not for a writer's whole turn (gate.ts).
  const gate = createGate()
  const lock = gate.lock
  const cache = cachingStore(init.store, [layout.configPrefix(), layout.govPrefix()])
  /** What the DB wrote lately: committing transactions are checked against it, not by reading again. */
  const recent = recentWrites()
  const store = versioned(cache, gate, () => { version++ }, (ops) => { recent.note(version, ops) })
  const info = await net.getThread(id)
  if (!info.readable) throw new MissingReadKeyError('thread read key is required')
  // Our default log writes as its own key; further logs of ours may write as other identities.
  const own = info.logs.find((l) => l.managed && (l.author === undefined || l.author === identityToString(publicKeyFromBytes(l.publicKey)))) ??
    info.logs.find((l) => l.managed)
  const writer = own === undefined ? undefined : identityToString(publicKeyFromBytes(own.publicKey))
  const gov: OwnerBasis = init.owner !== undefined
    ? { mode: 'owner', owner: init.owner, commitment: threadCommitment(id) }
    : { mode: 'ungoverned', commitment: threadCommitment(id) }
  // The engine reads through a store that knows when the DB holds no state yet (see fresh.ts).
  const fresh = freshStore(store)
  const engine: Engine = createEngine({ store: fresh, layout, sandbox, gov, ownLog: own?.id, now, maxClockDriftMs, exclusive: gate.writing })
  await engine.load()
  if (engine.lastKey === undefined) await beginFresh(fresh, layout)
  if (init.committed === true && gov.mode !== 'committed') await engine.markCommitted()
  const listeners: Listeners = createListeners({ sandbox, config: async (c) => await getConfig(store, layout, c) })
  const controller = new AbortController()
  let queue: DBRecord[] = []
  let forkQueue: Fork[] = []
  let scheduled = false
  let closed = false
  /** Opened while its thread is pulled: records wait for a large batch (see {@link JOIN_CHUNK}). */
  let joining = init.joining === true
  /**
   * While joining, whether queued records are folded before the pull ends. A pull delivers one log
   * after another: once a second log's records come (or a fold had to replay events), folding
   * more of them early would rewind and replay the same events again and again, so the rest wait
   * for {@link DatabaseCore.joined} and are folded together.
   */
  let foldEarly = true
  let joiningLog: LogID | undefined
  let lastError: Error | undefined
  let holdTimer: ReturnType<typeof setTimeout> | undefined
  /** The log a local commit is creating and applying records in (they come back through the pump). */
  let committing: LogID | undefined
  /** Authors of the logs of ours that commits chose (an own log's author never changes). */
  const authors = new Map<LogID, string>()

  function publish(outcome: Pick<BatchOutcome, 'changes' | 'rejections'>): void {
    listeners.publish(outcome.changes)
    listeners.publish(outcome.rejections)
  }

  /** Apply records; fetch what a log skipped from the log store. Called with the write lock held. */
  async function applyRecords(records: DBRecord[]): Promise<BatchOutcome> {
    const outcome = await engine.apply(records)
    if (joining && outcome.replayed > 0) foldEarly = false
    publish(outcome)
    if (outcome.gaps.size > 0) {
      const more = await catchUp(outcome.gaps)
      for (const [k, v] of more) outcome.status.set(k, v)
    }
    armHoldTimer()
    return outcome
  }

  async function catchUp(after?: ReadonlyMap<string, number>, signal?: AbortSignal): Promise<BatchOutcome['status']> {
    const status: BatchOutcome['status'] = new Map()
    let chunk: DBRecord[] = []
    const from = new Map(engine.counters)
    if (after !== undefined) for (const [l, c] of after) from.set(l as LogID, c)
    const options = { after: from, ...(after !== undefined ? { logs: [...after.keys()] as LogID[] } : {}), ...(signal !== undefined ? { signal } : {}) }
    const flush = async (): Promise<void> => {
      const outcome = await engine.apply(chunk)
      publish(outcome)
      for (const [k, v] of outcome.status) status.set(k, v)
      chunk = []
    }
    for await (const r of net.records(id, options)) {
      chunk.push(r)
      if (chunk.length >= CATCH_UP_CHUNK) await flush()
    }
    if (chunk.length > 0) await flush()
    armHoldTimer()
    return status
  }

  /**
   * Fold records received before the DB opened, in large batches. What they skip is read by the
   * catch-up that follows. Called with the write lock held.
   */
  async function applyReceived(records: readonly DBRecord[]): Promise<void> {
    for (let i = 0; i < records.length && !closed; i += CATCH_UP_CHUNK) {
      publish(await engine.apply(records.slice(i, i + CATCH_UP_CHUNK)))
    }
  }

  /** Take the fork notices the net holds for this thread. Called with the write lock held. */
  async function refreshForks(signal?: AbortSignal): Promise<void> {
    if (net.forks === undefined) return
    const forks = await net.forks(id, signal === undefined ? {} : { signal })
    if (forks.length > 0) publish(await engine.freeze(forks))
  }

  /**
   * Apply the fork notices queued and up to `limit` queued records, a chunk at a time. Called
   * with the write lock held.
   */
  async function drain(limit = queue.length): Promise<void> {
    let left = limit
    while ((left > 0 || forkQueue.length > 0) && !closed) {
      if (forkQueue.length > 0) {
        const forks = forkQueue
        forkQueue = []
        publish(await engine.freeze(forks))
        continue
      }
      const batch = queue.slice(0, Math.min(APPLY_CHUNK, left))
      queue = queue.slice(batch.length)
      left -= batch.length
      await applyRecords(batch)
    }
  }

  /**
   * Apply received records in the background: one chunk per turn of the write lock, so reads and
   * local writes waiting for the lock go between two chunks. (Records that keep arriving, say one
   * stamped in the past every few hundred milliseconds, each rewinding the DB, must never keep the
   * lock from them.)
   */
  function schedule(): void {
    if (scheduled || closed) return
    if (joining && forkQueue.length === 0 && (!foldEarly || queue.length < JOIN_CHUNK)) return
    scheduled = true
    void lock.run('write', async () => {
      scheduled = false
      await drain(Math.min(queue.length, joining ? JOIN_CHUNK : APPLY_CHUNK))
    }).then(() => {
      if (queue.length > 0 || forkQueue.length > 0) schedule()
    }, (err: Error) => {
      lastError = err
      log.error('applying records failed (they are applied on the next sync): %s', err.message)
    })
  }

  /** Wake up when the earliest held record's time comes, and apply what is due. */
  function armHoldTimer(): void {
    if (holdTimer !== undefined) clearTimeout(holdTimer)
    holdTimer = undefined
    const next = engine.nextHold()
    if (next === undefined || closed) return
    const wait = Math.min(2 ** 31 - 1, Math.max(MIN_HOLD_WAIT_MS, next - maxClockDriftMs - now()))
    holdTimer = setTimeout(() => {
      holdTimer = undefined
      void lock.run('write', async () => {
        if (closed) return
        const due = engine.releaseHolds(false)
        if (due.length > 0) await catchUp(new Map(due.map((l) => [l, engine.counters.get(l) ?? 0])))
        armHoldTimer()
      }).catch((err: Error) => {
        lastError = err
        log.error('applying held records failed (they are applied on the next sync): %s', err.message)
      })
    }, wait)
    ;(holdTimer as { unref?: () => void }).unref?.()
  }

  async function pump(): Promise<void> {
    while (!closed) {
      try {
        for await (const r of net.subscribe({ threads: [id], signal: controller.signal })) {
          // A record of our own log during a commit is that commit's: it applies it (or requeues it).
          if (committing !== undefined && r.log === committing) continue
          if (joining) {
            if (queue.length >= JOIN_MAX_QUEUED) continue
            joiningLog ??= r.log
            if (r.log !== joiningLog) foldEarly = false
            // Thousands may wait: without the blocks they came in (and the buffers those hold).
            queue.push(eventOf(r))
          } else {
            queue.push(r)
          }
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

  async function pumpForks(): Promise<void> {
    if (net.forkNotices === undefined) return
    while (!closed) {
      try {
        for await (const f of net.forkNotices({ threads: [id], signal: controller.signal })) {
          if (f.thread !== id) continue
          forkQueue.push({ log: f.log, counter: f.counter })
          schedule()
        }
        return
      } catch (err) {
        if (closed) return
        log('fork notices ended: %s; reading the forks the net holds', (err as Error).message)
        await lock.run('write', async () => { await refreshForks() }).catch((e: Error) => { lastError = e })
      }
    }
  }

  /** Whether what the dry run of a local event wrote differs from the state after it committed. */
  async function outranked(ov: Overlay): Promise<boolean> {
    const written = [...ov.written()]
    for (let i = 0; i < written.length; i += APPLY_CHUNK) {
      const slice = written.slice(i, i + APPLY_CHUNK)
      const now = await store.getMany(slice.map((e) => e.key))
      for (let j = 0; j < slice.length; j++) {
        const want = slice[j]!.value
        const got = now[j]
        if (want === null ? got !== undefined : got === undefined || compareBytes(want, got) !== 0) return true
      }
    }
    return false
  }

  const committer: Committer = createCommitter({
    id,
    net,
    store,
    base: init.store,
    around: (() => {
      let pending: readonly BatchOp[] = []
      return {
        async writing<T>(fn: () => Promise<T>): Promise<T> {
          // Written through the net, with our records: still a write of the state (no read meanwhile).
          return await gate.writing(async () => {
            version++
            try {
              return await fn()
            } finally {
              version++
              if (pending.length > 0) recent.note(version, pending)
              pending = []
            }
          })
        },
        begin(ops: readonly BatchOp[]) { pending = ops; cache.forget(ops) },
        end(ops: readonly BatchOp[], ok: boolean) { if (ok) cache.wrote(ops) }
      }
    })(),
    recent,
    engine,
    maxEventBytes: init.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    lock,
    version: () => version,
    closed: () => closed,
    closedError: () => new DBClosedError(),
    publish: (changes) => { listeners.publish(changes) },
    apply: applyRecords,
    outranked,
    ownLog: own?.id,
    setCommitting(log) {
      committing = log
      if (log === undefined && queue.length > 0) schedule()
    },
    dropOwn(last) {
      queue = queue.filter((r) => r.log !== last.log || r.counter > last.counter)
      return queue.length
    },
    requeue(records) {
      if (records.length === 0) return
      queue.push(...records)
      schedule()
    }
  })

  const host: TxnHost = {
    store,
    layout,
    sandbox,
    lock,
    reads: gate.reads,
    writer,
    gov,
    assertOpen() { if (closed) throw new DBClosedError() },
    version: () => version,
    provisionalTime() {
      const last = engine.lastKey
      return Math.max(now(), last === undefined ? 0 : decodeEventKey(last).time.wall)
    },
    async authorOf(chosen: LogID) {
      let author = authors.get(chosen)
      if (author === undefined) {
        const l = (await net.getThread(id)).logs.find((x) => x.id === chosen && x.managed)
        if (l === undefined) throw new LogNotFoundError(`thread ${id} has no log of ours ${chosen}`)
        author = l.author ?? identityToString(publicKeyFromBytes(l.publicKey))
        authors.set(chosen, author)
      }
      return author
    },
    async commit(ops: Op[], ov: Overlay, result: ApplyResult, chosen?: LogID, validatedAt?: number) {
      await committer.commit({ ops, ov, result, ...(chosen !== undefined ? { log: chosen } : {}), ...(validatedAt !== undefined ? { validatedAt } : {}) })
    },
    async submit(staged) { await committer.submit(staged) }
  }

  const pumping = pump()
  const pumpingForks = pumpForks()
  try {
    await lock.run('write', async () => {
      await refreshForks()
      try {
        await applyReceived(await init.received?.() ?? [])
        await catchUp()
      } finally {
        if (!joining) fresh.end()
      }
    })
  } catch (err) {
    closed = true
    controller.abort()
    listeners.close()
    await Promise.all([pumping.catch(() => undefined), pumpingForks.catch(() => undefined)])
    throw err
  }

  const core: DatabaseCore = {
    id,
    layout,
    lock,
    host,
    writer,
    readTransaction: (collection, options = {}) => readTransaction(host, collection, { identity: options.identity ?? writer, onFilterError: options.onFilterError, signal: options.signal }),
    writeTransaction: (collection, options = {}) => writeTransaction(host, collection, { identity: options.identity ?? writer, onFilterError: options.onFilterError, signal: options.signal }, options.log),
    listen: (filters = [], options = {}) => listeners.listen(filters, { ...options, defaultIdentity: writer }),
    conflicts: async () => await engine.conflicts(),
    gov,
    roles: async () => await gate.reads.run('read', async () => await readRoles(storeReader(store), layout, gov)),
    async sync(options = {}) {
      host.assertOpen()
      await lock.run('write', async () => {
        publish(await engine.resume())
        await drain()
        await refreshForks(options.signal)
        engine.releaseHolds(true)
        await catchUp(undefined, options.signal)
      })
    },
    async stateHash() {
      return await gate.reads.run('read', async () => {
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
    async joined(signal) {
      if (!joining) return
      joining = false
      await lock.run('write', async () => {
        try {
          // The records still queued in large batches (few rewinds), then what they skipped.
          await drain(0)
          const rest = queue
          queue = []
          await applyReceived(rest)
          await catchUp(undefined, signal)
        } finally {
          fresh.end()
        }
      })
    },
    async close() {
      if (closed) return
      await lock.run('write', async () => {
        closed = true
        controller.abort()
        if (holdTimer !== undefined) clearTimeout(holdTimer)
        holdTimer = undefined
      })
      listeners.close()
      await Promise.all([pumping.catch(() => undefined), pumpingForks.catch(() => undefined)])
    }
  }
  return core
}


/**
 * Committing local events, in groups. Write transactions that end together are committed by one
 * holder of the write lock: each is checked, in order, against the saved state plus the writes of
 * those checked before it (its read set, readset.ts: a conflict rejects it alone with
 * TransactionConflictError); the records of all of them are created in one log-store batch
 * (`createRecords`) and their document changes, index entries and events written with them: in the
 * same atomic batch when the net stores records in the DB's store (`writesTo`: a Node peer, the
 * worker, the hub), else in one DB batch right after. Each caller resolves only when its event is
 * durable. When a group cannot be committed as prepared (write validators saw another time than
 * the one its record carries, or remote records are waiting), each event is applied from its
 * records in order like any other, and a rejection reaches its caller.
 */
import { OversizedInputError } from '../core/errors.js'
import { logger } from '../core/logger.js'
import type { LogID, ThreadID } from '../core/index.js'
import type { BatchOp, KVStore } from '../store/index.js'
import type { ApplyResult } from './apply.js'
import type { BatchOutcome, DBRecord, Engine, PreparedGroup } from './engine.js'
import { OversizedTransactionError, rejectionError, TransactionConflictError, WriteOutrankedError } from './errors.js'
import { MAX_PARTS, toBodies, type Op } from './event.js'
import { newInstanceID } from './ids.js'
import type { CreateRecordsOptions, DBNet } from './net.js'
import { Overlay, storeReader } from './overlay.js'
import type { RecordingReader } from './readset.js'
import type { RecentWrites } from './recent.js'
import type { InstanceChange } from './types.js'

const log = logger('weft:db:commit')

/** Most events committed in one group (the rest form the next). */
const MAX_GROUP = 256

/** A write transaction's staged event. */
export interface Staged {
  ops: Op[]
  /** Its writes (dry run against the state it read). */
  ov: Overlay
  result: ApplyResult
  /** What it read; absent when it was staged under the write lock (nothing can have changed). */
  reads?: RecordingReader
  /** The DB's version when it began. */
  began?: number
  /** The log of ours its records go to (default: our own). */
  log?: LogID
  /**
   * The one timestamp write validators saw in its dry run (absent: several, or none given). When
   * its record carries that time, the validators' answers stand and the dry run is committed.
   */
  validatedAt?: number
}

interface Item extends Staged { done: (err?: Error) => void }

export interface CommitterInit {
  id: ThreadID
  net: DBNet
  store: KVStore
  /** The store under `store`'s wrappers: records go into the same batch when the net writes to it. */
  base: KVStore
  /** Told of a batch the net writes for us (with our records), around `store`'s wrappers. */
  around: {
    /** Run `fn`, which writes the DB's state through the net (with our records), as a write of the state. */
    writing<T>(fn: () => Promise<T>): Promise<T>
    /** `ops` are about to be written. */
    begin(ops: readonly BatchOp[]): void
    /** `ops` were written (`ok`) or not. */
    end(ops: readonly BatchOp[], ok: boolean): void
  }
  /** The keys of the DB's recent writes (absent: a transaction whose store changed reads again). */
  recent?: RecentWrites
  engine: Engine
  maxEventBytes: number
  lock: { run<T>(mode: 'write', fn: () => Promise<T>): Promise<T> }
  version(): number
  closed(): boolean
  closedError(): Error
  publish(changes: InstanceChange[]): void
  /** Apply records through the engine (the write lock is held). */
  apply(records: DBRecord[]): Promise<BatchOutcome>
  /** Whether the state no longer holds what a dry run wrote (an earlier-sorting event overrode it). */
  outranked(ov: Overlay): Promise<boolean>
  /** Our default log (the one a transaction that chose none writes to). */
  ownLog: LogID | undefined
  /**
   * Our records are being created in `log`: the subscription's copies of them are not news.
   * `undefined`: no longer.
   */
  setCommitting(log: LogID | undefined): void
  /** Drop queued copies of our records up to `last`; returns how many remote records wait. */
  dropOwn(last: DBRecord): number
  /** Records in the log but not applied: apply them later. */
  requeue(records: DBRecord[]): void
}

export interface Committer {
  /** Commit now; the caller holds the write lock. */
  commit(staged: Staged): Promise<void>
  /** Queue for the next group; resolves when durable. */
  submit(staged: Staged): Promise<void>
}

export function createCommitter(init: CommitterInit): Committer {
  const { engine, net, id } = init
  let waiting: Item[] = []
  let scheduled = false

  /** Whether our records and our changes can go into one batch (the net stores records in our store). */
  const fused = net.createRecords !== undefined && net.writesTo?.(init.base) === true

  async function createRecords(bodies: unknown[], chosen: LogID | undefined, also?: CreateRecordsOptions['with'], at?: Array<number | undefined>): Promise<DBRecord[]> {
    const options: CreateRecordsOptions = {
      ...(chosen !== undefined ? { log: chosen } : {}),
      // Our state is written with the records: the gate is held while they are stored, not sealed.
      ...(also !== undefined ? { with: also, storing: init.around.writing } : {}),
      ...(at !== undefined && at.some((t) => t !== undefined) ? { at } : {})
    }
    if (net.createRecords !== undefined) return await net.createRecords(id, bodies, options)
    const out: DBRecord[] = []
    try {
      for (const body of bodies) out.push(await net.createRecord(id, body, chosen !== undefined ? { log: chosen } : undefined))
    } catch (err) {
      // Parts created before the failure apply (as nothing) like any record.
      init.requeue(out)
      throw err
    }
    return out
  }

  /**
   * Commit `items` in order, all bound for one log; the write lock is held. Every item's `done` is
   * called once.
   */
  async function commitItems(items: Item[]): Promise<void> {
    const chosen = items[0]?.log
    const shared = new Overlay(storeReader(init.store))
    const groupWrites = shared.writtenKeys()
    const ready: Array<{ item: Item; bodies: unknown[]; records: DBRecord[] }> = []
    for (const item of items) {
      try {
        if (init.closed()) throw init.closedError()
        const bodies = toBodies(item.ops, init.maxEventBytes, newInstanceID)
        if (bodies.length > MAX_PARTS) throw new OversizedTransactionError(`the transaction needs more than ${MAX_PARTS} records`)
        // Only what was written since it staged can conflict: the DB's writes since its version
        // and the group's earlier ones. Comparing keys says (no store read under the lock) while
        // those writes are still known; else its reads are read again.
        if (item.reads !== undefined && (ready.length > 0 || init.version() !== item.began)) {
          const since = item.began === undefined ? undefined : init.version() === item.began ? [] : init.recent?.since(item.began)
          const clean = since !== undefined
            ? item.reads.untouchedBy(ready.length === 0 ? since : [...since, groupWrites])
            : await item.reads.check(shared)
          if (!clean) throw new TransactionConflictError()
        }
        shared.absorb(item.ov)
        ready.push({ item, bodies, records: [] })
      } catch (err) {
        item.done(err as Error)
      }
    }
    if (ready.length === 0) return
    /** Split the group's records among its events, in order. */
    const share = (records: readonly DBRecord[]): void => {
      let at = 0
      for (const r of ready) {
        r.records = records.slice(at, at + r.bodies.length)
        at += r.bodies.length
      }
    }
    // Validators saw a provisional time: their answers stand only if the record carries that time.
    const sameTime = (r: (typeof ready)[number]): boolean => r.item.validatedAt !== undefined && r.records[r.records.length - 1]?.time?.wall === r.item.validatedAt
    const writable = (last: DBRecord): boolean => init.dropOwn(last) === 0 && ready.every((r) => !r.item.result.validated || sameTime(r))
    // One batch for the records, the log head and the events' changes, when the stores are one.
    let group: PreparedGroup | undefined
    const also = fused
      ? (sealed: readonly DBRecord[]): readonly BatchOp[] | undefined => {
          share(sealed)
          group = writable(sealed[sealed.length - 1]!)
            ? engine.prepareGroup(ready.map((r) => ({ records: r.records, ov: r.item.ov, result: r.item.result })))
            : undefined
          if (group !== undefined) init.around.begin(group.ops)
          return group?.ops
        }
      : undefined
    let records: DBRecord[]
    init.setCommitting(chosen ?? init.ownLog)
    try {
      // Each record carries the time its validators saw, when the clock allows (then their answers stand).
      const at = ready.flatMap((r) => r.bodies.map(() => r.item.result.validated ? r.item.validatedAt : undefined))
      const bodies = ready.flatMap((r) => r.bodies)
      records = await createRecords(bodies, chosen, also, at)
      if (group !== undefined) init.around.end(group.ops, true)
    } catch (err) {
      if (group !== undefined) init.around.end(group.ops, false)
      init.setCommitting(undefined)
      const e = err instanceof OversizedInputError || (err as Error).name === 'OversizedInputError'
        ? new OversizedTransactionError(`the transaction does not fit in its records: ${(err as Error).message}`, { cause: err })
        : err as Error
      for (const r of ready) r.item.done(e)
      return
    }
    share(records)
    const last = records[records.length - 1]!
    const pending = new Set(ready)
    try {
      if (group !== undefined) {
        init.dropOwn(last)
        for (const c of group.written()) init.publish(c)
        for (const r of ready) r.item.done()
        pending.clear()
        return
      }
      if (!fused && writable(last)) {
        const changes = await engine.commitGroup(ready.map((r) => ({ records: r.records, ov: r.item.ov, result: r.item.result })))
        if (changes !== undefined) {
          for (const c of changes) init.publish(c)
          for (const r of ready) r.item.done()
          pending.clear()
          return
        }
      }
      // Each event from its records, in order: only events applied before it can outrank it.
      for (const r of ready) {
        const end = r.records[r.records.length - 1]!
        const outcome = await init.apply(r.records)
        const error = outcome.status.get(`${end.log}/${end.counter}`)
        const answer = error != null
          ? rejectionError(error.name, error.message)
          : outcome.replayed > 0 && await init.outranked(r.item.ov)
            ? new WriteOutrankedError('the write was recorded and applies at its place in the order on every peer, but an event applied before it sorts after it and overrides its effect')
            : undefined
        pending.delete(r)
        r.item.done(answer)
      }
    } catch (err) {
      // The records are in the log but not applied (e.g. the store failed): apply them later.
      const applied = engine.counters.get(last.log) ?? 0
      init.requeue(records.filter((r) => r.counter > applied))
      for (const r of pending) r.item.done(err as Error)
    } finally {
      init.setCommitting(undefined)
    }
  }

  function schedule(): void {
    if (scheduled) return
    scheduled = true
    void init.lock.run('write', async () => {
      scheduled = false
      // A group writes to one log: it ends where the next transaction chose another.
      let size = 0
      while (size < waiting.length && size < MAX_GROUP && waiting[size]!.log === waiting[0]!.log) size++
      const group = waiting.slice(0, size)
      waiting = waiting.slice(group.length)
      if (waiting.length > 0) schedule()
      await commitItems(group)
    }).catch((err: Error) => {
      // commitItems answers every item itself; this is a failure of the lock's caller.
      log.error('a group commit failed: %s', err.message)
    })
  }

  return {
    async commit(staged) {
      let failure: Error | undefined
      await commitItems([{ ...staged, done: (err) => { failure = err } }])
      if (failure !== undefined) throw failure
    },
    async submit(staged) {
      await new Promise<void>((resolve, reject) => {
        waiting.push({ ...staged, done: (err) => { if (err === undefined) resolve(); else reject(err) } })
        schedule()
      })
    }
  }
}

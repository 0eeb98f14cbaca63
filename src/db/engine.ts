/**
 * The ordered event log of a DB and its fold. Events are ordered by (order time, log ID, record
 * counter) — see admit.ts for the order time — and the state is the fold of every event in that
 * order. Each applied event is kept with its undo record (the instances, configs and governance
 * values it replaced), so an event that arrives late rewinds the events after it, applies, and
 * replays them in bounded chunks (rewind.ts). Records at the end of the order are applied in one
 * store batch: state, event entries, rejection markers, order times and per-log marks together.
 *
 * Also here: logs frozen by fork notices (their records at and past the fork leave the fold),
 * records held because they are stamped too far ahead of this peer's clock, and the switch of a
 * DB to governed when its events show that its thread ID commits to an owner.
 */
import * as cbor from '@ipld/dag-cbor'
import { compareHLC } from '../core/index.js'
import { identityToString } from '../core/index.js'
import { logIDToPublicKey } from '../core/index.js'
import { logger } from '../core/logger.js'
import type { LogID } from '../core/types.js'
import type { BatchOp, KVStore } from '../store/kv.js'
import { decodeUint64, encodeUint64 } from '../store/index.js'
import { admit, decodeLogMark, decodeOrderTime, encodeLogMark, encodeOrderTime, type DBRecord, type LogMark, type Pending } from './admit.js'
import type { ApplyResult } from './apply.js'
import { encodeStored, FOLD_TURN, foldOne, nextTurn, prefetchEvents, recordOutcome, storedOf } from './fold.js'
import type { OwnerBasis } from './governance.js'
import { compareBytes, encodeEventKey, fromUtf8, utf8, type Layout } from './keys.js'
import { Overlay, storeReader } from './overlay.js'
import { hasMark, netChanges, replayFromMark, setMark, undoToMark, type RewindDeps, type Touched } from './rewind.js'
import type { Sandbox } from './sandbox.js'
import type { InstanceChange, Rejection } from './types.js'

export type { DBRecord } from './admit.js'

const log = logger('weft:db:engine')

/** Version of the DB's key layout (`v`); data of an older layout is rebuilt from the log store. */
export const LAYOUT_VERSION = 2

/** A fork notice: no record of `log` at or past `counter` applies. */
export interface Fork { log: LogID; counter: number }

export interface BatchOutcome {
  /** Instance changes to publish, in order. */
  changes: InstanceChange[]
  /** Events newly rejected (new ones, replayed ones that no longer apply, new forks). */
  rejections: Rejection[]
  /** Final status of each new record, by `${log}/${counter}`: null when applied. */
  status: Map<string, { name: string; message: string } | null>
  /** Logs whose records skipped ahead: read them again after this counter. */
  gaps: Map<LogID, number>
  /** Events undone and replayed. */
  replayed: number
}

export interface EngineInit {
  store: KVStore
  layout: Layout
  sandbox: Sandbox
  gov: OwnerBasis
  /** Our own log (never held). */
  ownLog: LogID | undefined
  now: () => number
  maxClockDriftMs: number
  /**
   * Run a change of the state that takes several store batches (a rewind and its replay) so that
   * no read sees it half done. @default runs it as it is
   */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>
}

/** A local event ready to commit: its records and the dry run of its ops. */
export interface Prepared { records: readonly DBRecord[]; ov: Overlay; result: ApplyResult }

/** A group of local events ready to be written (see {@link Engine.prepareGroup}). */
export interface PreparedGroup {
  ops: BatchOp[]
  /** The batch is durable: note the events as applied; their changes, in order. */
  written(): InstanceChange[][]
}

export interface Engine {
  /** Load bookkeeping, rebuild an older layout, finish a rewind that was interrupted. */
  load(): Promise<void>
  /** Records admitted so far per log. */
  readonly counters: ReadonlyMap<LogID, number>
  readonly lastKey: Uint8Array | undefined
  /** Apply records (any order; each log's in order). The caller holds the DB's write lock. */
  apply(records: readonly DBRecord[]): Promise<BatchOutcome>
  /**
   * Commit local events (each its records, consecutive in our log) whose ops were already applied
   * to their overlays as dry runs, in order, each against the state plus those before it — valid
   * only when the records come next in their log and sort after every applied event: one store
   * batch. Undefined (nothing written) when any does not come next in our log or sort after those
   * before it.
   */
  commitGroup(items: readonly Prepared[]): Promise<InstanceChange[][] | undefined>
  /**
   * What {@link Engine.commitGroup} writes, without writing it: the batch, and `written()` to call
   * once that batch is durable (it notes the events as applied and returns their changes). For
   * writing the events with their records in one batch. Undefined on the same conditions; until
   * `written()` nothing is noted, so a batch that fails leaves the engine as it was.
   */
  prepareGroup(items: readonly Prepared[]): PreparedGroup | undefined
  /** Take fork notices: freeze each log at its fork, dropping its records there and after. */
  freeze(forks: readonly Fork[]): Promise<BatchOutcome>
  /** Finish a rewind a failure stopped half way (also done by `apply` and `freeze` first). */
  resume(): Promise<BatchOutcome>
  /** The DB's thread ID commits to its creator (set when this peer creates it). */
  markCommitted(): Promise<void>
  /** The earliest wall time of a held record, if any. */
  nextHold(): number | undefined
  /** Forget the holds whose time came (all of them with `all`); returns their logs, to read again. */
  releaseHolds(all: boolean): LogID[]
  /** Rejected events and forks, forks first. */
  conflicts(): Promise<Rejection[]>
}

function newOutcome(): BatchOutcome {
  return { changes: [], rejections: [], status: new Map(), gaps: new Map(), replayed: 0 }
}

function forkRejection(f: Fork): Rejection {
  let author = ''
  try { author = identityToString(logIDToPublicKey(f.log)) } catch { /* not a log ID we can read */ }
  return {
    type: 'rejected', log: f.log, counter: f.counter, time: { wall: 0, counter: 0 }, author,
    error: { name: 'EquivocationError', message: `log ${f.log} forked at record ${f.counter}: none of its records from there on is applied` },
    ops: []
  }
}

const equivocated = (p: Pending): { name: string; message: string } => ({ name: 'EquivocationError', message: `log ${p.log} is frozen at or before record ${p.counter}` })

export function createEngine(init: EngineInit): Engine {
  const { store, layout, gov } = init
  const exclusive = init.exclusive ?? (async <T>(fn: () => Promise<T>): Promise<T> => await fn())
  const reader = storeReader(store)
  const deps: RewindDeps = { store, layout, sandbox: init.sandbox, gov }
  const logs = new Map<LogID, LogMark>()
  const counters = new Map<LogID, number>()
  const frozen = new Map<LogID, number>()
  const held = new Map<LogID, number>()
  let lastKey: Uint8Array | undefined
  /** A rewind started and has not finished (a batch failed): finish it before anything else. */
  let unsettled = false
  const evPrefix = layout.eventPrefix()

  const isDropped = (p: Pending): boolean => {
    const at = frozen.get(p.log)
    return at !== undefined && p.counter >= at
  }

  async function readLastKey(): Promise<Uint8Array | undefined> {
    for await (const [k] of store.range({ prefix: evPrefix, reverse: true, limit: 1 })) return k.slice(evPrefix.length)
    return undefined
  }

  /** Note admitted events in `batch`: their order times and their logs' marks. */
  function admitInto(batch: Overlay, events: readonly Pending[]): Map<LogID, LogMark> {
    const marks = new Map<LogID, LogMark>()
    for (const p of events) {
      batch.put(layout.orderTime(p.log, p.counter), encodeOrderTime(p.time))
      const m = marks.get(p.log)
      if (m === undefined || m.counter < p.counter) marks.set(p.log, { counter: p.counter, time: p.time })
    }
    for (const [l, m] of marks) batch.put(layout.logCounter(l), encodeLogMark(m))
    return marks
  }

  function noteMarks(marks: ReadonlyMap<LogID, LogMark>): void {
    for (const [l, m] of marks) {
      logs.set(l, m)
      counters.set(l, m.counter)
    }
  }

  /**
   * Commit local events whose ops were dry-run against the state plus the events before them in
   * `items`: one store batch for all, valid only when each event's records come next in our log
   * and sort after every event before them. Returns undefined (writing nothing) otherwise.
   */
  async function commitGroup(items: readonly Prepared[]): Promise<InstanceChange[][] | undefined> {
    const group = prepareGroup(items)
    if (group === undefined) return undefined
    await store.batch(group.ops)
    return group.written()
  }

  function prepareGroup(items: readonly Prepared[]): PreparedGroup | undefined {
    const marks = new Map<LogID, LogMark>()
    let last = lastKey
    for (const { records, ov, result } of items) {
      const first = records[0]
      if (first === undefined || records.some((r, i) => r.time === undefined || r.error !== undefined || r.log !== first.log || r.counter !== first.counter + i)) return undefined
      const mark = marks.get(first.log) ?? logs.get(first.log)
      if ((mark?.counter ?? 0) !== first.counter - 1 || frozen.has(first.log)) return undefined
      for (let i = 0; i < records.length; i++) {
        const before = i === 0 ? mark?.time : records[i - 1]!.time
        if (before !== undefined && compareHLC(records[i]!.time!, before) <= 0) return undefined
      }
      const keys = records.map((r) => encodeEventKey(r.time!, r.log, r.counter))
      if (last !== undefined && compareBytes(keys[0]!, last) <= 0) return undefined
      records.forEach((r, i) => {
        const end = i === records.length - 1
        if (!end) {
          const body = r.body as { ops: string; txn: { id: string; part: number }; weftdb: 1 | 2 }
          ov.put(layout.part(r.log, r.counter), cbor.encode({ id: body.txn.id, part: body.txn.part, ops: body.ops, v: body.weftdb }))
        }
        ov.put(layout.event(keys[i]!), encodeStored({ a: r.author ?? null, b: r.body, s: 0, u: JSON.stringify(end ? result.undo : []) }))
      })
      for (const [l, m] of admitInto(ov, records.map((r, i) => ({ key: keys[i]!, time: r.time!, log: r.log, counter: r.counter, author: r.author, body: r.body, isNew: true })))) marks.set(l, m)
      last = keys[keys.length - 1]
    }
    // In order: a later event's write of a key wins, as if each had been committed alone.
    const ops = items.length === 1 ? items[0]!.ov.ops() : items.flatMap((i) => i.ov.ops())
    let done = false
    return {
      ops,
      written: () => {
        if (!done) {
          done = true
          noteMarks(marks)
          lastKey = last
        }
        return items.map((i) => i.result.changes)
      }
    }
  }

  /** Fold new events that all sort after every applied one: one store batch. */
  async function applyAtEnd(fresh: readonly Pending[], outcome: BatchOutcome, batch = new Overlay(reader)): Promise<BatchOutcome> {
    await prefetchEvents(batch, layout, fresh)
    for (const [i, p] of fresh.entries()) {
      if (i > 0 && i % FOLD_TURN === 0) await nextTurn()
      const result = await foldOne(batch, deps, p)
      const news = recordOutcome(batch, layout, p, result)
      if (news !== undefined) outcome.rejections.push(news)
      if (result.ok) outcome.changes.push(...result.res.changes)
      outcome.status.set(`${p.log}/${p.counter}`, result.ok ? null : result.error)
    }
    const marks = admitInto(batch, fresh)
    await store.batch(batch.ops())
    noteMarks(marks)
    const last = fresh[fresh.length - 1]!.key
    if (lastKey === undefined || compareBytes(last, lastKey) > 0) lastKey = last
    return outcome
  }

  /**
   * Store `fresh` unfolded, undo from `target`, and fold everything from there again (chunked;
   * see rewind.ts). Events rejected whatever the state are recorded at once, where they sort.
   */
  async function rewindFrom(target: Uint8Array, fresh: readonly Pending[], batch: Overlay, outcome: BatchOutcome, committed?: () => void): Promise<BatchOutcome> {
    return await exclusive(async () => await rewindNow(target, fresh, batch, outcome, committed))
  }

  async function rewindNow(target: Uint8Array, fresh: readonly Pending[], batch: Overlay, outcome: BatchOutcome, committed?: () => void): Promise<BatchOutcome> {
    setMark(batch, layout, target)
    for (const p of fresh) {
      if (p.fixed === undefined) {
        batch.put(layout.event(p.key), encodeStored(storedOf(p)))
        continue
      }
      const news = recordOutcome(batch, layout, p, { ok: false, error: p.fixed, ops: undefined })
      if (news !== undefined) outcome.rejections.push(news)
      outcome.status.set(`${p.log}/${p.counter}`, p.fixed)
    }
    const marks = admitInto(batch, fresh)
    unsettled = true
    await store.batch(batch.ops())
    noteMarks(marks)
    committed?.()
    return await settle(outcome)
  }

  /** Finish what the mark says: undo down to its target, then fold everything from there again. */
  async function settle(outcome: BatchOutcome): Promise<BatchOutcome> {
    const touched: Touched = new Map()
    const undone = await undoToMark(deps, touched)
    if (undone > 0) log('rewound %d events', undone)
    const replay = await replayFromMark(deps, touched, {
      dropped: isDropped,
      drop(batch, p) {
        batch.del(layout.orderTime(p.log, p.counter))
        batch.del(layout.part(p.log, p.counter))
      },
      folded(p, r) {
        if (p.isNew) outcome.status.set(`${p.log}/${p.counter}`, r === 'dropped' ? equivocated(p) : r)
      }
    })
    outcome.rejections.push(...replay.rejections)
    outcome.replayed += undone
    lastKey = await readLastKey()
    unsettled = false
    outcome.changes.push(...await netChanges(store, layout, touched))
    return outcome
  }

  /** Finish an interrupted rewind first, if any (its changes and rejections go to `outcome`). */
  async function resumeInto(outcome: BatchOutcome): Promise<void> {
    if (!unsettled) return
    log('finishing a rewind that stopped half way')
    await exclusive(async () => await settle(outcome))
  }

  async function wipe(): Promise<void> {
    for (;;) {
      const keys: Uint8Array[] = []
      for await (const [k] of store.range({ prefix: layout.base, limit: 1024 })) keys.push(k)
      if (keys.length === 0) return
      await store.batch(keys.map((key) => ({ type: 'del' as const, key })))
    }
  }

  return {
    get counters() { return counters },
    get lastKey() { return lastKey },

    async load() {
      const version = await store.get(layout.version())
      if (version === undefined || version[0] !== LAYOUT_VERSION) {
        let old = false
        for await (const _ of store.range({ prefix: layout.base, limit: 1 })) old = true
        if (old) {
          // An older layout: everything here is derived from the log store, so derive it again.
          log('rebuilding the DB state of an older layout from the log store')
          await wipe()
        }
        await store.put(layout.version(), Uint8Array.of(LAYOUT_VERSION))
      }
      logs.clear()
      counters.clear()
      const lp = layout.logPrefix()
      for await (const [k, v] of store.range({ prefix: lp })) {
        const id = fromUtf8(k.subarray(lp.length, k.length - 2)) as LogID
        const mark = decodeLogMark(v)
        logs.set(id, mark)
        counters.set(id, mark.counter)
      }
      frozen.clear()
      const fp = layout.frozenPrefix()
      for await (const [k, v] of store.range({ prefix: fp })) frozen.set(fromUtf8(k.subarray(fp.length, k.length - 2)) as LogID, decodeUint64(v))
      const mode = await store.get(layout.mode())
      if (mode !== undefined && fromUtf8(mode) === 'committed' && gov.mode === 'ungoverned') gov.mode = 'committed'
      unsettled = await hasMark(store, layout)
      await resumeInto(newOutcome())
      lastKey = await readLastKey()
    },

    async resume() {
      const outcome = newOutcome()
      await resumeInto(outcome)
      return outcome
    },

    async apply(records) {
      const outcome = newOutcome()
      await resumeInto(outcome)
      const adm = admit({ logs, frozen, held, gov, ownLog: init.ownLog, now: init.now, maxClockDriftMs: init.maxClockDriftMs }, records)
      outcome.gaps = adm.gaps
      if (adm.claim && gov.mode === 'ungoverned') {
        // The thread ID commits to an owner: fold everything again as a governed DB.
        log('the thread ID commits to an owner: folding every event again as a governed DB')
        gov.mode = 'committed'
        const batch = new Overlay(reader)
        batch.put(layout.mode(), utf8('committed'))
        try {
          // Nothing folded yet (a DB joining its thread): folding from the start is folding these.
          if (lastKey === undefined) return await applyAtEnd(adm.fresh, outcome, batch)
          return await rewindFrom(new Uint8Array(0), adm.fresh, batch, outcome)
        } catch (err) {
          if (await store.get(layout.mode()) === undefined) gov.mode = 'ungoverned'
          throw err
        }
      }
      if (adm.fresh.length === 0) return outcome
      // An event rejected whatever the state (unreadable, clock gone back) changes nothing: it
      // never makes the DB rewind, wherever it sorts.
      const first = adm.fresh.find((p) => p.fixed === undefined)
      if (first === undefined || lastKey === undefined || compareBytes(first.key, lastKey) > 0) return await applyAtEnd(adm.fresh, outcome)
      return await rewindFrom(first.key, adm.fresh, new Overlay(reader), outcome)
    },

    commitGroup,
    prepareGroup,

    async freeze(forks) {
      const outcome = newOutcome()
      await resumeInto(outcome)
      const batch = new Overlay(reader)
      const tighter = new Map<LogID, number>()
      let target: Uint8Array | undefined
      for (const f of forks) {
        if (typeof f.log !== 'string' || !Number.isSafeInteger(f.counter) || f.counter < 1) continue
        const key = layout.fork(f.log, f.counter)
        if (await batch.get(key) !== undefined) continue
        const r = forkRejection(f)
        batch.put(key, cbor.encode(r))
        outcome.rejections.push(r)
        const cur = tighter.get(f.log) ?? frozen.get(f.log)
        if (cur !== undefined && cur <= f.counter) continue
        tighter.set(f.log, f.counter)
        batch.put(layout.frozen(f.log), encodeUint64(f.counter))
      }
      for (const [l, c] of tighter) {
        if ((counters.get(l) ?? 0) < c) continue
        const t = await store.get(layout.orderTime(l, c))
        if (t === undefined) continue
        const key = encodeEventKey(decodeOrderTime(t), l, c)
        if (target === undefined || compareBytes(key, target) < 0) target = key
      }
      if (batch.size === 0) return outcome
      const note = (): void => { for (const [l, c] of tighter) frozen.set(l, c) }
      if (target === undefined) {
        await store.batch(batch.ops())
        note()
        return outcome
      }
      log('dropping the records of %d forked logs from the fold', tighter.size)
      return await rewindFrom(target, [], batch, outcome, note)
    },

    async markCommitted() {
      gov.mode = 'committed'
      await store.put(layout.mode(), utf8('committed'))
    },

    nextHold() {
      let min: number | undefined
      for (const t of held.values()) if (min === undefined || t < min) min = t
      return min
    },

    releaseHolds(all) {
      const limit = init.now() + init.maxClockDriftMs
      const out: LogID[] = []
      for (const [l, t] of held) {
        if (all || t <= limit) {
          held.delete(l)
          out.push(l)
        }
      }
      return out
    },

    async conflicts() {
      const out: Rejection[] = []
      for await (const [, v] of store.range({ prefix: layout.forkPrefix() })) out.push(cbor.decode<Rejection>(v))
      for await (const [, v] of store.range({ prefix: layout.rejectedPrefix() })) out.push(cbor.decode<Rejection>(v))
      return out
    }
  }
}

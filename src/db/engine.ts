/**
 * The ordered event log of a DB and its fold. Events are ordered by (HLC time, log ID, record
 * counter); the state is the fold of every event in that order. Each applied event is kept with
 * its undo record (the instances and configs it replaced), so an event that arrives late — its key
 * sorts before events already applied — rewinds those events, applies, and replays them, each
 * re-validated against the state just before it. A batch of records is applied in one store
 * batch: state, event entries, rejection markers and per-log counters together.
 */
import * as cbor from '@ipld/dag-cbor'
import type { HLC } from '../core/hlc.js'
import { logger } from '../core/logger.js'
import type { WeftError } from '../core/errors.js'
import type { LogID, ThreadID } from '../core/types.js'
import type { KVStore } from '../store/kv.js'
import { decodeUint64, encodeUint64 } from '../store/keys.js'
import { applyOps, undoSteps, type ApplyResult, type UndoStep } from './apply.js'
import { InvalidEventError, isRejection } from './errors.js'
import { describeOps, parseBody, parseOps, type Op, type TxnPart, type WireBody } from './event.js'
import { compareBytes, decodeEventKey, encodeEventKey, fromUtf8, prefixUpperBound, type Layout } from './keys.js'
import { Overlay, storeReader } from './overlay.js'
import type { Sandbox } from './sandbox.js'
import { parseDoc } from './state.js'
import type { InstanceChange, Rejection } from './types.js'

const log = logger('weft:db:engine')

/** A record of the thread as the DB sees it (a NetRecord satisfies it). */
export interface DBRecord {
  thread: ThreadID
  log: LogID
  counter: number
  time?: HLC
  author?: string
  body?: unknown
}

/** An applied event as stored under its key: author, body, status, undo record or reason. */
interface StoredEvent {
  a: string | null
  b: unknown
  /** 0 applied, 1 rejected. */
  s: 0 | 1
  /** The undo record (JSON text of the steps) of an applied event. */
  u?: string
  r?: { name: string; message: string }
}

interface Pending { key: Uint8Array; time: HLC; log: LogID; counter: number; author: string | undefined; body: unknown; isNew: boolean; was?: 0 | 1 }

export interface BatchOutcome {
  /** Instance changes to publish, in order. */
  changes: InstanceChange[]
  /** Events newly rejected (new ones, or replayed ones that no longer apply). */
  rejections: Rejection[]
  /** Final status of each new record, by `${log}/${counter}`: null when applied. */
  status: Map<string, WeftError | null>
  /** Logs whose records skipped ahead: read them again after this counter. */
  gaps: Map<LogID, number>
  /** Events undone and replayed. */
  replayed: number
}

export interface Engine {
  load(): Promise<void>
  /** Records applied so far per log. */
  readonly counters: ReadonlyMap<LogID, number>
  readonly lastKey: Uint8Array | undefined
  /** Apply records (any order; each log's in order). The caller holds the DB's write lock. */
  apply(records: readonly DBRecord[]): Promise<BatchOutcome>
  /**
   * Commit a local event (its records, consecutive in our log) whose ops were already applied to
   * `ov` as a dry run against the current state — valid only when the records come next in their
   * log and sort after every applied event. Returns undefined when that does not hold.
   */
  commitPrepared(records: readonly DBRecord[], ov: Overlay, result: ApplyResult): Promise<InstanceChange[] | undefined>
  conflicts(): Promise<Rejection[]>
}

function rejectionOf(p: Pending, ops: Op[] | undefined, error: { name: string; message: string }): Rejection {
  const r: Rejection = { type: 'rejected', log: p.log, counter: p.counter, time: p.time, author: p.author ?? '', error, ops: ops === undefined ? [] : describeOps(ops) }
  const first = r.ops[0]
  if (first !== undefined) {
    r.collection = first.collection
    if (first.instanceID !== undefined) r.instanceID = first.instanceID
  }
  return r
}

export function createEngine(init: { store: KVStore; layout: Layout; sandbox: Sandbox }): Engine {
  const { store, layout, sandbox } = init
  const reader = storeReader(store)
  const counters = new Map<LogID, number>()
  let lastKey: Uint8Array | undefined

  const evPrefix = layout.eventPrefix()
  const bareKey = (full: Uint8Array): Uint8Array => full.subarray(evPrefix.length)

  function encodeEvent(e: { a: string | null; b: unknown; s: 0 | 1; u?: readonly UndoStep[]; r?: { name: string; message: string } }): Uint8Array {
    return cbor.encode(e.s === 0 ? { a: e.a, b: e.b, s: 0, u: JSON.stringify(e.u ?? []) } : { a: e.a, b: e.b, s: 1, r: e.r! })
  }

  /** The ops of all parts of a multi-record transaction whose last part is `p`. */
  async function gather(batch: Overlay, p: Pending, txn: TxnPart, last: Op[]): Promise<Op[]> {
    const ops: Op[] = []
    for (let k = 0; k < txn.parts - 1; k++) {
      const counter = p.counter - (txn.parts - 1) + k
      const v = counter < 1 ? undefined : await batch.get(layout.part(p.log, counter))
      const part = v === undefined ? undefined : cbor.decode<{ id: string; part: number; ops: unknown }>(v)
      if (part === undefined || part.id !== txn.id || part.part !== k) throw new InvalidEventError(`part ${k} of transaction ${txn.id} is missing`)
      ops.push(...parseOps(part.ops))
    }
    ops.push(...last)
    return ops
  }

  async function applyOne(batch: Overlay, p: Pending): Promise<{ ok: true; res: ApplyResult; ops: Op[] } | { ok: false; error: WeftError; ops: Op[] | undefined }> {
    const child = batch.child()
    let ops: Op[] | undefined
    try {
      const parsed = parseBody(p.body)
      ops = parsed.ops
      if (parsed.txn !== undefined) {
        if (parsed.txn.part < parsed.txn.parts - 1) {
          // A leading part: keep its ops for the last part; the state does not change.
          batch.put(layout.part(p.log, p.counter), cbor.encode({ id: parsed.txn.id, part: parsed.txn.part, ops: (p.body as WireBody).ops }))
          return { ok: true, res: { changes: [], undo: [], validated: false }, ops }
        }
        ops = await gather(batch, p, parsed.txn, ops)
      }
      const res = await applyOps(child, { layout, sandbox, writer: p.author, timestamp: p.time.wall }, ops)
      child.mergeInto()
      return { ok: true, res, ops }
    } catch (err) {
      if (!isRejection(err)) throw err
      return { ok: false, error: err, ops }
    }
  }

  /** Keep each log's next records in sequence; note logs that skip ahead. */
  function admit(records: readonly DBRecord[], gaps: Map<LogID, number>): Pending[] {
    const byLog = new Map<LogID, DBRecord[]>()
    for (const r of records) {
      if (r.time === undefined) { log.error('record %s/%d has no readable event; skipped', r.log, r.counter); continue }
      let list = byLog.get(r.log)
      if (list === undefined) byLog.set(r.log, list = [])
      list.push(r)
    }
    const out: Pending[] = []
    for (const [logId, list] of byLog) {
      list.sort((a, b) => a.counter - b.counter)
      let expected = counters.get(logId) ?? 0
      for (const r of list) {
        if (r.counter <= expected) continue
        if (r.counter !== expected + 1) { gaps.set(logId, expected); break }
        expected++
        out.push({ key: encodeEventKey(r.time!, r.log, r.counter), time: r.time!, log: r.log, counter: r.counter, author: r.author, body: r.body, isNew: true })
      }
    }
    return out.sort((a, b) => compareBytes(a.key, b.key))
  }

  async function apply(records: readonly DBRecord[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { changes: [], rejections: [], status: new Map(), gaps: new Map(), replayed: 0 }
    const fresh = admit(records, outcome.gaps)
    if (fresh.length === 0) return outcome
    const batch = new Overlay(reader)
    const first = fresh[0]!.key
    const rewound: Pending[] = []
    const touched = new Map<string, [string, string]>()
    const touch = (steps: readonly UndoStep[]): void => {
      for (const s of steps) if (s[0] === 'd') touched.set(`${s[1]}\u0000${s[2]}`, [s[1], s[2]])
    }
    if (lastKey !== undefined && compareBytes(first, lastKey) < 0) {
      const upper = prefixUpperBound(evPrefix)
      for await (const [k, v] of store.range({ gt: layout.event(first), ...(upper !== undefined ? { lt: upper } : {}), reverse: true })) {
        const e = cbor.decode<StoredEvent>(v)
        if (e.s === 0 && e.u !== undefined) {
          const steps = JSON.parse(e.u) as UndoStep[]
          await undoSteps(batch, layout, steps)
          touch(steps)
        }
        const key = bareKey(k).slice()
        const { time, log: logId, counter } = decodeEventKey(key)
        rewound.push({ key, time, log: logId, counter, author: e.a ?? undefined, body: e.b, isNew: false, was: e.s })
      }
      outcome.replayed = rewound.length
      log('rewinding %d events for %d late records', rewound.length, fresh.length)
    }
    const all = rewound.length === 0 ? fresh : [...fresh, ...rewound].sort((a, b) => compareBytes(a.key, b.key))
    for (const p of all) {
      const result = await applyOne(batch, p)
      const r = result.ok ? null : rejectionOf(p, result.ops, { name: result.error.name, message: result.error.message })
      if (result.ok) {
        batch.put(layout.event(p.key), encodeEvent({ a: p.author ?? null, b: p.body, s: 0, u: result.res.undo }))
        if (p.was === 1) batch.del(layout.rejected(p.key))
        if (rewound.length === 0) outcome.changes.push(...result.res.changes)
        else touch(result.res.undo)
      } else {
        batch.put(layout.event(p.key), encodeEvent({ a: p.author ?? null, b: p.body, s: 1, r: r!.error }))
        batch.put(layout.rejected(p.key), cbor.encode(r))
        if (p.isNew || p.was === 0) outcome.rejections.push(r!)
      }
      if (p.isNew) outcome.status.set(`${p.log}/${p.counter}`, result.ok ? null : result.error)
    }
    const nextCounters = new Map<LogID, number>()
    for (const p of fresh) nextCounters.set(p.log, Math.max(nextCounters.get(p.log) ?? 0, p.counter))
    for (const [l, c] of nextCounters) batch.put(layout.logCounter(l), encodeUint64(c))
    if (rewound.length > 0) outcome.changes = await netChanges(batch, [...touched.values()])
    await store.batch(batch.ops())
    for (const [l, c] of nextCounters) counters.set(l, c)
    const last = all[all.length - 1]!.key
    if (lastKey === undefined || compareBytes(last, lastKey) > 0) lastKey = last
    return outcome
  }

  /** What changed for each touched instance between the store and the batch. */
  async function netChanges(batch: Overlay, touched: Array<[string, string]>): Promise<InstanceChange[]> {
    const keys = touched.map(([c, id]) => layout.doc(c, id))
    const [before, after] = await Promise.all([store.getMany(keys), batch.getMany(keys)])
    const out: InstanceChange[] = []
    touched.forEach(([collection, instanceID], i) => {
      const b = before[i]
      const a = after[i]
      if (a === undefined) {
        if (b !== undefined) out.push({ type: 'delete', collection, instanceID })
        return
      }
      if (b !== undefined && compareBytes(a, b) === 0) return
      out.push({ type: b === undefined ? 'create' : 'save', collection, instanceID, instance: parseDoc(a).doc })
    })
    return out
  }

  return {
    get counters() { return counters },
    get lastKey() { return lastKey },

    async load() {
      counters.clear()
      const lp = layout.logPrefix()
      for await (const [k, v] of store.range({ prefix: lp })) {
        counters.set(fromUtf8(k.subarray(lp.length, k.length - 2)) as LogID, decodeUint64(v))
      }
      lastKey = undefined
      for await (const [k] of store.range({ prefix: evPrefix, reverse: true, limit: 1 })) lastKey = bareKey(k).slice()
    },

    apply,

    async commitPrepared(records, ov, result) {
      const first = records[0]
      if (first === undefined || records.some((r, i) => r.time === undefined || r.log !== first.log || r.counter !== first.counter + i)) return undefined
      if ((counters.get(first.log) ?? 0) !== first.counter - 1) return undefined
      const keys = records.map((r) => encodeEventKey(r.time!, r.log, r.counter))
      if (lastKey !== undefined && compareBytes(keys[0]!, lastKey) <= 0) return undefined
      records.forEach((r, i) => {
        const last = i === records.length - 1
        if (!last) {
          const body = r.body as WireBody
          ov.put(layout.part(r.log, r.counter), cbor.encode({ id: body.txn!.id, part: body.txn!.part, ops: body.ops }))
        }
        ov.put(layout.event(keys[i]!), encodeEvent({ a: r.author ?? null, b: r.body, s: 0, u: last ? result.undo : [] }))
      })
      const last = records[records.length - 1]!
      ov.put(layout.logCounter(last.log), encodeUint64(last.counter))
      await store.batch(ov.ops())
      counters.set(last.log, last.counter)
      lastKey = keys[keys.length - 1]
      return result.changes
    },

    async conflicts() {
      const out: Rejection[] = []
      for await (const [, v] of store.range({ prefix: layout.rejectedPrefix() })) out.push(cbor.decode<Rejection>(v))
      return out
    }
  }
}


/**
 * Admission: which received records enter the fold, and where each one sits in the order.
 * Records of a log are taken in counter order (a record that skips ahead is a gap, read again
 * from the log store). Each admitted record gets its **order time**:
 *
 * - a readable record whose time is after the order time of the log's previous record: its time;
 * - a readable record whose time is not (the log's clock went back): the previous record's order
 *   time, and it is rejected (ClockRegressionError) whatever the state;
 * - a record that could not be read (no time, or an error from the net): the previous record's
 *   order time (the zero time for a log's first record), rejected with its error.
 *
 * So a log's records sort in counter order, and every peer places every record alike. Records of
 * a frozen log at or past its fork are not admitted. A readable record stamped more than the
 * allowed drift ahead of this peer's clock is held: it and the later records of its log wait
 * (not applied, not counted) until the clock reaches it.
 */
import { compareHLC, isHLC, type HLC } from '../core/index.js'
import type { LogID, ThreadID } from '../core/types.js'
import { decodeUint64, encodeUint64 } from '../store/index.js'
import { compareBytes, encodeEventKey } from './keys.js'
import { claimsGenesis, type OwnerBasis } from './governance.js'

/** A record of the thread as the DB sees it (a NetRecord satisfies it). */
export interface DBRecord {
  thread: ThreadID
  log: LogID
  counter: number
  /** The event's time; absent when the record could not be read. */
  time?: HLC
  author?: string
  body?: unknown
  /** Set by the net when the record verified but its event could not be decrypted or decoded. */
  error?: { name: string; message: string }
}

/** An event on its way into the fold. */
export interface Pending {
  /** Event key: order time, log, counter. */
  key: Uint8Array
  /** The order time. */
  time: HLC
  log: LogID
  counter: number
  author: string | undefined
  body: unknown
  /** A rejection that does not depend on the state (unreadable record, clock regression). */
  fixed?: { name: string; message: string }
  /** Newly received (not a replay of an event applied before). */
  isNew: boolean
  /** Status before a rewind: 0 applied, 1 rejected. */
  was?: 0 | 1
}

/** What the DB keeps per log: the last record admitted and its order time. */
export interface LogMark { counter: number; time: HLC | undefined }

export const ZERO_TIME: HLC = { wall: 0, counter: 0 }

/** `l` value: counter (8 bytes) · order time wall (8) · HLC counter (4). */
export function encodeLogMark(m: LogMark): Uint8Array {
  const out = new Uint8Array(20)
  out.set(encodeUint64(m.counter), 0)
  if (m.time !== undefined) {
    out.set(encodeOrderTime(m.time), 8)
  }
  return out
}

export function decodeLogMark(v: Uint8Array): LogMark {
  const counter = decodeUint64(v, 0)
  return { counter, time: v.length >= 20 ? decodeOrderTime(v.subarray(8)) : undefined }
}

/** `t` value: the 12-byte order time. */
export function encodeOrderTime(t: HLC): Uint8Array {
  const out = new Uint8Array(12)
  out.set(encodeUint64(t.wall), 0)
  new DataView(out.buffer).setUint32(8, t.counter)
  return out
}

export function decodeOrderTime(v: Uint8Array): HLC {
  return { wall: decodeUint64(v, 0), counter: new DataView(v.buffer, v.byteOffset + 8, 4).getUint32(0) }
}

const MAX_ERROR_TEXT = 1000

function clip(s: unknown, fallback: string): string {
  return typeof s === 'string' && s !== '' ? s.slice(0, MAX_ERROR_TEXT) : fallback
}

export interface AdmitContext {
  logs: ReadonlyMap<LogID, LogMark>
  frozen: ReadonlyMap<LogID, number>
  /** Logs waiting behind a held record, with its wall time. */
  held: Map<LogID, number>
  gov: OwnerBasis
  /** Our own log: its records are never held (our clock made them). */
  ownLog: LogID | undefined
  now: () => number
  maxClockDriftMs: number
}

export interface Admitted {
  /** In key order. */
  fresh: Pending[]
  /** Logs whose records skipped ahead: read them again after this counter. */
  gaps: Map<LogID, number>
  /** Whether a record carried a genesis matching the thread ID (so the ID commits). */
  claim: boolean
}

export function admit(ctx: AdmitContext, records: readonly DBRecord[]): Admitted {
  const out: Admitted = { fresh: [], gaps: new Map(), claim: false }
  const byLog = new Map<LogID, DBRecord[]>()
  const detect = ctx.gov.mode === 'ungoverned' && ctx.gov.commitment !== undefined
  for (const r of records) {
    let list = byLog.get(r.log)
    if (list === undefined) byLog.set(r.log, list = [])
    list.push(r)
    // Any copy of a matching genesis proves the ID commits, whoever wrote it and whether or not
    // it is ever applied (a frozen or held record counts too): every peer holding it agrees.
    if (detect && !out.claim && r.error === undefined && claimsGenesis(r.body, ctx.gov.commitment)) out.claim = true
  }
  const limit = ctx.now() + ctx.maxClockDriftMs
  for (const [logId, list] of byLog) {
    if (ctx.held.has(logId)) continue
    list.sort((a, b) => a.counter - b.counter)
    const mark = ctx.logs.get(logId)
    let expected = mark?.counter ?? 0
    let last = mark?.time
    const frozenAt = ctx.frozen.get(logId)
    for (const r of list) {
      if (r.counter <= expected) continue
      if (frozenAt !== undefined && r.counter >= frozenAt) break
      if (r.counter !== expected + 1) { out.gaps.set(logId, expected); break }
      let time: HLC
      let fixed: Pending['fixed']
      if (r.time === undefined || r.error !== undefined || !isHLC(r.time)) {
        time = last ?? ZERO_TIME
        fixed = r.error !== undefined || r.time === undefined
          ? { name: clip(r.error?.name, 'UnreadableEventError'), message: clip(r.error?.message, 'the record has no readable event') }
          : { name: 'InvalidEventError', message: 'the record time is not a hybrid logical clock timestamp' }
      } else if (last !== undefined && compareHLC(r.time, last) <= 0) {
        time = last
        fixed = { name: 'ClockRegressionError', message: `the event time ${r.time.wall}.${r.time.counter} is not after ${last.wall}.${last.counter}, the time of the previous record of its log` }
      } else if (r.time.wall > limit && r.log !== ctx.ownLog) {
        ctx.held.set(logId, r.time.wall)
        break
      } else {
        time = r.time
      }
      expected++
      last = time
      const p: Pending = { key: encodeEventKey(time, r.log, r.counter), time, log: r.log, counter: r.counter, author: r.author, body: r.body ?? null, isNew: true }
      if (fixed !== undefined) p.fixed = fixed
      out.fresh.push(p)
    }
  }
  out.fresh.sort((a, b) => compareBytes(a.key, b.key))
  return out
}

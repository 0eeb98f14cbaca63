/**
 * Folding one event into the state: parsing its body, gathering the parts of a multi-record
 * transaction, applying its ops in a child overlay (all or nothing), and recording the outcome —
 * the stored event with its undo record, or its rejection. Every path that applies events (the
 * end of the order, a replay after a rewind, a local commit) goes through here, so every peer
 * decides alike.
 */
import * as cbor from '@ipld/dag-cbor'
import { applyOps, readKeys, type ApplyResult, type UndoStep } from './apply.js'
import type { Pending } from './admit.js'
import { InvalidEventError, isRejection } from './errors.js'
import { describeOps, LEGACY_EVENT_FORMAT_VERSION, parseBody, parseOps, type Op, type ParsedBody, type TxnPart, type WireBody } from './event.js'
import type { OwnerBasis } from './governance.js'
import { decodeEventKey, type Layout } from './keys.js'
import type { Overlay } from './overlay.js'
import type { Sandbox } from './sandbox.js'
import { encodeStoredFast } from './stored-cbor.js'
import type { Rejection } from './types.js'

/** An event as stored under its key (`e`, and `q` while it waits to be replayed). */
export interface StoredEvent {
  /** Author. */
  a: string | null
  /** Body (null for a record that could not be read). */
  b: unknown
  /** 0 applied, 1 rejected; absent in `q` for a record not folded yet. */
  s?: 0 | 1
  /** The undo record (JSON text of the steps) of an applied event. */
  u?: string
  /** Why a rejected event was rejected. */
  r?: { name: string; message: string }
  /** 1: the rejection does not depend on the state (unreadable record, clock regression). */
  f?: 1
}

export function encodeStored(e: StoredEvent): Uint8Array {
  const fast = encodeStoredFast(e)
  if (fast !== undefined) return fast
  const out: Record<string, unknown> = { a: e.a, b: e.b }
  if (e.s !== undefined) out.s = e.s
  if (e.u !== undefined) out.u = e.u
  if (e.r !== undefined) out.r = e.r
  if (e.f !== undefined) out.f = e.f
  return cbor.encode(out)
}

export function decodeStored(v: Uint8Array): StoredEvent {
  return cbor.decode<StoredEvent>(v)
}

/** The stored form of a pending event before it is folded. */
export function storedOf(p: Pending): StoredEvent {
  const e: StoredEvent = { a: p.author ?? null, b: p.body }
  if (p.fixed !== undefined) { e.r = p.fixed; e.f = 1 }
  return e
}

/** A stored event (bare event key and value) as a pending event to fold again. */
export function pendingOf(key: Uint8Array, e: StoredEvent, isNew: boolean): Pending {
  const { time, log, counter } = decodeEventKey(key)
  const p: Pending = { key, time, log, counter, author: e.a ?? undefined, body: e.b, isNew }
  if (e.s !== undefined) p.was = e.s
  if (e.f === 1 && e.r !== undefined) p.fixed = e.r
  return p
}

export interface FoldDeps {
  layout: Layout
  sandbox: Sandbox
  gov: OwnerBasis
}

export type FoldResult =
  | { ok: true; res: ApplyResult; ops: Op[] }
  | { ok: false; error: { name: string; message: string }; ops: Op[] | undefined }

/** Events folded between two turns of the event loop (see {@link nextTurn}). */
export const FOLD_TURN = 256

/**
 * Let the event loop run (I/O callbacks, timers, other DBs): folding a batch whose reads were all
 * read ahead awaits nothing but microtasks, and would otherwise hold the loop for the whole batch.
 */
export async function nextTurn(): Promise<void> {
  await new Promise<void>((resolve) => {
    if (typeof setImmediate === 'function') { setImmediate(resolve); return }
    if (typeof MessageChannel === 'function') {
      const ch = new MessageChannel()
      ch.port1.onmessage = () => { ch.port1.close(); resolve() }
      ch.port2.postMessage(null)
      return
    }
    setTimeout(resolve, 0)
  })
}

/** The ops of all parts of a multi-record transaction whose last part is `p`. */
async function gather(batch: Overlay, layout: Layout, p: Pending, txn: TxnPart, last: Op[]): Promise<Op[]> {
  const ops: Op[] = []
  for (let k = 0; k < txn.parts - 1; k++) {
    const counter = p.counter - (txn.parts - 1) + k
    const v = counter < 1 ? undefined : await batch.get(layout.part(p.log, counter))
    const part = v === undefined ? undefined : cbor.decode<{ id: string; part: number; ops: unknown; v?: 1 | 2 }>(v)
    if (part === undefined || part.id !== txn.id || part.part !== k) throw new InvalidEventError(`part ${k} of transaction ${txn.id} is missing`)
    ops.push(...parseOps(part.ops, part.v ?? LEGACY_EVENT_FORMAT_VERSION))
  }
  ops.push(...last)
  return ops
}

/** Bodies parsed ahead by {@link prefetchEvents}, so that folding does not parse them again. */
const parsedAhead = new WeakMap<Pending, ParsedBody>()

/**
 * Read ahead, in one request, what folding `events` will read first (their instances, the unique
 * entries of created ones): one store round trip per chunk of events instead of one per event.
 */
export async function prefetchEvents(batch: Overlay, layout: Layout, events: readonly Pending[]): Promise<void> {
  const keys: Uint8Array[] = []
  for (const p of events) {
    if (p.fixed !== undefined) continue
    try {
      const parsed = parseBody(p.body)
      parsedAhead.set(p, parsed)
      keys.push(...await readKeys(batch, layout, parsed.ops))
    } catch (err) {
      if (!isRejection(err)) throw err
    }
  }
  await batch.prefetch(keys)
}

/** Fold one event into `batch` (its ops in a child overlay, merged only when all of them apply). */
export async function foldOne(batch: Overlay, deps: FoldDeps, p: Pending): Promise<FoldResult> {
  if (p.fixed !== undefined) return { ok: false, error: p.fixed, ops: undefined }
  const { layout } = deps
  let ops: Op[] | undefined
  try {
    const ahead = parsedAhead.get(p)
    const parsed = ahead ?? parseBody(p.body)
    parsedAhead.delete(p)
    ops = parsed.ops
    if (parsed.version === LEGACY_EVENT_FORMAT_VERSION && deps.gov.mode === 'committed') {
      throw new InvalidEventError('a version 1 event does not apply in a DB whose thread ID commits to its owner')
    }
    if (parsed.txn !== undefined) {
      if (parsed.txn.part < parsed.txn.parts - 1) {
        // A leading part: keep its ops for the last part; the state does not change.
        batch.put(layout.part(p.log, p.counter), cbor.encode({ id: parsed.txn.id, part: parsed.txn.part, ops: (p.body as WireBody).ops, v: parsed.version }))
        return { ok: true, res: { changes: [], undo: [], validated: false }, ops }
      }
      ops = await gather(batch, layout, p, parsed.txn, ops)
    }
    const child = batch.child()
    // Read ahead with its batch, unless it gathered the ops of earlier parts.
    const prefetched = ahead !== undefined && parsed.txn === undefined
    const res = await applyOps(child, { layout, sandbox: deps.sandbox, writer: p.author, timestamp: p.time.wall, gov: deps.gov, prefetched }, ops)
    child.mergeInto()
    return { ok: true, res, ops }
  } catch (err) {
    if (!isRejection(err)) throw err
    return { ok: false, error: { name: err.name, message: err.message }, ops }
  }
}

export function rejectionOf(p: Pick<Pending, 'log' | 'counter' | 'time' | 'author'>, ops: Op[] | undefined, error: { name: string; message: string }): Rejection {
  const r: Rejection = { type: 'rejected', log: p.log, counter: p.counter, time: p.time, author: p.author ?? '', error, ops: ops === undefined ? [] : describeOps(ops) }
  const first = r.ops[0]
  if (first?.collection !== undefined) {
    r.collection = first.collection
    if (first.instanceID !== undefined) r.instanceID = first.instanceID
  }
  return r
}

/**
 * Write the outcome of folding `p` into `batch`: its stored event, and its rejection marker.
 * Returns the rejection when it is news (a new event, or one that applied before the rewind).
 */
export function recordOutcome(batch: Overlay, layout: Layout, p: Pending, result: FoldResult): Rejection | undefined {
  const base: StoredEvent = { a: p.author ?? null, b: p.body }
  if (result.ok) {
    batch.put(layout.event(p.key), encodeStored({ ...base, s: 0, u: JSON.stringify(result.res.undo satisfies UndoStep[]) }))
    if (p.was === 1) batch.del(layout.rejected(p.key))
    return undefined
  }
  const r = rejectionOf(p, result.ops, result.error)
  const stored: StoredEvent = { ...base, s: 1, r: r.error }
  if (p.fixed !== undefined) stored.f = 1
  batch.put(layout.event(p.key), encodeStored(stored))
  batch.put(layout.rejected(p.key), cbor.encode(r))
  return p.isNew || p.was === 0 ? r : undefined
}

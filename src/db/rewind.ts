/**
 * Rewind and replay in bounded chunks. When an event sorts before events already applied (a late
 * record, a fork that drops a log's tail, a DB that learns its thread ID commits to an owner), the
 * applied events from that point on are undone newest first, then every event from that point on
 * is folded again in order. The events stay where they are (`e`); a mark `w` says how far the
 * rewind goes back (`target`), and how far it has come: while undoing, the lowest event undone so
 * far; while folding again, the last event folded. Each chunk is one store batch that moves the
 * mark with it, so memory stays bounded whatever the number of events replayed, the store is
 * consistent after every batch, and a peer stopped in the middle resumes where it stopped.
 * Records received for the rewind wait in `e` without a status until they are folded.
 *
 * Listener events: the net change of each instance the rewind touched, between the state before
 * it and the state after it (a short hash of each instance's value before is kept, not the value).
 */
import * as cbor from '@ipld/dag-cbor'
import { sha256 } from '@noble/hashes/sha2.js'
import { toHex } from '../core/index.js'
import { undoSteps, type UndoStep } from './apply.js'
import type { Pending } from './admit.js'
import { decodeStored, foldOne, pendingOf, prefetchEvents, recordOutcome, type FoldDeps } from './fold.js'
import { prefixUpperBound, type Layout } from './keys.js'
import { keyString, Overlay, storeReader } from './overlay.js'
import { parseDoc } from './state.js'
import type { KVStore } from '../store/kv.js'
import type { InstanceChange, Rejection } from './types.js'

const encoder = new TextEncoder()

/** Events undone or folded per store batch. */
export const REWIND_CHUNK = 500

/** Instances a rewind touched: their value before it (a short hash, or null when absent). */
export type Touched = Map<string, { collection: string; id: string; before: string | null }>

/** The rewind mark (`w`): where the rewind goes back to and how far it has come. */
interface Mark {
  /** Bare event key: every event at or after it is undone, then folded again. */
  target: Uint8Array
  /** 1: undoing, newest first; 2: folding again, oldest first. */
  phase: 1 | 2
  /** Phase 1: the lowest event undone so far. Phase 2: the last event folded. */
  at?: Uint8Array
}

function digest(bytes: Uint8Array): string {
  return toHex(sha256(bytes).subarray(0, 16))
}

export interface ReplayHooks {
  /** Whether the event must be dropped (its log is frozen at or before it). */
  dropped(p: Pending): boolean
  /** Called for each event folded or dropped, after its batch committed. */
  folded?(p: Pending, rejection: { name: string; message: string } | null | 'dropped'): void
  /** Writes to add to a batch that drops `p` (its parts, order time). */
  drop(batch: Overlay, p: Pending): void
}

export interface RewindDeps extends FoldDeps {
  store: KVStore
}

async function readMark(store: KVStore, layout: Layout): Promise<Mark | undefined> {
  const v = await store.get(layout.rewindMark())
  return v === undefined ? undefined : cbor.decode<Mark>(v)
}

function putMark(batch: Overlay, layout: Layout, mark: Mark): void {
  batch.put(layout.rewindMark(), cbor.encode(mark.at === undefined ? { target: mark.target, phase: mark.phase } : mark))
}

/** Start a rewind back to `target` (in the batch that also stores the records it is for). */
export function setMark(batch: Overlay, layout: Layout, target: Uint8Array): void {
  putMark(batch, layout, { target, phase: 1 })
}

/** Whether a rewind is in progress. */
export async function hasMark(store: KVStore, layout: Layout): Promise<boolean> {
  return await store.get(layout.rewindMark()) !== undefined
}

/** Phase 1: undo every applied event at or after the target, newest first. Returns how many events (applied or rejected) it went back over. */
export async function undoToMark(deps: RewindDeps, touched: Touched): Promise<number> {
  const { store, layout } = deps
  const reader = storeReader(store)
  const mark = await readMark(store, layout)
  if (mark === undefined || mark.phase !== 1) return 0
  const evPrefix = layout.eventPrefix()
  let upper = mark.at === undefined ? prefixUpperBound(evPrefix)! : layout.event(mark.at)
  let undone = 0
  for (;;) {
    const chunk: Array<[Uint8Array, Uint8Array]> = []
    for await (const [k, v] of store.range({ gte: layout.event(mark.target), lt: upper, reverse: true, limit: REWIND_CHUNK })) chunk.push([k, v])
    const ov = new Overlay(reader)
    const events = chunk.map(([, v]) => decodeStored(v))
    const undo = events.map((e) => e.s === 0 && e.u !== undefined ? JSON.parse(e.u) as UndoStep[] : [])
    await ov.prefetch(undo.flatMap((steps) => steps.filter((s) => s[0] === 'd').map((s) => layout.doc(s[1] as string, s[2] as string))))
    for (const [i, e] of events.entries()) {
      if (e.s !== undefined) undone++
      const steps = undo[i]!
      for (const s of steps) {
        if (s[0] !== 'd') continue
        const key = layout.doc(s[1], s[2])
        const id = keyString(key)
        if (touched.has(id)) continue
        const now = await ov.get(key)
        touched.set(id, { collection: s[1], id: s[2], before: now === undefined ? null : digest(now) })
      }
      await undoSteps(ov, layout, steps)
    }
    const done = chunk.length < REWIND_CHUNK
    if (!done) upper = chunk[chunk.length - 1]![0]
    putMark(ov, layout, done ? { target: mark.target, phase: 2 } : { target: mark.target, phase: 1, at: upper.slice(evPrefix.length) })
    await store.batch(ov.ops())
    if (done) return undone
  }
}

/**
 * Phase 2: fold every event at or after the target again, in order, chunk by chunk. Returns the
 * rejections that are news and the number of events folded.
 */
export async function replayFromMark(deps: RewindDeps, touched: Touched, hooks: ReplayHooks): Promise<{ rejections: Rejection[]; folded: number }> {
  const { store, layout } = deps
  const reader = storeReader(store)
  const rejections: Rejection[] = []
  let folded = 0
  const mark = await readMark(store, layout)
  if (mark === undefined || mark.phase !== 2) return { rejections, folded }
  const evPrefix = layout.eventPrefix()
  const upper = prefixUpperBound(evPrefix)!
  let after = mark.at
  for (;;) {
    const chunk: Array<[Uint8Array, Uint8Array]> = []
    const lower = after === undefined ? { gte: layout.event(mark.target) } : { gt: layout.event(after) }
    for await (const [k, v] of store.range({ ...lower, lt: upper, limit: REWIND_CHUNK })) chunk.push([k, v])
    const ov = new Overlay(reader)
    const done: Array<[Pending, { name: string; message: string } | null | 'dropped']> = []
    const pending = chunk.map(([k, v]) => {
      const e = decodeStored(v)
      return pendingOf(k.slice(evPrefix.length), e, e.s === undefined)
    })
    await prefetchEvents(ov, layout, pending.filter((p) => !hooks.dropped(p)))
    for (const [i, [k]] of chunk.entries()) {
      const p = pending[i]!
      if (hooks.dropped(p)) {
        ov.del(k)
        ov.del(layout.rejected(p.key))
        hooks.drop(ov, p)
        done.push([p, 'dropped'])
        continue
      }
      const result = await foldOne(ov, deps, p)
      const news = recordOutcome(ov, layout, p, result)
      if (news !== undefined) rejections.push(news)
      if (result.ok) {
        for (const s of result.res.undo) {
          if (s[0] !== 'd') continue
          const key = layout.doc(s[1], s[2])
          const id = keyString(key)
          if (!touched.has(id)) touched.set(id, { collection: s[1], id: s[2], before: s[3] === null ? null : digest(encoder.encode(s[3])) })
        }
      }
      done.push([p, result.ok ? null : result.error])
    }
    const finished = chunk.length < REWIND_CHUNK
    if (finished) ov.del(layout.rewindMark())
    else {
      after = chunk[chunk.length - 1]![0].slice(evPrefix.length)
      putMark(ov, layout, { target: mark.target, phase: 2, at: after })
    }
    await store.batch(ov.ops())
    folded += chunk.length
    for (const [p, r] of done) hooks.folded?.(p, r)
    if (finished) return { rejections, folded }
  }
}

/** The net change of each touched instance between its value before the rewind and now. */
export async function netChanges(store: KVStore, layout: Layout, touched: Touched): Promise<InstanceChange[]> {
  const out: InstanceChange[] = []
  const all = [...touched.values()]
  for (let i = 0; i < all.length; i += REWIND_CHUNK) {
    const slice = all.slice(i, i + REWIND_CHUNK)
    const after = await store.getMany(slice.map((t) => layout.doc(t.collection, t.id)))
    slice.forEach((t, j) => {
      const a = after[j]
      if (a === undefined) {
        if (t.before !== null) out.push({ type: 'delete', collection: t.collection, instanceID: t.id })
        return
      }
      if (t.before !== null && digest(a) === t.before) return
      out.push({ type: t.before === null ? 'create' : 'save', collection: t.collection, instanceID: t.id, instance: parseDoc(a).doc })
    })
  }
  return out
}


/**
 * Rewind and replay in bounded chunks. When an event sorts before events already applied (a late
 * record, a fork that drops a log's tail, a DB that learns its thread ID commits to an owner), the
 * applied events from that point on are undone newest first and moved to the replay queue `q`,
 * then the queue is folded in order. Each chunk is one store batch, so memory stays bounded
 * whatever the number of events replayed, and the store is consistent after every batch: the
 * state is the fold of the events in `e`, `q` holds the events after them, and the mark `w`
 * (present until every event after it is undone) says how far back the rewind goes. A peer
 * stopped in the middle resumes on open.
 *
 * Listener events: the net change of each instance the rewind touched, between the state before
 * it and the state after it (a short hash of each instance's value before is kept, not the value).
 */
import * as cbor from '@ipld/dag-cbor'
import { sha256 } from '@noble/hashes/sha2.js'
import { toHex } from '../core/bytes.js'
import { undoSteps, type UndoStep } from './apply.js'
import type { Pending } from './admit.js'
import { decodeStored, encodeStored, foldOne, pendingOf, recordOutcome, type FoldDeps } from './fold.js'
import { compareBytes, prefixUpperBound, type Layout } from './keys.js'
import { keyString, Overlay, storeReader } from './overlay.js'
import { parseDoc } from './state.js'
import type { KVStore } from '../store/kv.js'
import type { InstanceChange, Rejection } from './types.js'

const encoder = new TextEncoder()

/** Events undone or folded per store batch. */
export const REWIND_CHUNK = 500

/** Instances a rewind touched: their value before it (a short hash, or null when absent). */
export type Touched = Map<string, { collection: string; id: string; before: string | null }>

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

function bareKey(layout: Layout, full: Uint8Array): Uint8Array {
  return full.slice(layout.eventPrefix().length)
}

/** Undo every applied event at or after the mark, newest first, moving each into `q`. */
export async function undoToMark(deps: RewindDeps, touched: Touched): Promise<number> {
  const { store, layout } = deps
  const reader = storeReader(store)
  const markValue = await store.get(layout.rewindMark())
  if (markValue === undefined) return 0
  const mark = cbor.decode<Uint8Array>(markValue)
  const evPrefix = layout.eventPrefix()
  const upper = prefixUpperBound(evPrefix)!
  let undone = 0
  for (;;) {
    const chunk: Array<[Uint8Array, Uint8Array]> = []
    for await (const [k, v] of store.range({ gte: layout.event(mark), lt: upper, reverse: true, limit: REWIND_CHUNK })) chunk.push([k, v])
    const ov = new Overlay(reader)
    for (const [k, v] of chunk) {
      const e = decodeStored(v)
      if (e.s === 0 && e.u !== undefined) {
        const steps = JSON.parse(e.u) as UndoStep[]
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
      ov.put(layout.queued(bareKey(layout, k)), v)
      ov.del(k)
    }
    if (chunk.length < REWIND_CHUNK) ov.del(layout.rewindMark())
    await store.batch(ov.ops())
    undone += chunk.length
    if (chunk.length < REWIND_CHUNK) return undone
  }
}

/**
 * Fold every event of the queue `q` in order, chunk by chunk. Returns the rejections that are
 * news and the key of the last event folded.
 */
export async function replayQueue(deps: RewindDeps, touched: Touched, hooks: ReplayHooks): Promise<{ rejections: Rejection[]; last: Uint8Array | undefined; replayed: number }> {
  const { store, layout } = deps
  const reader = storeReader(store)
  const qPrefix = layout.queuedPrefix()
  const rejections: Rejection[] = []
  let last: Uint8Array | undefined
  let replayed = 0
  for (;;) {
    const chunk: Array<[Uint8Array, Uint8Array]> = []
    for await (const [k, v] of store.range({ prefix: qPrefix, limit: REWIND_CHUNK })) chunk.push([k, v])
    if (chunk.length === 0) break
    const ov = new Overlay(reader)
    const done: Array<[Pending, { name: string; message: string } | null | 'dropped']> = []
    for (const [k, v] of chunk) {
      const e = decodeStored(v)
      const p = pendingOf(k.slice(qPrefix.length), e, e.s === undefined)
      ov.del(k)
      if (hooks.dropped(p)) {
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
      if (last === undefined || compareBytes(p.key, last) > 0) last = p.key
    }
    await store.batch(ov.ops())
    replayed += chunk.length
    for (const [p, r] of done) hooks.folded?.(p, r)
  }
  return { rejections, last, replayed }
}

/** Put events into the replay queue (in a batch that also sets the rewind mark). */
export function enqueue(batch: Overlay, layout: Layout, events: ReadonlyArray<{ key: Uint8Array; stored: Parameters<typeof encodeStored>[0] }>): void {
  for (const e of events) batch.put(layout.queued(e.key), encodeStored(e.stored))
}

/** Set the point a rewind goes back to (the earliest of the events it will replay). */
export function setMark(batch: Overlay, layout: Layout, key: Uint8Array): void {
  batch.put(layout.rewindMark(), cbor.encode(key))
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

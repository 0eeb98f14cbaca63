/**
 * Virtual time for the simulation: the net layer's `Timers` on a clock that moves only when the
 * simulation says so. Timers fire in (time, order of scheduling) order; between two timers every
 * pending microtask runs (one macrotask turn), so all the promise work a timer started settles
 * before the clock moves on. Nothing here waits on real time.
 */
import type { TimerHandle, Timers } from '../../src/net/timers.js'
import { realWorkInFlight } from './real-async.js'

interface Entry { at: number; seq: number; fn: () => void; cancelled: boolean }

export interface VirtualClock extends Timers {
  /** Timers scheduled and not yet run or cancelled. */
  readonly pending: number
  /** Timers run so far. */
  readonly fired: number
  /** Run timers until virtual time `now() + ms`, then set the clock there. */
  runFor(ms: number): Promise<void>
  /** Run timers until `done()` holds (checked after each) or `maxMs` of virtual time pass; true if it held. */
  runUntil(done: () => boolean, maxMs: number): Promise<boolean>
  /** Run timers until `p` settles (or `maxMs` pass: then reject); resolves with its value. */
  settle<T>(p: Promise<T>, maxMs?: number, what?: string): Promise<T>
}

/**
 * Let everything the last timer started settle: macrotask turns (every microtask queued before
 * one, and by those, has run after it) until no real work (a signature verification on the thread
 * pool) is in flight.
 */
export async function drain(): Promise<void> {
  do {
    await new Promise<void>((resolve) => { setImmediate(resolve) })
  } while (realWorkInFlight() > 0)
}

export function createVirtualClock(start = 1_700_000_000_000): VirtualClock {
  let now = start
  let seq = 0
  let fired = 0
  let live = 0
  const heap: Entry[] = []

  const less = (a: Entry, b: Entry): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq)
  function push(e: Entry): void {
    heap.push(e)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!less(heap[i]!, heap[parent]!)) break
      ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
      i = parent
    }
  }
  function pop(): Entry | undefined {
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last != null) {
      heap[0] = last
      let i = 0
      while (true) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
        i = m
      }
    }
    return top
  }
  function peek(): Entry | undefined {
    while (heap.length > 0 && heap[0]!.cancelled) pop()
    return heap[0]
  }

  /** Let pending work settle, then run the next timer due by `until`; false when there is none (or `done()`). */
  async function step(until: number, done: () => boolean = () => false): Promise<boolean> {
    await drain()
    if (done()) return false
    const next = peek()
    if (next == null || next.at > until) return false
    pop()
    live--
    now = Math.max(now, next.at)
    fired++
    next.fn()
    return true
  }

  const clock: VirtualClock = {
    now: () => now,
    setTimeout(fn, ms) {
      const e: Entry = { at: now + Math.max(0, Number.isFinite(ms) ? ms : 0), seq: seq++, fn, cancelled: false }
      push(e)
      live++
      return e as TimerHandle
    },
    clearTimeout(handle) {
      const e = handle as Entry
      if (e == null || e.cancelled) return
      e.cancelled = true
      live--
    },
    get pending() { return live },
    get fired() { return fired },
    async runFor(ms) {
      const until = now + ms
      while (await step(until));
      now = Math.max(now, until)
      await drain()
    },
    async runUntil(done, maxMs) {
      const until = now + maxMs
      while (await step(until, done));
      if (done()) return true
      now = Math.max(now, until)
      await drain()
      return done()
    },
    async settle(p, maxMs = 3_600_000, what = 'a step') {
      let state: { ok: true; value: Awaited<typeof p> } | { ok: false; err: unknown } | undefined

      p.then((value) => { state = { ok: true, value: value as Awaited<typeof p> } }, (err: unknown) => { state = { ok: false, err } })
      await clock.runUntil(() => state != null, maxMs)
      if (state == null) throw new Error(`${what} did not settle within ${maxMs} ms of virtual time`)
      if (!state.ok) throw state.err
      return state.value
    }
  }
  return clock
}

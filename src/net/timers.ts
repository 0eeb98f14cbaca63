/**
 * Time, injected: everything in the net layer that waits or stamps time goes through a
 * {@link Timers} (the HLC, deadlines, backoff, intervals, strike decay), so a simulation can run
 * it on virtual time. {@link systemTimers} is the real clock.
 */
import { TimeoutError } from './errors.js'

/** An opaque handle of a scheduled callback. */
export type TimerHandle = object | number

export interface Timers {
  /** Milliseconds since the epoch. */
  now(): number
  /** Run `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/** The platform's clock and timers. */
export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => { globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]) }
}

const watchers = new WeakMap<AbortSignal, Set<() => void>>()

/**
 * Call `fn` once when `signal` aborts; returns the way to stop watching. Many watchers of one
 * long-lived signal (the net's lifetime) share one listener on it.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let set = watchers.get(signal)
  if (set == null) {
    const fresh = new Set<() => void>()
    set = fresh
    watchers.set(signal, fresh)
    signal.addEventListener('abort', () => {
      watchers.delete(signal)
      for (const f of [...fresh]) f()
    }, { once: true })
  }
  const watcher = (): void => { fn() }
  set.add(watcher)
  return () => { set.delete(watcher) }
}

/** A signal that aborts with a {@link TimeoutError} after `ms`, or when `parent` aborts; `clear()` releases the timer. */
export interface Deadline {
  readonly signal: AbortSignal
  /** Push the deadline back to `ms` from now (progress was made), or re-arm it after `pause()`. */
  extend(ms: number): void
  /** Stop the clock without aborting (we, not the peer, are the slow side for now). */
  pause(): void
  clear(): void
}

export function deadline(timers: Timers, ms: number, what: string, parent?: AbortSignal): Deadline {
  const controller = new AbortController()
  let handle: TimerHandle | undefined
  const arm = (after: number): void => {
    if (handle !== undefined) timers.clearTimeout(handle)
    handle = timers.setTimeout(() => {
      handle = undefined
      controller.abort(new TimeoutError(`${what} timed out after ${after} ms`))
    }, after)
  }
  let unwatch: (() => void) | undefined
  const clear = (): void => {
    if (handle !== undefined) timers.clearTimeout(handle)
    handle = undefined
    unwatch?.()
    unwatch = undefined
  }
  if (parent?.aborted === true) {
    controller.abort(parent.reason)
  } else {
    arm(ms)
    if (parent != null) {
      unwatch = onAbort(parent, () => {
        clear()
        controller.abort(parent.reason)
      })
    }
  }
  return {
    signal: controller.signal,
    extend(after) { if (!controller.signal.aborted) arm(after) },
    pause() {
      if (handle !== undefined) timers.clearTimeout(handle)
      handle = undefined
    },
    clear
  }
}

/** Wait `ms` (rejects with the signal's reason when it aborts first). */
export async function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const unwatch = signal == null
      ? undefined
      : onAbort(signal, () => {
        timers.clearTimeout(handle)
        reject(signal.reason as Error)
      })
    const handle = timers.setTimeout(() => {
      unwatch?.()
      resolve()
    }, ms)
  })
}

/**
 * Exponential backoff with jitter: `base · 2^(failures-1)` capped at `max`, then multiplied by a
 * factor drawn uniformly from [1 - jitter, 1 + jitter]. `random` returns [0, 1).
 */
export function backoffDelay(failures: number, init: { baseMs: number; maxMs: number; jitter: number; random: () => number }): number {
  const exp = Math.min(init.maxMs, init.baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)))
  const factor = 1 - init.jitter + 2 * init.jitter * init.random()
  return Math.max(1, Math.round(exp * factor))
}

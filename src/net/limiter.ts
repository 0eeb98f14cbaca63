/**
 * Bounded concurrency: at most `total` tasks at once, and at most `perKey` per key (a peer).
 * Tasks queue in order; a queue longer than `maxQueued` rejects new work with BusyError so
 * memory stays bounded when a peer floods us.
 */
import { WeftError } from '../core/errors.js'

export class BusyError extends WeftError {
  override readonly name: string = 'BusyError'
  static override readonly code: string = 'ERR_BUSY'
  constructor(message = 'too much work queued', options?: { cause?: unknown }) { super(message, options) }
}

export interface LimiterInit {
  /** @default 16 */
  total?: number
  /** @default 4 */
  perKey?: number
  /** @default 10000 */
  maxQueued?: number
}

export interface Limiter {
  run<T>(key: string, task: () => Promise<T>): Promise<T>
  readonly active: number
  readonly queued: number
}

interface Waiting { key: string; start: () => void }

export function createLimiter(init: LimiterInit = {}): Limiter {
  const total = init.total ?? 16
  const perKey = init.perKey ?? 4
  const maxQueued = init.maxQueued ?? 10_000
  let active = 0
  const perKeyActive = new Map<string, number>()
  const waiting: Waiting[] = []

  function canStart(key: string): boolean {
    return active < total && (perKeyActive.get(key) ?? 0) < perKey
  }

  function acquire(key: string): void {
    active++
    perKeyActive.set(key, (perKeyActive.get(key) ?? 0) + 1)
  }

  function pump(): void {
    for (let i = 0; i < waiting.length && active < total; i++) {
      const w = waiting[i]!
      if (!canStart(w.key)) continue
      waiting.splice(i, 1)
      i--
      w.start()
    }
  }

  return {
    get active() { return active },
    get queued() { return waiting.length },
    async run<T>(key: string, task: () => Promise<T>): Promise<T> {
      if (canStart(key)) {
        acquire(key)
      } else {
        if (waiting.length >= maxQueued) throw new BusyError()
        // the slot is taken synchronously by pump() before this resolves
        await new Promise<void>((resolve) => { waiting.push({ key, start: () => { acquire(key); resolve() } }) })
      }
      try {
        return await task()
      } finally {
        active--
        const n = (perKeyActive.get(key) ?? 1) - 1
        if (n === 0) perKeyActive.delete(key)
        else perKeyActive.set(key, n)
        pump()
      }
    }
  }
}

/** A per-key mutex: tasks with the same key run one after another, in order. */
export interface KeyedMutex {
  run<T>(key: string, task: () => Promise<T>): Promise<T>
}

export function createKeyedMutex(): KeyedMutex {
  const tails = new Map<string, Promise<unknown>>()
  return {
    async run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const prev = tails.get(key) ?? Promise.resolve()
      const next = prev.then(task, task)
      const tail = next.catch(() => undefined)
      tails.set(key, tail)
      try {
        return await next
      } finally {
        if (tails.get(key) === tail) tails.delete(key)
      }
    }
  }
}

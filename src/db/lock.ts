/**
 * A first-come, first-served read/write lock: readers share it, a writer holds it alone. Commits
 * of write transactions and the application of remote events are writers; reads (and each call of
 * a write transaction while it stages) are readers. A wait can be abandoned through its signal.
 */
import { AbortError, throwIfAborted } from '../core/errors.js'

export interface RWLock {
  /**
   * Wait for the lock; resolves with its release function (idempotent). An abort of `signal`
   * while waiting rejects at once with AbortError (the place in the queue is given up).
   */
  acquire(mode: 'read' | 'write', signal?: AbortSignal): Promise<() => void>
  /** Run `fn` under the lock. */
  run<T>(mode: 'read' | 'write', fn: () => Promise<T>, signal?: AbortSignal): Promise<T>
}

interface Waiter { mode: 'read' | 'write'; grant: () => void }

export function createRWLock(): RWLock {
  const queue: Waiter[] = []
  let readers = 0
  let writer = false

  function pump(): void {
    while (queue.length > 0) {
      const next = queue[0]!
      if (next.mode === 'write') {
        if (writer || readers > 0) return
        writer = true
      } else {
        if (writer) return
        readers++
      }
      queue.shift()
      next.grant()
    }
  }

  async function acquire(mode: 'read' | 'write', signal?: AbortSignal): Promise<() => void> {
    throwIfAborted(signal)
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { mode, grant: () => { signal?.removeEventListener('abort', onAbort); resolve() } }
      function onAbort(): void {
        const i = queue.indexOf(waiter)
        if (i < 0) return
        queue.splice(i, 1)
        reject(new AbortError(undefined, { cause: signal?.reason }))
        // A writer that gave up may have been what held readers back.
        pump()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      queue.push(waiter)
      pump()
    })
    let released = false
    return () => {
      if (released) return
      released = true
      if (mode === 'write') writer = false
      else readers--
      pump()
    }
  }

  return {
    acquire,
    async run(mode, fn, signal) {
      const release = await acquire(mode, signal)
      try {
        return await fn()
      } finally {
        release()
      }
    }
  }
}

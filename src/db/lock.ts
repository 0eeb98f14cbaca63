/**
 * A first-come, first-served read/write lock: readers share it, a writer holds it alone. Local
 * write transactions and the application of remote events are writers; reads are readers.
 */
export interface RWLock {
  /** Wait for the lock; resolves with its release function (idempotent). */
  acquire(mode: 'read' | 'write'): Promise<() => void>
  /** Run `fn` under the lock. */
  run<T>(mode: 'read' | 'write', fn: () => Promise<T>): Promise<T>
}

export function createRWLock(): RWLock {
  const queue: Array<{ mode: 'read' | 'write'; grant: () => void }> = []
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

  async function acquire(mode: 'read' | 'write'): Promise<() => void> {
    await new Promise<void>((resolve) => {
      queue.push({ mode, grant: resolve })
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
    async run(mode, fn) {
      const release = await acquire(mode)
      try {
        return await fn()
      } finally {
        release()
      }
    }
  }
}

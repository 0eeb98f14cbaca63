/**
 * In-process keyed read/write locks. A caller asks for several locks at once, each shared or
 * exclusive; the requests are queued synchronously, in call order, so callers are served first
 * come, first served and, since every caller waits only for callers queued before it on each key,
 * no set of callers can deadlock. An exclusive holder runs alone for its key; shared holders run
 * together but never alongside an exclusive one. Idle keys are forgotten.
 */

export type LockMode = 'shared' | 'exclusive'

interface LockState {
  /** Settles when the latest exclusive request has released. */
  exclusive: Promise<void>
  /** Shared requests queued after the latest exclusive request. */
  shared: Set<Promise<void>>
  users: number
}

export interface KeyedLocks {
  /** Run `fn` once every requested lock is held; release them all afterwards. */
  run<T>(requests: ReadonlyArray<readonly [key: string, mode: LockMode]>, fn: () => Promise<T>): Promise<T>
}

export function keyedLocks(): KeyedLocks {
  const locks = new Map<string, LockState>()

  /** Queue a request now; returns what to wait for and how to release. */
  const enqueue = (key: string, mode: LockMode): { gate: Promise<unknown>; release: () => void } => {
    let state = locks.get(key)
    if (state === undefined) {
      state = { exclusive: Promise.resolve(), shared: new Set(), users: 0 }
      locks.set(key, state)
    }
    const s = state
    s.users++
    let resolve!: () => void
    const own = new Promise<void>((r) => {
      resolve = r
    })
    let gate: Promise<unknown>
    let set: Set<Promise<void>> | undefined
    if (mode === 'shared') {
      gate = s.exclusive
      set = s.shared
      set.add(own)
    } else {
      gate = s.shared.size === 0 ? s.exclusive : Promise.all([s.exclusive, ...s.shared])
      s.exclusive = own
      s.shared = new Set()
    }
    const release = (): void => {
      set?.delete(own)
      resolve()
      if (--s.users === 0) locks.delete(key)
    }
    return { gate, release }
  }

  return {
    async run(requests, fn) {
      const held = requests.map(([key, mode]) => enqueue(key, mode))
      try {
        await Promise.all(held.map((h) => h.gate))
        return await fn()
      } finally {
        for (const h of held) h.release()
      }
    }
  }
}

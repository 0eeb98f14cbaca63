/**
 * A key-value store wrapper that keeps the values under some prefixes (a DB's collection configs,
 * owners and writers) in memory. Every write of the DB goes through it, so the cache follows the
 * store: reads of configs and roles, made on every operation, cost no store round trip.
 */
import type { BatchOp, KVStore } from '../store/kv.js'
import { keyString as str } from './overlay.js'


/** A caching store, told of the batches written around it (with another store's writes). */
export interface CachingStore extends KVStore {
  /** `ops` are about to be written around the cache: forget what they change. */
  forget(ops: readonly BatchOp[]): void
  /** `ops` were written around the cache: keep what they wrote. */
  wrote(ops: readonly BatchOp[]): void
}

/**
 * Whether `key` starts with `prefix`, compared from the prefix's last byte back: the DB's keys
 * share a long start (its layout's base), so a key under another prefix differs near the end.
 */
function endsAs(key: Uint8Array, prefix: Uint8Array): boolean {
  const n = prefix.length
  if (key.length < n) return false
  for (let i = n - 1; i >= 0; i--) if (key[i] !== prefix[i]) return false
  return true
}

export function cachingStore(store: KVStore, prefixes: readonly Uint8Array[]): CachingStore {
  const cache = new Map<string, Uint8Array | null>()
  const cached = (key: Uint8Array): boolean => {
    for (const p of prefixes) if (endsAs(key, p)) return true
    return false
  }
  const note = (key: Uint8Array, value: Uint8Array | null): void => {
    if (cached(key)) cache.set(str(key), value)
  }
  const forget = (ops: readonly BatchOp[]): void => {
    for (const op of ops) if (cached(op.key)) cache.delete(str(op.key))
  }
  const wrote = (ops: readonly BatchOp[]): void => {
    for (const op of ops) note(op.key, op.type === 'put' ? op.value : null)
  }
  return {
    forget,
    wrote,
    async get(key, options) {
      if (!cached(key)) return await store.get(key, options)
      const s = str(key)
      const hit = cache.get(s)
      if (hit !== undefined) return hit ?? undefined
      const v = await store.get(key, options)
      cache.set(s, v ?? null)
      return v
    },
    async getMany(keys, options) {
      const out: Array<Uint8Array | undefined> = new Array(keys.length)
      const missing: number[] = []
      keys.forEach((k, i) => {
        const hit = cached(k) ? cache.get(str(k)) : undefined
        if (hit !== undefined) out[i] = hit ?? undefined
        else missing.push(i)
      })
      if (missing.length > 0) {
        const values = await store.getMany(missing.map((i) => keys[i]!), options)
        missing.forEach((i, j) => {
          out[i] = values[j]
          note(keys[i]!, values[j] ?? null)
        })
      }
      return out
    },
    async put(key, value, options) {
      cache.delete(str(key))
      await store.put(key, value, options)
      note(key, value)
    },
    async delete(key, options) {
      cache.delete(str(key))
      await store.delete(key, options)
      note(key, null)
    },
    async batch(ops: readonly BatchOp[], options) {
      // Forget first: a failed batch must not leave values it did not write.
      forget(ops)
      await store.batch(ops, options)
      wrote(ops)
    },
    range: (options) => store.range(options),
    pages: (options) => store.pages(options),
    close: async () => { await store.close() }
  }
}

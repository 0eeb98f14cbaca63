/**
 * A store for a DB that holds no state yet — it has never folded an event, as when a peer joins
 * its thread. While it is fresh, the only state is what it wrote since: a point read of any other
 * key is answered "absent" without asking the store (a fresh join folds thousands of events that
 * each look up an instance and its unique entries, none of which exists). Scans are always the
 * store's. The shortcut ends with {@link FreshStore.end}, or by itself past `maxKeys` writes.
 */
import type { BatchOp, KVStore } from '../store/kv.js'
import { keyString as str } from './overlay.js'

/** Keys written while fresh, past which the store is asked again (bounds the memory kept). */
export const MAX_FRESH_KEYS = 1_000_000

export interface FreshStore extends KVStore {
  /**
   * The DB holds no state but these keys (and what it writes from now on): answer point reads of
   * every other key "absent" until {@link FreshStore.end}.
   */
  begin(known: readonly Uint8Array[]): void
  /** Ask the store again for every read (idempotent). */
  end(): void
  readonly fresh: boolean
}

export function freshStore(store: KVStore, maxKeys = MAX_FRESH_KEYS): FreshStore {
  let written: Set<string> | undefined
  const note = (key: Uint8Array): void => {
    if (written === undefined) return
    written.add(str(key))
    if (written.size > maxKeys) written = undefined
  }
  const absent = (key: Uint8Array): boolean => written !== undefined && !written.has(str(key))
  return {
    get fresh() { return written !== undefined },
    begin(known) {
      written = new Set(known.map(str))
    },
    end() { written = undefined },
    async get(key, options) {
      if (absent(key)) return undefined
      return await store.get(key, options)
    },
    async getMany(keys, options) {
      if (written === undefined) return await store.getMany(keys, options)
      const out: Array<Uint8Array | undefined> = new Array(keys.length)
      const ask: number[] = []
      keys.forEach((k, i) => { if (!absent(k)) ask.push(i) })
      if (ask.length > 0) {
        const values = await store.getMany(ask.map((i) => keys[i]!), options)
        ask.forEach((i, j) => { out[i] = values[j] })
      }
      return out
    },
    async put(key, value, options) {
      note(key)
      await store.put(key, value, options)
    },
    async delete(key, options) {
      note(key)
      await store.delete(key, options)
    },
    async batch(ops: readonly BatchOp[], options) {
      // Noted before writing: a key a failed batch may have written is asked of the store.
      for (const op of ops) note(op.key)
      await store.batch(ops, options)
    },
    range: (options) => store.range(options),
    pages: (options) => store.pages(options),
    close: async () => { await store.close() }
  }
}

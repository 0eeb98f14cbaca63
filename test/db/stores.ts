/**
 * Key-value store wrappers for DB tests: one that counts atomic batches, one whose n-th batch
 * fails as if the process stopped there.
 */
import type { BatchOp, KVStore } from '../../src/store/kv.js'

/** A store wrapper whose n-th atomic batch after `crashAt(n)` throws (as a crash would stop it). */
export function crashing(store: KVStore): KVStore & { crashAt(n: number): void } {
  const wrapped = Object.create(store) as KVStore & { crashAt(n: number): void }
  let left = Infinity
  wrapped.crashAt = (n) => { left = n }
  wrapped.batch = async (ops: readonly BatchOp[], opts?: { signal?: AbortSignal }) => {
    if (--left <= 0) throw new Error('the process stopped here')
    await store.batch(ops, opts)
  }
  return wrapped
}

/** A store wrapper that counts atomic batches. */
export function counting(store: KVStore): KVStore & { batches: number } {
  const wrapped = Object.create(store) as KVStore & { batches: number }
  wrapped.batches = 0
  wrapped.batch = async (ops: readonly BatchOp[], options?: { signal?: AbortSignal }) => {
    wrapped.batches++
    await store.batch(ops, options)
  }
  return wrapped
}

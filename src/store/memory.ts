/**
 * In-memory KV backend for ephemeral peers and tests: a B+ tree (sorted-btree) ordered bytewise,
 * so puts, deletes and seeks stay O(log n) on large stores. Values are copied in and out, so
 * callers cannot alter stored bytes through a shared buffer. Batches are atomic: they are
 * validated first and then applied synchronously.
 */
import BTreeModule from 'sorted-btree'
import { logger } from '../core/logger.js'
import { compareBytes } from './keys.js'
import type { KVStore } from './kv.js'
import { guardBackend, type Bound, type KVBackend, type NormalizedRange } from './kv-base.js'

const log = logger('weft:store:memory')
/** Entries per page of a scan. */
const PAGE = 256

// sorted-btree is CommonJS with `exports.default`: Node's ESM loader hands back the exports object,
// bundlers the class itself.
const BTree = (BTreeModule as unknown as { default?: typeof BTreeModule }).default ?? BTreeModule

/** Create an empty in-memory {@link KVStore}. Its contents are lost when it is closed. */
export function memoryStore(): KVStore {
  let tree = new BTree<Uint8Array, Uint8Array>(undefined, compareBytes)

  const putSync = (key: Uint8Array, value: Uint8Array): void => {
    tree.set(key.slice(), value.slice())
  }

  const deleteSync = (key: Uint8Array): void => {
    tree.delete(key)
  }

  /** The first key inside `lower` (ascending), or undefined. */
  const first = (lower: Bound | undefined): Uint8Array | undefined => {
    if (lower === undefined) return tree.minKey()
    if (lower.inclusive && tree.has(lower.key)) return lower.key
    return tree.nextHigherKey(lower.key)
  }

  /** The last key inside `upper` (descending), or undefined. */
  const last = (upper: Bound | undefined): Uint8Array | undefined => {
    if (upper === undefined) return tree.maxKey()
    if (upper.inclusive && tree.has(upper.key)) return upper.key
    return tree.nextLowerKey(upper.key)
  }

  const inLower = (key: Uint8Array, lower: Bound | undefined): boolean => {
    if (lower === undefined) return true
    const c = compareBytes(key, lower.key)
    return c > 0 || (c === 0 && lower.inclusive)
  }

  const inUpper = (key: Uint8Array, upper: Bound | undefined): boolean => {
    if (upper === undefined) return true
    const c = compareBytes(key, upper.key)
    return c < 0 || (c === 0 && upper.inclusive)
  }

  const backend: KVBackend = {
    get: async (key) => tree.get(key)?.slice(),
    getMany: async (keys) => keys.map((k) => tree.get(k)?.slice()),
    put: async (key, value) => putSync(key, value),
    delete: async (key) => deleteSync(key),
    batch: async (ops) => {
      for (const op of ops) {
        if (op.type === 'put') putSync(op.key, op.value)
        else deleteSync(op.key)
      }
    },

    // Each step seeks from the last key yielded, so writes between pages are tolerated.
    async * pages(range: NormalizedRange) {
      let { lower, upper } = range
      let count = 0
      let page: Array<[Uint8Array, Uint8Array]> = []
      while (count < range.limit) {
        if (page.length >= PAGE) {
          yield page
          page = []
        }
        let key: Uint8Array | undefined
        if (range.reverse) {
          key = last(upper)
          if (key === undefined || !inLower(key, lower)) break
          upper = { key, inclusive: false }
        } else {
          key = first(lower)
          if (key === undefined || !inUpper(key, upper)) break
          lower = { key, inclusive: false }
        }
        const value = tree.get(key)
        if (value === undefined) continue
        count++
        page.push([key.slice(), value.slice()])
      }
      if (page.length > 0) yield page
    },

    close: async () => {
      tree = new BTree<Uint8Array, Uint8Array>(undefined, compareBytes)
      log('closed')
    }
  }
  return guardBackend(backend, 'memory store', log)
}

/**
 * In-memory KV backend for ephemeral peers and tests: a sorted array with binary search.
 * Values are copied in and out, so callers cannot alter stored bytes through a shared buffer.
 * Batches are atomic: they are validated first and then applied synchronously.
 */
import { logger } from '../core/logger.js'
import { compareBytes } from './keys.js'
import type { KVStore } from './kv.js'
import { guardBackend, type Bound, type KVBackend, type NormalizedRange } from './kv-base.js'

const log = logger('weft:store:memory')

interface Entry {
  key: Uint8Array
  value: Uint8Array
}

/** Create an empty in-memory {@link KVStore}. Its contents are lost when it is closed. */
export function memoryStore(): KVStore {
  let entries: Entry[] = []

  /** Index of the first entry whose key is >= key (or > key when `after`). */
  const search = (key: Uint8Array, after: boolean): number => {
    let lo = 0
    let hi = entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const c = compareBytes((entries[mid] as Entry).key, key)
      if (c < 0 || (after && c === 0)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  const find = (key: Uint8Array): Entry | undefined => {
    const i = search(key, false)
    const e = entries[i]
    return e !== undefined && compareBytes(e.key, key) === 0 ? e : undefined
  }

  const putSync = (key: Uint8Array, value: Uint8Array): void => {
    const i = search(key, false)
    const e = entries[i]
    const copy = value.slice()
    if (e !== undefined && compareBytes(e.key, key) === 0) e.value = copy
    else entries.splice(i, 0, { key: key.slice(), value: copy })
  }

  const deleteSync = (key: Uint8Array): void => {
    const i = search(key, false)
    const e = entries[i]
    if (e !== undefined && compareBytes(e.key, key) === 0) entries.splice(i, 1)
  }

  /** First index inside `lower` (ascending scans). */
  const startIndex = (lower: Bound | undefined): number =>
    lower === undefined ? 0 : search(lower.key, !lower.inclusive)

  /** Last index inside `upper` (descending scans), -1 if none. */
  const endIndex = (upper: Bound | undefined): number =>
    upper === undefined ? entries.length - 1 : search(upper.key, upper.inclusive) - 1

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
    get: async (key) => find(key)?.value.slice(),
    getMany: async (keys) => keys.map((k) => find(k)?.value.slice()),
    put: async (key, value) => putSync(key, value),
    delete: async (key) => deleteSync(key),
    batch: async (ops) => {
      for (const op of ops) {
        if (op.type === 'put') putSync(op.key, op.value)
        else deleteSync(op.key)
      }
    },

    // Each step re-searches from the last key yielded, so writes between steps are tolerated.
    async * range(range: NormalizedRange) {
      let { lower, upper } = range
      let count = 0
      while (count < range.limit) {
        let entry: Entry | undefined
        if (range.reverse) {
          entry = entries[endIndex(upper)]
          if (entry === undefined || !inLower(entry.key, lower)) return
          upper = { key: entry.key, inclusive: false }
        } else {
          entry = entries[startIndex(lower)]
          if (entry === undefined || !inUpper(entry.key, upper)) return
          lower = { key: entry.key, inclusive: false }
        }
        count++
        yield [entry.key.slice(), entry.value.slice()]
      }
    },

    close: async () => {
      entries = []
      log('closed')
    }
  }
  return guardBackend(backend, 'memory store', log)
}

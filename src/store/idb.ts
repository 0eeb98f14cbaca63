/**
 * IndexedDB KV backend for browsers (tabs and workers), through `idb`.
 *
 * One object store, `kv`, with out-of-line binary keys: IndexedDB compares binary keys bytewise,
 * which is the order of the KV interface. Transactions are short and never span an await of
 * anything but their own requests; a write resolves on the transaction's `complete`, not on the
 * request's success. Range scans read one page per read-only transaction.
 *
 * The hot paths speak to IndexedDB directly, not through `idb`'s promise per request: a write
 * places its requests and waits for the transaction alone (a failed request aborts it), and point
 * reads share read-only transactions (idb-reads.ts).
 *
 * Browser-only: import it from `src/store/idb.js` directly; `src/store/index.ts` does not
 * re-export it.
 */
import { openDB, unwrap, type DBSchema, type IDBPDatabase } from 'idb'
import { logger } from '../core/logger.js'
import { StoreIOError } from './errors.js'
import { readBatcher } from './idb-reads.js'
import type { KVStore } from './kv.js'
import { compareBytes } from './keys.js'
import { guardBackend, type Bound, type KVBackend, type NormalizedRange } from './kv-base.js'

const log = logger('weft:store:idb')

const STORE = 'kv'
const VERSION = 1

export interface IdbStoreInit {
  /** Name of the IndexedDB database. */
  name: string
  /**
   * Durability hint of write transactions. `'strict'` waits until the data is flushed to disk
   * (slower); `'relaxed'`/`'default'` resolve once the data survives a crash of the browser
   * process (the browser's default).
   * @default 'default'
   */
  durability?: 'default' | 'strict' | 'relaxed'
  /**
   * Entries read per transaction in a range scan.
   * @default 256
   */
  pageSize?: number
}

interface KVSchema extends DBSchema {
  kv: { key: BufferSource; value: Uint8Array }
}

/** A value IndexedDB can store without cloning bytes outside the view. */
function exact(value: Uint8Array): Uint8Array {
  return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice()
}

/** The key as IndexedDB's typings want it (a Uint8Array is a valid binary key at runtime). */
function idbKey(key: Uint8Array): BufferSource {
  return key as Uint8Array<ArrayBuffer>
}

function keyBytes(key: BufferSource): Uint8Array {
  if (key instanceof ArrayBuffer) return new Uint8Array(key)
  if (ArrayBuffer.isView(key)) return new Uint8Array(key.buffer, key.byteOffset, key.byteLength)
  throw new StoreIOError('IndexedDB returned a key that is not binary')
}

/** Whether a range between these bounds holds no key at all. */
function isEmpty(lower: Bound | undefined, upper: Bound | undefined): boolean {
  if (lower === undefined || upper === undefined) return false
  const c = compareBytes(lower.key, upper.key)
  return c > 0 || (c === 0 && !(lower.inclusive && upper.inclusive))
}

function keyRange(range: NormalizedRange, lower = range.lower, upper = range.upper): IDBKeyRange | undefined {
  if (lower !== undefined && upper !== undefined) {
    return IDBKeyRange.bound(lower.key, upper.key, !lower.inclusive, !upper.inclusive)
  }
  if (lower !== undefined) return IDBKeyRange.lowerBound(lower.key, !lower.inclusive)
  if (upper !== undefined) return IDBKeyRange.upperBound(upper.key, !upper.inclusive)
  return undefined
}

/** Open (or create) an IndexedDB {@link KVStore} named `init.name`. */
export async function idbStore(init: IdbStoreInit): Promise<KVStore> {
  const durability = init.durability ?? 'default'
  const pageSize = init.pageSize ?? 256
  let db: IDBPDatabase<KVSchema>
  try {
    db = await openDB<KVSchema>(init.name, VERSION, {
      upgrade(database) {
        if (!database.objectStoreNames.contains(STORE)) database.createObjectStore(STORE)
      },
      blocking() {
        // Another connection wants to upgrade or delete the database: let it.
        log('closing %s: another connection needs a version change', init.name)
        db.close()
      },
      terminated() {
        log.error('the browser terminated the connection to %s', init.name)
      }
    })
  } catch (err) {
    throw new StoreIOError(`cannot open IndexedDB database ${init.name}: ${(err as Error).message}`, { cause: err })
  }
  log('opened %s', init.name)

  const raw = unwrap(db) as IDBDatabase
  const reads = readBatcher(raw, STORE)

  /** One read-write transaction: resolves when it committed, rejects when it aborted. */
  const write = (fill: (store: IDBObjectStore) => void): Promise<void> => new Promise<void>((resolve, reject) => {
    reads.fence()
    const tx = raw.transaction(STORE, 'readwrite', { durability })
    tx.oncomplete = () => { resolve() }
    // A failed request aborts the transaction (its error event is not prevented): nothing is written.
    tx.onabort = () => { reject(tx.error ?? new DOMException('the write transaction was aborted', 'AbortError')) }
    try {
      fill(tx.objectStore(STORE))
    } catch (err) {
      // Placed requests must not commit without the rest.
      try { tx.abort() } catch { /* already finished */ }
      reject(err)
      return
    }
    // Nothing more goes in: commit now rather than when the task ends.
    tx.commit?.()
  })

  /** One page of a range, read in its own transaction. */
  const page = async (range: NormalizedRange, count: number, lower = range.lower, upper = range.upper): Promise<Array<[Uint8Array, Uint8Array]>> => {
    const tx = db.transaction(STORE, 'readonly')
    const query = keyRange(range, lower, upper)
    if (!range.reverse) {
      const [keys, values] = await Promise.all([tx.store.getAllKeys(query, count), tx.store.getAll(query, count), tx.done])
      return keys.map((k, i) => [keyBytes(k), values[i] as Uint8Array])
    }
    const out: Array<[Uint8Array, Uint8Array]> = []
    let cursor = await tx.store.openCursor(query, 'prev')
    while (cursor !== null) {
      out.push([keyBytes(cursor.key), cursor.value])
      if (out.length >= count) break
      cursor = await cursor.continue()
    }
    await tx.done
    return out
  }

  const backend: KVBackend = {
    get: async (key) => (await reads.read([idbKey(key)]))[0],

    getMany: (keys) => reads.read(keys.map(idbKey)),

    put: (key, value) => write((store) => { store.put(exact(value), idbKey(key)) }),

    delete: (key) => write((store) => { store.delete(idbKey(key)) }),

    batch: (ops) => write((store) => {
      for (const op of ops) {
        if (op.type === 'put') store.put(exact(op.value), idbKey(op.key))
        else store.delete(idbKey(op.key))
      }
    }),

    async * pages(range: NormalizedRange) {
      let { lower, upper } = range
      let remaining = range.limit
      while (remaining > 0 && !isEmpty(lower, upper)) {
        const count = Math.min(pageSize, remaining)
        const entries = await page(range, count, lower, upper)
        if (entries.length > 0) yield entries
        remaining -= entries.length
        if (entries.length < count) return
        const last = (entries[entries.length - 1] as [Uint8Array, Uint8Array])[0]
        if (range.reverse) upper = { key: last, inclusive: false }
        else lower = { key: last, inclusive: false }
      }
    },

    close: async () => {
      db.close()
      log('closed %s', init.name)
    }
  }
  return guardBackend(backend, 'IndexedDB', log)
}

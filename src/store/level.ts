/**
 * LevelDB KV backend for Node (the relay and Node peers), through `classic-level`.
 *
 * Node-only: import it from `weft/src/store/level.js` directly; `src/store/index.ts` does not
 * re-export it, so browser bundles never see `classic-level`.
 */
import { ClassicLevel } from 'classic-level'
import { logger } from '../core/logger.js'
import { StoreIOError } from './errors.js'
import type { KVStore } from './kv.js'
import { guardBackend, type KVBackend, type NormalizedRange } from './kv-base.js'

const log = logger('weft:store:level')

export interface LevelStoreInit {
  /** Directory of the LevelDB database (created when missing). */
  path: string
  /**
   * fsync every write before it resolves. Without it a resolved write survives a crash of the
   * process but not of the machine (LevelDB's default).
   * @default false
   */
  sync?: boolean
  /**
   * Entries fetched per step of a range scan (`iterator.nextv`, one page of `pages()`).
   * @default 1024
   */
  pageSize?: number
  /**
   * Bytes LevelDB buffers per step of a range scan (`highWaterMarkBytes`; a page stops at the
   * first entry past it). Bounds the memory a scan holds at once.
   * @default 1 MiB
   */
  pageBytes?: number
  /**
   * Point reads of at most this many keys (`get`, `getMany`) run on the calling thread
   * (LevelDB's `getSync`) instead of as a job on the libuv thread pool: a read of a few keys in
   * LevelDB's memtable or block cache takes microseconds, far less than the trip to the pool and
   * back. Larger `getMany` calls stay asynchronous. 0: every read on the pool.
   * @default 16
   */
  syncReadMax?: number
}

type Bytes = Uint8Array

/** A plain `Uint8Array` view of the bytes LevelDB returns (a Node `Buffer`), without copying. */
function view(b: Bytes): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

/** Open (or create) a LevelDB {@link KVStore} at `init.path`. */
export async function levelStore(init: LevelStoreInit): Promise<KVStore> {
  const sync = init.sync ?? false
  const pageSize = init.pageSize ?? 1024
  const pageBytes = init.pageBytes ?? 1024 * 1024
  const syncReadMax = init.syncReadMax ?? 16
  const db = new ClassicLevel<Bytes, Bytes>(init.path, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (err) {
    throw new StoreIOError(`cannot open LevelDB at ${init.path}: ${(err as Error).message}`, { cause: err })
  }
  log('opened %s', init.path)

  const backend: KVBackend = {
    get: async (key) => {
      const v = syncReadMax > 0 ? db.getSync(key) : await db.get(key)
      return v === undefined ? undefined : view(v)
    },

    getMany: async (keys) => {
      if (keys.length <= syncReadMax) {
        const out = new Array<Uint8Array | undefined>(keys.length)
        for (let i = 0; i < keys.length; i++) {
          const v = db.getSync(keys[i]!)
          out[i] = v === undefined ? undefined : view(v)
        }
        return out
      }
      const values = await db.getMany([...keys])
      return values.map((v) => (v === undefined ? undefined : view(v)))
    },

    put: (key, value) => db.put(key, value, { sync }),

    delete: (key) => db.del(key, { sync }),

    batch: async (ops) => {
      // A chained batch is cheaper per op than the array form.
      const batch = db.batch()
      try {
        for (const op of ops) {
          if (op.type === 'put') batch.put(op.key, op.value)
          else batch.del(op.key)
        }
      } catch (err) {
        await batch.close()
        throw err
      }
      await batch.write({ sync })
    },

    async * pages(range: NormalizedRange) {
      const { lower, upper } = range
      const it = db.iterator({
        ...(lower === undefined ? {} : lower.inclusive ? { gte: lower.key } : { gt: lower.key }),
        ...(upper === undefined ? {} : upper.inclusive ? { lte: upper.key } : { lt: upper.key }),
        reverse: range.reverse,
        limit: Number.isFinite(range.limit) ? range.limit : -1,
        highWaterMarkBytes: pageBytes
      })
      try {
        for (;;) {
          const page = await it.nextv(pageSize)
          if (page.length === 0) return
          const out: Array<[Uint8Array, Uint8Array]> = new Array(page.length)
          for (let i = 0; i < page.length; i++) out[i] = [view(page[i]![0]), view(page[i]![1])]
          yield out
        }
      } finally {
        await it.close()
      }
    },

    close: async () => {
      await db.close()
      log('closed %s', init.path)
    }
  }
  return guardBackend(backend, 'LevelDB', log)
}

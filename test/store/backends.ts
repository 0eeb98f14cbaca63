/**
 * The Node KV backends the store suites run against: memory and LevelDB (each LevelDB store in
 * its own temporary directory, removed by `cleanup`).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { KVStore } from '../../src/store/kv.js'
import { levelStore } from '../../src/store/level.js'
import { memoryStore } from '../../src/store/memory.js'

export interface Backend {
  name: string
  make: () => Promise<KVStore>
  reopen?: (store: KVStore) => Promise<KVStore>
  cleanup: () => Promise<void>
}

export function memoryBackend(): Backend {
  return { name: 'memory', make: async () => memoryStore(), cleanup: async () => {} }
}

export function levelBackend(): Backend {
  const dirs: string[] = []
  const paths = new WeakMap<KVStore, string>()
  const open = async (path: string): Promise<KVStore> => {
    const store = await levelStore({ path })
    paths.set(store, path)
    return store
  }
  return {
    name: 'level',
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'weft-store-'))
      dirs.push(dir)
      return open(join(dir, 'db'))
    },
    reopen: async (store) => {
      const path = paths.get(store)
      if (path === undefined) throw new Error('not a store of this backend')
      await store.close()
      return open(path)
    },
    cleanup: async () => {
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
    }
  }
}

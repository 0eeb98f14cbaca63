/**
 * Browser harness of the store suites: runs the framework-agnostic KV and log store suites
 * against IndexedDB in a real browser, one case per call, for e2e/store.spec.ts.
 */
import { deleteDB } from 'idb'
import { idbStore } from '../../src/store/idb.js'
import type { KVStore } from '../../src/store/kv.js'
import type { Case } from '../suites/case.js'
import { kvSuite } from '../suites/kv-suite.js'
import { logStoreSuite, readSample, writeSample } from '../suites/logstore-suite.js'
import type { CaseResult, SuiteName, WeftStoreSuites } from './store-harness-types.js'

const runId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
let sequence = 0
const SAMPLE_KEY = new TextEncoder().encode('sample')

/** IndexedDB stores with fresh names, reopenable, all deleted by `cleanup`. */
function fixture(): { make: () => Promise<KVStore>; reopen: (store: KVStore) => Promise<KVStore>; cleanup: () => Promise<void> } {
  const names: string[] = []
  const byStore = new WeakMap<KVStore, string>()
  const open = async (name: string): Promise<KVStore> => {
    const store = await idbStore({ name })
    byStore.set(store, name)
    return store
  }
  return {
    make: async () => {
      const name = `weft-test-${runId}-${sequence++}`
      names.push(name)
      return open(name)
    },
    reopen: async (store) => {
      const name = byStore.get(store)
      if (name === undefined) throw new Error('not a store of this fixture')
      await store.close()
      return open(name)
    },
    cleanup: async () => {
      await Promise.all(names.map((n) => deleteDB(n)))
    }
  }
}

const suites: Record<SuiteName, (f: ReturnType<typeof fixture>) => Case[]> = {
  kv: (f) => kvSuite(f.make, { reopen: f.reopen }),
  logstore: (f) => logStoreSuite(f.make, { reopen: f.reopen })
}

function failure(err: unknown): CaseResult {
  if (err instanceof Error) return { ok: false, name: err.name, message: err.message, stack: err.stack ?? '' }
  return { ok: false, name: 'Error', message: String(err), stack: '' }
}

const harness: WeftStoreSuites = {
  names: (suite) => suites[suite](fixture()).map((c) => c.name),

  async run(suite, caseName) {
    const f = fixture()
    const found = suites[suite]?.(f).find((c) => c.name === caseName)
    if (found === undefined) return { ok: false, name: 'CaseNotFound', message: `no case "${caseName}" in suite ${suite}`, stack: '' }
    try {
      await found.run()
      return { ok: true }
    } catch (err) {
      return failure(err)
    } finally {
      await f.cleanup()
    }
  },

  async writeSample(name) {
    const kv = await idbStore({ name })
    try {
      await kv.put(SAMPLE_KEY, Uint8Array.from([1, 2, 3, 0, 255]))
      await writeSample(kv)
    } finally {
      await kv.close()
    }
  },

  async readSample(name) {
    const kv = await idbStore({ name })
    try {
      const value = Array.from((await kv.get(SAMPLE_KEY)) ?? [])
      return { value, ...(await readSample(kv)) }
    } finally {
      await kv.close()
    }
  },

  deleteDatabase: (name) => deleteDB(name)
}

globalThis.weftStoreSuites = harness

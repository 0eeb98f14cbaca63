/**
 * Helpers for DB tests: replicas on the in-process fake net with a memory (or given) store, and
 * collecting listener events without sleeping.
 */
import { afterAll, afterEach, describe } from 'vitest'
import type { ThreadID } from '../../src/core/types.js'
import { createDBManager, type CollectionConfig, type Database, type DBManager, type ListenEvent, type Sandbox } from '../../src/db/index.js'
import { levelBackend, memoryBackend } from '../store/backends.js'
import type { KVStore } from '../../src/store/kv.js'
import { memoryStore } from '../../src/store/memory.js'
import { createFakeNet, createFakeWorld, type FakeNet, type FakeNetInit } from './fake-net.js'
import { take as takeValues } from '../helpers/take.js'

export { body, forger, type Forger } from './forger.js'

export { createFakeWorld }

export interface TestReplica { net: FakeNet; manager: DBManager; store: KVStore }

export interface ReplicaInit {
  store?: KVStore
  sandbox?: Sandbox
  /** The replica's clock: its net's HLC and its DB's bound on remote times. */
  now?: () => number
  maxEventBytes?: number
  maxClockDriftMs?: number
  /** Key every log of the replica's net with this key (as the browser worker does). */
  identity?: FakeNetInit['identity']
}

export async function replica(world: ReturnType<typeof createFakeWorld>, name: string, init: ReplicaInit = {}): Promise<TestReplica> {
  const net = createFakeNet(world, name, { ...(init.now !== undefined ? { now: init.now } : {}), ...(init.identity !== undefined ? { identity: init.identity } : {}) })
  const store = init.store ?? memoryStore()
  const manager = await createDBManager({
    net,
    kv: store,
    ...(init.sandbox !== undefined ? { sandbox: init.sandbox } : {}),
    ...(init.maxEventBytes !== undefined ? { maxEventBytes: init.maxEventBytes } : {}),
    ...(init.now !== undefined ? { now: init.now } : {}),
    ...(init.maxClockDriftMs !== undefined ? { maxClockDriftMs: init.maxClockDriftMs } : {})
  })
  return { net, manager, store }
}

/** The next `count` events of a listener (fails after `timeoutMs`). */
export async function take(iterable: AsyncIterable<ListenEvent>, count: number, timeoutMs = 10_000): Promise<ListenEvent[]> {
  return await takeValues(iterable, count, timeoutMs, 'events')
}

/** Send every record each replica holds to every other one, until nothing moves. */
export function exchange(nets: FakeNet[], thread: string): void {
  let moved = true
  while (moved) {
    moved = false
    for (const dst of nets) {
      for (const src of nets) {
        if (src === dst) continue
        for (const rec of src.held(thread as never)) if (dst.deliver(rec) === 'new') moved = true
      }
    }
  }
}

/** Run `body` once per Node KV backend (memory, LevelDB), as the DB storage suite does. */
export function onEveryBackend(body: (make: () => Promise<KVStore>) => void): void {
  for (const backend of [memoryBackend(), levelBackend()]) {
    describe(`on ${backend.name}`, () => {
      afterAll(backend.cleanup)
      body(backend.make)
    })
  }
}

/** Replicas of one DB: the first creates it (and owns it), the others join from its address. */
export interface Group {
  id: ThreadID
  replicas: TestReplica[]
  dbs: Database[]
  /** Exchange every record between the replicas and apply everything. */
  settle(): Promise<void>
  close(): Promise<void>
}

export async function group(make: () => Promise<KVStore>, n: number, options: { collections?: CollectionConfig[]; init?: (i: number) => ReplicaInit } = {}): Promise<Group> {
  const world = createFakeWorld()
  const replicas: TestReplica[] = []
  const dbs: Database[] = []
  const close = async (): Promise<void> => {
    await Promise.all(replicas.map(async (r) => { await r.manager.close() }))
    await Promise.all(replicas.map(async (r) => { await r.store.close() }))
  }
  try {
    for (let i = 0; i < n; i++) {
      const r = await replica(world, `r${i}`, { store: await make(), ...options.init?.(i) })
      replicas.push(r)
      if (i === 0) dbs.push(await r.manager.newDB(undefined, { collections: options.collections ?? [] }))
      else dbs.push(await r.manager.newDBFromAddr(`fake://r0/${dbs[0]!.id}`, (await replicas[0]!.manager.getDBInfo(dbs[0]!.id)).key))
    }
  } catch (err) {
    await close()
    throw err
  }
  const id = dbs[0]!.id
  return {
    id,
    replicas,
    dbs,
    async settle() {
      exchange(replicas.map((r) => r.net), id)
      for (const db of dbs) await db.sync()
    },
    close
  }
}

/** Groups and listeners of a test file, closed and aborted after each test. */
export function closeAfterEach(): { keep<T extends Group | TestReplica>(x: T): T; signal(): AbortSignal } {
  const kept: Array<Group | TestReplica> = []
  const controllers: AbortController[] = []
  afterEach(async () => {
    for (const c of controllers.splice(0)) c.abort()
    for (const x of kept.splice(0)) {
      if ('dbs' in x) await x.close()
      else { await x.manager.close(); await x.store.close() }
    }
  })
  return {
    keep: (x) => { kept.push(x); return x },
    signal: () => { const c = new AbortController(); controllers.push(c); return c.signal }
  }
}

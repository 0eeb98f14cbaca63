/**
 * Helpers for DB tests: replicas on the in-process fake net with a memory (or given) store, and
 * collecting listener events without sleeping.
 */
import { createDBManager, type DBManager, type ListenEvent, type Sandbox } from '../../src/db/index.js'
import type { KVStore } from '../../src/store/kv.js'
import { memoryStore } from '../../src/store/memory.js'
import { createFakeNet, createFakeWorld, type FakeNet } from './fake-net.js'
import { take as takeValues } from '../helpers/take.js'

export { createFakeWorld }

export interface TestReplica { net: FakeNet; manager: DBManager; store: KVStore }

export async function replica(world: ReturnType<typeof createFakeWorld>, name: string, init: { store?: KVStore; sandbox?: Sandbox; now?: () => number; maxEventBytes?: number } = {}): Promise<TestReplica> {
  const net = createFakeNet(world, name, init.now !== undefined ? { now: init.now } : {})
  const store = init.store ?? memoryStore()
  const manager = await createDBManager({
    net, kv: store, ...(init.sandbox !== undefined ? { sandbox: init.sandbox } : {}), ...(init.maxEventBytes !== undefined ? { maxEventBytes: init.maxEventBytes } : {})
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

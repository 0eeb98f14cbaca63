/**
 * Handing a thread to a replicator, honestly: `addReplicator` resolves only when the replicator's
 * heads cover everything we held when it was called. After the hand-over (every log with the
 * service key) the replicator pulls from us on its own; we watch its heads, and where they stop
 * moving we push the missing records ourselves. Failing that within the deadline, the call
 * rejects with a {@link ReplicationIncompleteError} saying how many records it holds.
 */
import type { LogID } from '../core/types.js'
import { AbortError } from '../core/errors.js'
import { describeError, ReplicationIncompleteError } from './errors.js'
import type { Ingest } from './ingest.js'
import type { ThreadRegistry, ThreadState } from './registry.js'
import type { SyncOps } from './sync.js'
import { sleep, type Timers } from './timers.js'
import { toWireLog } from './wire.js'

export interface ReplicateInit {
  registry: ThreadRegistry
  ops: SyncOps
  ingest: Ingest
  timers: Timers
  /** Give up when the replicator's heads have not moved for this long. */
  stallMs: number
}

/** Records per log the replicator lacks, pushed by us per round when it stops pulling. */
const PUSH_ROUND = 64

/** What we held when the hand-over started: the records the replicator must come to hold. */
export type Snapshot = Map<LogID, number>

/**
 * Hand every log over with the service key (never the read key). A refusal (a policy, a quota)
 * rejects with the `RemoteError` the replicator answered. Returns what we held.
 */
export async function handOver(init: ReplicateInit, thread: ThreadState, peer: string, options: { signal?: AbortSignal; force?: boolean } = {}): Promise<Snapshot> {
  const snapshot: Snapshot = new Map((await init.registry.logs(thread)).map((l) => [l.id, l.head.counter]))
  for (const l of await init.registry.logs(thread)) await init.ops.announce(thread, peer, toWireLog(l), thread.key.service, options)
  return snapshot
}

/** Wait until the replicator's heads cover `snapshot`, pushing what it does not pull. */
export async function awaitReplica(init: ReplicateInit, thread: ThreadState, peer: string, snapshot: Snapshot, options: { signal?: AbortSignal; force?: boolean } = {}): Promise<void> {
  const { ops, timers } = init
  const expected = [...snapshot.values()].reduce((a, b) => a + b, 0)

  let held = 0
  let lastProgressAt = timers.now()
  let quiet = 0
  let pollMs = 25
  const count = (theirs: Map<LogID, number> | undefined): number => {
    if (theirs == null) return expected
    let n = 0
    for (const [log, c] of snapshot) n += Math.min(c, theirs.get(log) ?? 0)
    return n
  }
  try {
    while (true) {
      options.signal?.throwIfAborted()
      const outcome = await ops.exchangeHeads(thread, peer, options)
      const now = count(outcome.theirs)
      if (now >= expected) return
      if (now > held) {
        held = now
        lastProgressAt = timers.now()
        quiet = 0
      } else {
        quiet++
      }
      if (timers.now() - lastProgressAt > init.stallMs) {
        throw new ReplicationIncompleteError(held, expected, `the replicator holds ${held} of ${expected} records and stopped taking more`)
      }
      if (quiet >= 2 && outcome.theirs != null) {
        // It is not pulling (it may not reach us): push what it lacks.
        for (const [log, mine] of snapshot) {
          const theirs = outcome.theirs.get(log) ?? 0
          if (theirs >= mine) continue
          for await (const entry of init.ingest.read(thread, log, { after: theirs, limit: Math.min(PUSH_ROUND, mine - theirs) })) {
            await ops.pushRecord(thread, peer, log, entry.counter, entry.blocks, options)
          }
        }
        continue
      }
      await sleep(timers, pollMs, options.signal)
      pollMs = Math.min(1000, pollMs * 2)
    }
  } catch (err) {
    if (err instanceof ReplicationIncompleteError || err instanceof AbortError || (err as Error).name === 'AbortError') throw err
    throw new ReplicationIncompleteError(held, expected, `the replicator holds ${held} of ${expected} records: ${describeError(err)}`, { cause: err })
  }
}

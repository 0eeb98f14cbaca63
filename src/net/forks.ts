/**
 * Forks (equivocation): two different records a log's key signed after the same record (or two
 * different first records) prove that the log's owner equivocated. The two record blocks are the
 * proof: anyone holding the service key can decrypt both, check both signatures with the log's
 * key and see the shared `prev` — the relay included.
 *
 * A proof's position is not taken from the sender: it is one after the record both follow, in our
 * own copy of the log (1 when both are first records), so every peer freezes a log at the same
 * counter. A proof whose `prev` we do not hold yet waits (in memory, one per log) until our copy
 * reaches it. Placing a proof freezes the log in the log store (its records at and past the fork
 * are dropped, none is taken again), tells subscribers (`forkNotices`), and is passed on.
 */
import type { CID } from 'multiformats/cid'
import {
  cidOf, createBroadcast, MAX_NODE_BLOCK_BYTES, openNode, parseRecordNode, recordSigningPayload,
  type Logger, type LogID, type PublicKey, type ThreadID
} from '../core/index.js'
import type { LogFork } from '../store/index.js'
import { describeError, InvalidMessageError } from './errors.js'
import type { WireFork } from './messages.js'
import type { ThreadRegistry, ThreadState } from './registry.js'
import type { Fork, ForkNotice, Net } from './types.js'

/** What a checked proof says: the record both records follow (null: both are first records). */
export interface CheckedFork {
  prev: CID | null
  cids: [CID, CID]
}

/**
 * Check that two record blocks are a proof of a fork of the log whose public key is given:
 * different records, both signed by the log's key, with the same `prev`. InvalidMessageError when
 * they are not (whoever sent them forged or garbled them); a record of a newer format version
 * (`UnsupportedRecordVersionError`) is passed through: it proves nothing to us, and nothing against
 * the sender.
 */
export async function checkForkProof(serviceKey: Uint8Array, logKey: PublicKey, records: readonly [Uint8Array, Uint8Array]): Promise<CheckedFork> {
  const nodes = await Promise.all(records.map(async (bytes) => {
    const cid = await cidOf(bytes)
    let node
    try {
      node = parseRecordNode(await openNode({ cid, bytes }, serviceKey, MAX_NODE_BLOCK_BYTES))
    } catch (err) {
      if ((err as Error).name === 'UnsupportedRecordVersionError') throw err
      throw new InvalidMessageError(`a record of the fork proof does not open: ${describeError(err)}`, { cause: err })
    }
    if (!await logKey.verify(recordSigningPayload(node), node.sig)) {
      throw new InvalidMessageError('a record of the fork proof is not signed by the log\'s key')
    }
    return { cid, prev: node.prev ?? null }
  }))
  const [a, b] = nodes as [{ cid: CID; prev: CID | null }, { cid: CID; prev: CID | null }]
  if (a.cid.equals(b.cid)) throw new InvalidMessageError('a fork proof holds two different records')
  if (a.prev === null ? b.prev !== null : (b.prev === null || !a.prev.equals(b.prev))) {
    throw new InvalidMessageError('the records of a fork proof do not follow the same record')
  }
  return { prev: a.prev, cids: [a.cid, b.cid] }
}

export interface ForkBookInit {
  registry: ThreadRegistry
  log: Logger
  /** A log was frozen here (found or learnt): pass the proof on. */
  frozen(thread: ThreadState, log: LogID, fork: LogFork): void
  /** Serialise with appends to the log (`run(key, fn)`, key `${storeId}/${log}`). */
  logLock: { run<T>(key: string, task: () => Promise<T>): Promise<T> }
}

export interface ForkBook {
  /**
   * Take a proof a peer sent for a log of the thread. InvalidMessageError when it is no proof (the
   * sender forged it). Returns true when it froze the log (or moved its fork back).
   */
  receive(thread: ThreadState, log: LogID, proof: WireFork): Promise<boolean>
  /**
   * Freeze a log at a fork found here (both records verified, `counter` from our own chain).
   * `locked`: the caller holds the log's append lock already.
   */
  freeze(thread: ThreadState, log: LogID, fork: LogFork, locked: boolean): Promise<boolean>
  /** The record a proof waiting for our copy of the log follows, if one waits. */
  waitingFor(thread: ThreadState, log: LogID): CID | undefined
  /** Our copy of the log now holds the record a waiting proof follows, at `counter` (the caller holds the lock). */
  reached(thread: ThreadState, log: LogID, counter: number): Promise<void>
  /** The forks of the thread's logs held here. */
  forks(thread: ThreadState): Fork[]
  subscribe(options: { threads?: ThreadID[]; signal?: AbortSignal }): AsyncIterable<ForkNotice>
  forget(thread: ThreadState): void
}

export function createForkBook(init: ForkBookInit): ForkBook {
  const { registry, log } = init
  const notices = createBroadcast<ForkNotice>()
  /** Proofs waiting for our copy of their log to reach the record they follow, by `${storeId}/${log}`. */
  const waiting = new Map<string, { prev: CID; records: [Uint8Array, Uint8Array] }>()
  const key = (t: ThreadState, l: LogID): string => `${t.storeId}/${l}`

  async function freezeNow(thread: ThreadState, l: LogID, fork: LogFork): Promise<boolean> {
    const at = thread.frozen.get(l)
    if (at !== undefined && at <= fork.counter) return false
    const held = await registry.freeze(thread, l, fork)
    if (held.counter !== fork.counter) return false
    waiting.delete(key(thread, l))
    log('log %s of thread %s is frozen at record %d: its owner signed two records there', l, thread.id, fork.counter)
    notices.publish({ thread: thread.id, log: l, counter: fork.counter })
    init.frozen(thread, l, held)
    return true
  }

  const book: ForkBook = {
    async receive(thread, l, proof) {
      const logKey = thread.logKeys.get(l)
      if (logKey == null) return false
      // Frozen at or before the position it claims: it cannot move the log back (an honest
      // sender claims the position its own copy gives; a dishonest one only withholds).
      const at = thread.frozen.get(l)
      if (at !== undefined && proof.counter >= at) return false
      let checked: CheckedFork
      try {
        checked = await checkForkProof(thread.key.service, logKey, proof.records)
      } catch (err) {
        if ((err as Error).name === 'UnsupportedRecordVersionError') return false
        throw err
      }
      const records: [Uint8Array, Uint8Array] = [proof.records[0], proof.records[1]]
      return await init.logLock.run(key(thread, l), async () => {
        if (checked.prev === null) return await freezeNow(thread, l, { counter: 1, records })
        const found = await registry.findRecord(thread, checked.prev)
        if (found == null) {
          // We do not hold the record they follow yet: wait until our copy of the log reaches it.
          if (!waiting.has(key(thread, l))) waiting.set(key(thread, l), { prev: checked.prev, records })
          return false
        }
        // Records that follow a record of another log are never part of this one: nothing to freeze.
        if (found.log !== l) return false
        return await freezeNow(thread, l, { counter: found.counter + 1, records })
      })
    },

    async freeze(thread, l, fork, locked) {
      return locked ? await freezeNow(thread, l, fork) : await init.logLock.run(key(thread, l), async () => await freezeNow(thread, l, fork))
    },

    waitingFor(thread, l) {
      return waiting.get(key(thread, l))?.prev
    },

    async reached(thread, l, counter) {
      const w = waiting.get(key(thread, l))
      if (w == null) return
      await freezeNow(thread, l, { counter: counter + 1, records: w.records })
    },

    forks(thread) {
      return [...thread.frozen].map(([l, counter]) => ({ log: l, counter }))
    },

    subscribe(options) {
      const only = options.threads != null ? new Set<string>(options.threads) : undefined
      return notices.subscribe({
        ...(options.signal != null ? { signal: options.signal } : {}),
        ...(only != null ? { filter: (n: ForkNotice) => only.has(n.thread) } : {})
      })
    },

    forget(thread) {
      for (const k of [...waiting.keys()]) if (k.startsWith(`${thread.storeId}/`)) waiting.delete(k)
    }
  }
  return book
}

/**
 * The forks of a Net as the DB layer takes them (`dbNetFromNet(net, logStore, forkSource(net))`):
 * the forks held, and notices of new ones.
 */
export function forkSource(net: Pick<Net, 'forks' | 'forkNotices'>): {
  forks: (id: ThreadID, options?: { signal?: AbortSignal }) => Promise<Fork[]>
  subscribe: (options: { threads: ThreadID[]; signal?: AbortSignal }) => AsyncIterable<ForkNotice>
} {
  return {
    forks: async (id, options) => await net.forks(id, options),
    subscribe: (options) => net.forkNotices(options)
  }
}

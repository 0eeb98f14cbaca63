/**
 * Finding where a peer's copy of a log parts from ours. A record that does not follow our record
 * before it says the copies differ at or before some counter, but not where: the records before
 * are equal up to the fork and different from it on (a record's CID covers its `prev`), so a binary
 * search over the counters, one record of the peer's copy per step (`getRecords` with `only`, limit
 * 1), finds the first counter where they differ in at most ~log2(counter) round trips. If the
 * peer's record there follows our record before it, the two records are the proof of a fork and
 * the log is frozen; otherwise the peer answered inconsistently and nothing is concluded (a record
 * whose envelope does not verify is forgery, as anywhere).
 *
 * One search per log at a time, and at most one per (log, peer) a minute: a peer cannot make us
 * search without end.
 */
import { openRecordEnvelope, type Logger, type LogID, type RecordBlocks } from '../core/index.js'
import { describeError } from './errors.js'
import type { ForkBook } from './forks.js'
import type { Ingest } from './ingest.js'
import type { ThreadState } from './registry.js'
import type { SyncOps } from './sync.js'
import type { Timers } from './timers.js'

/** Round trips one search may take at most (a log of 2^40 records). */
const MAX_PROBES = 42
/** A (log, peer) pair is searched again at most this often. */
const AGAIN_MS = 60_000

export interface ForkSearchInit {
  ingest: Ingest
  forks: ForkBook
  ops: Pick<SyncOps, 'fetchRecord'>
  timers: Timers
  log: Logger
  /** The peer served a forged record. */
  strike(peer: string, reason: string): void
  /** Keep track of background work. */
  track(p: Promise<unknown>): void
}

export interface ForkSearch {
  /** The peer's copy of `log` differs from ours at or before `counter`: look for the fork (in the background). */
  search(thread: ThreadState, peer: string, log: LogID, counter: number): void
  /** The same, awaited; resolves with the counter of the fork found, if any. */
  run(thread: ThreadState, peer: string, log: LogID, counter: number): Promise<number | undefined>
}

export function createForkSearch(init: ForkSearchInit): ForkSearch {
  const { ingest, forks, ops, timers, log } = init
  const running = new Set<string>()
  const last = new Map<string, number>()

  async function ours(thread: ThreadState, l: LogID, counter: number): Promise<RecordBlocks | undefined> {
    for await (const e of ingest.read(thread, l, { after: counter - 1, limit: 1 })) return e.blocks
    return undefined
  }

  async function run(thread: ThreadState, peer: string, l: LogID, counter: number): Promise<number | undefined> {
    let lo = 1
    let hi = counter
    let theirsAtHi: RecordBlocks | undefined
    let probes = 0
    const differs = async (k: number): Promise<RecordBlocks | undefined> => {
      if (++probes > MAX_PROBES) throw new Error('too many probes')
      const [theirs, mine] = await Promise.all([ops.fetchRecord(thread, peer, l, k), ours(thread, l, k)])
      if (theirs == null || mine == null) throw new Error(`record ${k} is missing on one side`)
      return theirs.record.cid.equals(mine.record.cid) ? undefined : theirs
    }
    theirsAtHi = await differs(hi)
    if (theirsAtHi == null) return undefined
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      const t = await differs(mid)
      if (t == null) lo = mid + 1
      else { hi = mid; theirsAtHi = t }
    }
    const at = hi
    if (thread.frozen.has(l) && thread.frozen.get(l)! <= at) return thread.frozen.get(l)
    const mine = await ours(thread, l, at)
    const before = at > 1 ? await ours(thread, l, at - 1) : undefined
    if (mine == null || (at > 1 && before == null)) return undefined
    try {
      await openRecordEnvelope(theirsAtHi, { serviceKey: thread.key.service, logPublicKey: thread.logKeys.get(l)!, expectedPrev: before?.record.cid ?? null })
    } catch (err) {
      const name = (err as Error).name
      if (name === 'PrevLinkMismatchError' || name === 'UnsupportedRecordVersionError') {
        log('%s answered a search of log %s inconsistently: %s', peer, l, describeError(err))
        return undefined
      }
      init.strike(peer, `record ${at} of log ${l} it served is invalid: ${describeError(err)}`)
      return undefined
    }
    await forks.freeze(thread, l, { counter: at, records: [mine.record.bytes, theirsAtHi.record.bytes] }, false)
    return at
  }

  return {
    run,
    search(thread, peer, l, counter) {
      if (counter < 1 || thread.frozen.has(l)) return
      const key = `${thread.storeId}/${l}`
      const pair = `${key}|${peer}`
      const now = timers.now()
      if (running.has(key) || (last.get(pair) ?? -Infinity) > now - AGAIN_MS) return
      if (last.size > 10_000) last.clear()
      last.set(pair, now)
      running.add(key)
      init.track(run(thread, peer, l, counter).then((at) => {
        if (at !== undefined) log('found the fork of log %s at record %d with %s', l, at, peer)
      }, (err: unknown) => {
        log('searching log %s with %s for a fork stopped: %s', l, peer, describeError(err))
      }).finally(() => { running.delete(key) }))
    }
  }
}

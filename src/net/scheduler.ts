/**
 * The sync scheduler: who to sync with and when. A sync of a (thread, peer) pair exchanges heads,
 * pulls what the peer has and we lack, and pushes our own records the peer lacks — so a push that
 * failed is retried until the peer's heads show it holds the record. One sync per pair runs at a
 * time; a request meanwhile runs it once more after. Syncs run at start, when a peer connects
 * (when we come back online: with every thread peer), when a peer's heads or pushes say it has
 * something, after gossip, and on an interval — for every thread peer, connected or not: peers we
 * are not connected to are dialled, and a pair that fails is retried after an exponential backoff
 * with jitter (capped), per pair and, for dialling, per peer. Failures show in `lastError` as
 * named errors; none of them is held against the peer.
 *
 * Addresses cost nothing to announce, so a thread may name many peers that never answer: a new
 * record is pushed to at most {@link MAX_PUSH_PEERS} peers at once — connected ones first, then
 * peers we reached before — and peers never reached are dialled at most
 * {@link MAX_NEW_DIALS_PER_ROUND} per thread per round, so they cannot make an honest write wait.
 * A sync also passes on the proofs of the forks the peer's heads show it lacks.
 */
import { AbortError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import type { LogID, ThreadID } from '../core/types.js'
import { describeError, PeerBannedError, PeerUnreachableError, RemoteError } from './errors.js'
import { QuotaExceededError } from './admission.js'
import type { ThreadRegistry, ThreadState } from './registry.js'
import type { HeadsOutcome, SyncOps } from './sync.js'
import { backoffDelay, type TimerHandle, type Timers } from './timers.js'
import type { Transport } from './transport.js'
import type { SessionManager } from './sessions.js'
import type { NetRecord, ProgressOptions } from './types.js'
import { wireLog } from './wire.js'

export interface SchedulerInit {
  registry: ThreadRegistry
  ops: SyncOps
  transport: Transport
  /** Dial backoff per peer lives with the sessions. */
  sessions: Pick<SessionManager, 'nextDialAt' | 'resetDials' | 'reached'>
  timers: Timers
  /** Uniform in [0, 1): jitter. */
  random: () => number
  log: Logger
  /** Sync every thread peer this often (0: never on a timer). */
  syncIntervalMs: number
  /** First retry delay after a failure. */
  minBackoffMs: number
  /** Longest retry delay. */
  maxBackoffMs: number
  /** Jitter as a fraction of the delay (0.2: ±20 %). */
  jitter: number
  /** A remote trigger within this long of a sync that found nothing waits until it has passed. @default 1000 */
  quietMs?: number
  /** Own records pushed per sync at most (the rest on the next). @default 256 */
  pushBatch?: number
  /** Keeps track of background work (stop waits for it). */
  track(p: Promise<unknown>): void
  /** False once the net stops. */
  running(): boolean
}

export interface PeerSchedule {
  failures: number
  /** When we try again, while backing off. */
  nextAttemptAt?: number
  lastError?: { name: string; message: string; at: number }
}

export interface Scheduler {
  start(): void
  stop(): void
  /** Sync the pair now (or once more after the running sync). */
  sync(thread: ThreadState, peer: string): void
  /** A peer says it may have something for us (heads differ, a gap): sync soon, rate-limited. */
  syncSoon(thread: ThreadState, peer: string): void
  /** Sync the pair and wait for it (API calls); throws what it failed with. */
  syncNow(thread: ThreadState, peer: string, options?: ProgressOptions): Promise<HeadsOutcome>
  peerConnected(peer: string): void
  peerDisconnected(peer: string): void
  /** A record of ours was created: push it to the thread's peers. */
  recordCreated(thread: ThreadState, record: NetRecord): void
  /** A record pushed to us was new: pass it on to the other connected thread peers. */
  forward(thread: ThreadState, record: NetRecord, from: string): void
  /** New records or logs came from `from`: the other connected thread peers should look. */
  gossip(thread: ThreadState, from?: string): void
  /** `peer` holds our log `log` of `thread` up to `counter`. */
  delivered(thread: ThreadState, peer: string, log: LogID, counter: number): void
  /** What `peer` is known to hold of our first log. */
  heldBy(thread: ThreadState, peer: string): number
  /**
   * A log changed here (frozen at a fork, a newer signed address list): announce it to the
   * thread's connected peers (but `except`).
   */
  spread(thread: ThreadState, log: LogID, except?: string): void
  /** Send the proof of the fork of `log` to `peer`. */
  passProof(thread: ThreadState, peer: string, log: LogID): void
  pendingPush(thread: ThreadState): number
  lastError(thread: ThreadID): { name: string; message: string; at: number } | undefined
  recordError(thread: ThreadID, err: unknown): void
  peer(thread: ThreadState, peer: string): PeerSchedule
  forget(thread: ThreadState): void
}

interface Pair {
  running: boolean
  again: boolean
  failures: number
  nextAt: number
  lastFinished: number
  productive: boolean
  timer: TimerHandle | undefined
  /** When `timer` fires. */
  timerAt: number
  /** The peer lacked many of our records: it was left to pull them before we push. */
  leftToPull: boolean
  /** Pushes of new records to the peer in flight. */
  pushing: number
  /** New records were not pushed because {@link PUSH_WINDOW} pushes were in flight: sync once they end. */
  backlog: boolean
  lastError?: { name: string; message: string; at: number }
}

/** A peer this far behind on our log pulls it itself before we push record by record. */
const PUSH_AT_ONCE = 64
/**
 * Pushes of new records in flight to one peer. A writer faster than the peer takes pushes (each a
 * round trip) stops pushing record by record: once those in flight end, a sync tells the peer our
 * heads, and it pulls the rest in one stream.
 */
export const PUSH_WINDOW = 8
/** Most peers a new record is pushed (or a pushed one forwarded) to at once. */
export const MAX_PUSH_PEERS = 16
/** Peers never reached that one round of syncs (start, reconnect, interval) dials per thread. */
export const MAX_NEW_DIALS_PER_ROUND = 8


export function createScheduler(init: SchedulerInit): Scheduler {
  const { registry, ops, transport, timers, log } = init
  const quietMs = init.quietMs ?? 1000
  const pushBatch = init.pushBatch ?? 256
  const pairs = new Map<string, Pair>()
  /** Per thread, per peer, per log of ours: how far the peer holds it. */
  const held = new Map<ThreadID, Map<string, Map<LogID, number>>>()
  /** Per thread: records of ours no peer is known to hold, as `${log}/${counter}`. */
  const pending = new Map<ThreadID, Map<string, { log: LogID; counter: number }>>()
  const errors = new Map<ThreadID, { name: string; message: string; at: number }>()
  let interval: TimerHandle | undefined
  const online = new Set<string>()
  /** Threads deleted: their syncs stop, and no retry is scheduled for them. */
  const forgotten = new WeakSet<ThreadState>()

  const pairKey = (t: ThreadState, peer: string): string => `${t.storeId}|${peer}`
  const connected = (peer: string): boolean => transport.connection(peer).connected

  /** The most of our log `l` any peer is known to hold. */
  function maxHeld(storeId: ThreadID, l: LogID): number {
    let n = 0
    for (const logs of held.get(storeId)?.values() ?? []) n = Math.max(n, logs.get(l) ?? 0)
    return n
  }

  function pair(t: ThreadState, peer: string): Pair {
    const key = pairKey(t, peer)
    let p = pairs.get(key)
    if (p == null) {
      p = { running: false, again: false, failures: 0, nextAt: 0, lastFinished: -Infinity, productive: true, timer: undefined, timerAt: 0, leftToPull: false, pushing: 0, backlog: false }
      pairs.set(key, p)
    }
    return p
  }

  function delay(failures: number): number {
    return backoffDelay(failures, { baseMs: init.minBackoffMs, maxMs: init.maxBackoffMs, jitter: init.jitter, random: init.random })
  }

  function recordError(thread: ThreadID, failure: unknown): { name: string; message: string; at: number } {
    // A quota refusal shows as what it is, not as a generic remote error.
    const err = failure instanceof RemoteError && failure.remoteCode === 'QUOTA_EXCEEDED'
      ? new QuotaExceededError(`the peer refused a record: ${failure.message}`, { cause: failure })
      : failure
    const e = err instanceof Error ? err : undefined
    const entry = { name: e?.name ?? 'Error', message: e != null ? e.message : describeError(err), at: timers.now() }
    errors.set(thread, entry)
    return entry
  }

  function retryLater(t: ThreadState, peer: string, p: Pair, at: number): void {
    if (p.timer !== undefined) timers.clearTimeout(p.timer)
    p.timer = undefined
    if (forgotten.has(t)) return
    p.timerAt = at
    p.timer = timers.setTimeout(() => {
      p.timer = undefined
      if (init.running()) run(t, peer)
    }, Math.max(0, at - timers.now()))
  }

  function failed(t: ThreadState, peer: string, p: Pair, err: unknown): void {
    if (!init.running() || err instanceof AbortError || (err as Error).name === 'AbortError') return
    p.failures++
    const now = timers.now()
    let wait = delay(p.failures)
    // A peer we could not dial is not tried before its dial backoff has passed.
    if (err instanceof PeerUnreachableError) wait = Math.max(wait, init.sessions.nextDialAt(peer) - now)
    p.nextAt = now + wait
    p.lastError = recordError(t.id, err)
    log('sync of %s with %s failed (%d in a row, next in %d ms): %s', t.id, peer, p.failures, wait, describeError(err))
    retryLater(t, peer, p, p.nextAt)
  }

  function succeeded(p: Pair): void {
    p.failures = 0
    p.nextAt = 0
    delete p.lastError
  }

  /** True when we may try the peer now (connected, or its dial backoff has passed). */
  function reachableNow(peer: string): boolean {
    if (connected(peer)) return true
    return init.sessions.nextDialAt(peer) <= timers.now()
  }

  /**
   * One sync of a pair: heads, pull what the peer has, push our records it lacks. A peer far behind
   * on our log pulls it in one stream when it sees our heads differ, so we first leave it to; if it
   * is still behind at the next sync we push.
   */
  async function once(t: ThreadState, peer: string, p: Pair, options: ProgressOptions = {}): Promise<{ outcome: HeadsOutcome; pushed: number }> {
    const outcome = await ops.exchangeHeads(t, peer, options)
    let pushed = 0
    if (outcome.theirs == null) {
      p.leftToPull = false
      return { outcome, pushed }
    }
    // Forks the peer's heads do not show: it lacks the proof.
    for (const [log, at] of t.frozen) {
      if (outcome.theirForks?.get(log) !== at) await passProofNow(t, peer, log, options)
    }
    if (t.owns.size === 0) {
      p.leftToPull = false
      return { outcome, pushed }
    }
    const heads = new Map((await registry.heads(t)).map((l) => [l.id as string, l.head.counter]))
    let lacking = 0
    for (const own of t.owns.keys()) lacking = Math.max(lacking, (heads.get(own) ?? 0) - (outcome.theirs.get(own) ?? 0))
    if (lacking > PUSH_AT_ONCE && !p.leftToPull) {
      p.leftToPull = true
      retryLater(t, peer, p, timers.now() + 2 * quietMs)
      return { outcome, pushed }
    }
    p.leftToPull = false
    for (const own of t.owns.keys()) {
      const theirs = outcome.theirs.get(own) ?? 0
      if ((heads.get(own) ?? 0) > theirs) pushed += await ops.pushOwn(t, peer, own, theirs, pushBatch - pushed, options)
      if (pushed >= pushBatch) break
    }
    return { outcome, pushed }
  }

  async function passProofNow(t: ThreadState, peer: string, log: LogID, options: ProgressOptions = {}): Promise<void> {
    const wire = await wireLog(registry, t, log)
    if (wire?.fork != null) await ops.announce(t, peer, wire, undefined, options)
  }

  function run(t: ThreadState, peer: string): void {
    if (!init.running() || forgotten.has(t)) return
    const p = pair(t, peer)
    if (p.running) { p.again = true; return }
    if (!reachableNow(peer)) {
      retryLater(t, peer, p, Math.max(p.nextAt, init.sessions.nextDialAt(peer)))
      return
    }
    p.running = true
    if (p.timer !== undefined) { timers.clearTimeout(p.timer); p.timer = undefined }
    init.track((async () => {
      try {
        do {
          p.again = false
          try {
            const { outcome, pushed } = await once(t, peer, p)
            succeeded(p)
            p.productive = outcome.pulled > 0 || pushed > 0
            if (pushed >= pushBatch) p.again = true
          } catch (err) {
            failed(t, peer, p, err)
            break
          }
        } while (p.again && init.running())
      } finally {
        p.running = false
        p.lastFinished = timers.now()
      }
    })())
  }

  /**
   * Call `fn` for the pairs of every thread with its peers (or only `only`): peers connected or
   * reached before, and at most {@link MAX_NEW_DIALS_PER_ROUND} per thread never reached whose dial
   * backoff has passed (in the registry's order: peers of busier logs first).
   */
  async function forEachPair(fn: (t: ThreadState, peer: string) => void, only?: string): Promise<void> {
    for (const t of await registry.list()) {
      let fresh = 0
      for (const peer of (await registry.peers(t)).keys()) {
        if (only != null && peer !== only) continue
        if (only == null && !connected(peer) && !init.sessions.reached(peer)) {
          if (init.sessions.nextDialAt(peer) > timers.now() || ++fresh > MAX_NEW_DIALS_PER_ROUND) continue
        }
        fn(t, peer)
      }
    }
  }

  /** Up to {@link MAX_PUSH_PEERS} peers of a thread to push to now: connected ones first, then peers reached before. */
  function pushTargets(peers: Iterable<string>, except?: string): string[] {
    const near: string[] = []
    const known: string[] = []
    for (const peer of peers) {
      if (peer === except) continue
      if (connected(peer)) near.push(peer)
      else if (init.sessions.reached(peer) && reachableNow(peer)) known.push(peer)
    }
    return [...near, ...known].slice(0, MAX_PUSH_PEERS)
  }

  function all(reason: string, only?: string, fn: (t: ThreadState, peer: string) => void = run): void {
    init.track(forEachPair(fn, only).catch((err) => { log.error('%s sync failed: %s', reason, describeError(err)) }))
  }

  function tick(): void {
    interval = undefined
    if (!init.running()) return
    all('interval', undefined, (t, peer) => {
      const p = pair(t, peer)
      if (p.nextAt > timers.now() && !connected(peer)) return
      run(t, peer)
    })
    interval = timers.setTimeout(tick, init.syncIntervalMs)
  }

  const scheduler: Scheduler = {
    start() {
      // A fresh start tries every peer now, whatever backoff it had reached before.
      online.clear()
      init.sessions.resetDials()
      for (const p of pairs.values()) { p.failures = 0; p.nextAt = 0 }
      all('initial')
      if (init.syncIntervalMs > 0) interval = timers.setTimeout(tick, init.syncIntervalMs)
    },

    stop() {
      if (interval !== undefined) timers.clearTimeout(interval)
      interval = undefined
      for (const p of pairs.values()) {
        if (p.timer !== undefined) timers.clearTimeout(p.timer)
        p.timer = undefined
      }
    },

    sync: run,

    syncSoon(t, peer) {
      const p = pair(t, peer)
      const since = timers.now() - p.lastFinished
      if (!p.running && !p.productive && since < quietMs) {
        // A sync just found nothing: look again once the quiet time has passed (sooner than any later retry).
        const at = p.lastFinished + quietMs
        if (p.timer === undefined || p.timerAt > at) retryLater(t, peer, p, at)
        return
      }
      run(t, peer)
    },

    async syncNow(t, peer, options = {}) {
      const p = pair(t, peer)
      try {
        const { outcome } = await once(t, peer, p, options)
        succeeded(p)
        return outcome
      } catch (err) {
        failed(t, peer, p, err)
        throw err
      }
    },

    peerConnected(peer) {
      const wasOffline = online.size === 0
      online.add(peer)
      if (wasOffline) {
        // Back online: every thread peer may be reachable again.
        init.sessions.resetDials()
        all('reconnect', undefined, (t, p) => { pair(t, p).nextAt = 0; run(t, p) })
        return
      }
      all('connect', peer, (t, p) => { pair(t, p).nextAt = 0; run(t, p) })
    },

    peerDisconnected(peer) {
      online.delete(peer)
    },

    recordCreated(t, record) {
      init.track(registry.peers(t).then((peers) => {
        if (peers.size === 0) return
        let map = pending.get(t.storeId)
        if (map == null) pending.set(t.storeId, (map = new Map()))
        if (record.counter > maxHeld(t.storeId, record.log)) map.set(`${record.log}/${record.counter}`, { log: record.log, counter: record.counter })
        for (const peer of pushTargets(peers.keys())) {
          const p = pair(t, peer)
          // A pair backing off gets the record when it retries (its sync pushes what the peer lacks).
          if (p.running || (p.nextAt > timers.now() && !connected(peer))) {
            if (p.running) p.again = true
            continue
          }
          if (p.pushing >= PUSH_WINDOW) {
            p.backlog = true
            continue
          }
          p.pushing++
          init.track(ops.pushRecord(t, peer, record.log, record.counter, record.blocks).then(() => {
            succeeded(p)
          }, (err: unknown) => {
            if (err instanceof PeerBannedError) return
            failed(t, peer, p, err)
          }).finally(() => {
            p.pushing--
            if (p.pushing > 0 || !p.backlog) return
            p.backlog = false
            // The records not pushed: a sync shows the peer our heads (it pulls), or pushes them.
            if (p.nextAt <= timers.now()) run(t, peer)
          }))
        }
      }).catch((err) => { recordError(t.id, err) }))
    },

    forward(t, record, from) {
      init.track(registry.peers(t).then((peers) => {
        for (const peer of pushTargets([...peers.keys()].filter(connected), from)) {
          init.track(ops.pushRecord(t, peer, record.log, record.counter, record.blocks).catch((err: unknown) => {
            log('forward of %s to %s failed: %s', record.cid.toString(), peer, describeError(err))
          }))
        }
      }).catch((err) => { log('forward failed: %s', describeError(err)) }))
    },

    spread(t, l, except) {
      init.track((async () => {
        const wire = await wireLog(registry, t, l)
        if (wire == null) return
        for (const peer of (await registry.peers(t)).keys()) {
          if (peer === except || !connected(peer)) continue
          init.track(ops.announce(t, peer, wire).catch((err: unknown) => { log('announcing log %s to %s failed: %s', l, peer, describeError(err)) }))
        }
      })().catch((err) => { log('announcing log %s failed: %s', l, describeError(err)) }))
    },

    passProof(t, peer, l) {
      init.track(passProofNow(t, peer, l).catch((err: unknown) => { log('passing the fork of %s to %s failed: %s', l, peer, describeError(err)) }))
    },

    gossip(t, from) {
      init.track(registry.peers(t).then((peers) => {
        for (const peer of peers.keys()) if (peer !== from && connected(peer)) run(t, peer)
      }).catch((err) => { log('gossip failed: %s', describeError(err)) }))
    },

    delivered(t, peer, l, counter) {
      let m = held.get(t.storeId)
      if (m == null) held.set(t.storeId, (m = new Map()))
      let logs = m.get(peer)
      if (logs == null) m.set(peer, (logs = new Map()))
      if ((logs.get(l) ?? 0) < counter) logs.set(l, counter)
      const map = pending.get(t.storeId)
      if (map == null) return
      for (const [k, r] of map) if (r.log === l && r.counter <= counter) map.delete(k)
    },

    heldBy(t, peer) {
      const own = t.own
      return own == null ? 0 : held.get(t.storeId)?.get(peer)?.get(own.id) ?? 0
    },

    pendingPush(t) {
      return pending.get(t.storeId)?.size ?? 0
    },

    lastError(thread) {
      const e = errors.get(thread)
      return e == null ? undefined : { ...e }
    },

    recordError(thread, err) {
      recordError(thread, err)
    },

    peer(t, peer) {
      const p = pairs.get(pairKey(t, peer))
      if (p == null) return { failures: 0 }
      const out: PeerSchedule = { failures: p.failures }
      if (p.nextAt > timers.now()) out.nextAttemptAt = p.nextAt
      if (p.lastError != null) out.lastError = { ...p.lastError }
      return out
    },

    forget(t) {
      forgotten.add(t)
      for (const [key, p] of pairs) {
        if (!key.startsWith(`${t.storeId}|`)) continue
        if (p.timer !== undefined) timers.clearTimeout(p.timer)
        pairs.delete(key)
      }
      held.delete(t.storeId)
      pending.delete(t.storeId)
      errors.delete(t.id)
    }
  }
  return scheduler
}

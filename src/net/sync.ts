/**
 * The requesting side of sync: one call per protocol operation, each on the peer's session, with
 * its own deadline, bounded by the outgoing-work limiter (dialling is not: a dial waits in the
 * session manager's queue, so requests to connected peers never wait behind dials to dead ones).
 * Pulls stream records in log order under byte credit and append them in bounded batches from the
 * heads we have persisted, so an interrupted catch-up resumes where it stopped. A log whose records
 * cannot be taken (it forked, or the peer's copy diverged from ours) is left for the rest of the
 * pull while the others go on. A record the peer sends that proves forgery earns it a strike;
 * failures of the network never do.
 */
import type { Logger } from '../core/logger.js'
import type { RecordBlocks } from '../core/record.js'
import type { LogID, ThreadID } from '../core/types.js'
import { authProof } from './auth.js'
import { InvalidMessageError, RecordRejectedError, RemoteError } from './errors.js'
import { blocksFromWire, blocksToWire, type Ingest, type IngestResult, type Sender } from './ingest.js'
import type { Limiter } from './limiter.js'
import type { RequestBody, Response, WireLog } from './messages.js'
import type { ThreadRegistry, ThreadState } from './registry.js'
import type { SessionManager } from './sessions.js'
import type { ProgressOptions as ApiProgressOptions, SignalOptions as ApiSignalOptions, SyncProgress } from './types.js'
import { logIdBytes, logIdOf, wireLog } from './wire.js'

/** Options of a call: `force` dials a peer even while its dial backoff runs (explicit API calls). */
export interface SignalOptions extends ApiSignalOptions { force?: boolean }
export interface ProgressOptions extends ApiProgressOptions { force?: boolean }

/** `after` for a log we want nothing more of in a pull. */
const NOTHING = Number.MAX_SAFE_INTEGER

export interface SyncOpsInit {
  registry: ThreadRegistry
  ingest: Ingest
  sessions: SessionManager
  limiter: Limiter
  log: Logger
  /** Our peer ID's multihash bytes. */
  selfBytes: Uint8Array
  peerBytes(peer: string): Uint8Array
  requestTimeoutMs: number
  /** Records asked for per `getRecords`. */
  pullBatchSize: number
  /** Records verified and appended together. */
  ingestBatchSize: number
  /** Bytes of records a peer may send ahead of what we consumed. */
  windowBytes: number
  /** Catch-up progress per thread (for syncStatus). */
  catchUp: Map<ThreadID, SyncProgress>
  /** Aborted when the net stops. */
  shutdown(): AbortSignal
  /** Take a log a peer described (its signed addresses, its fork proof). InvalidMessageError for forged data. */
  learn(thread: ThreadState, wire: WireLog, from: string): Promise<{ added: boolean }>
  /** The peer sent data that proves forgery. */
  strike(peer: string, remoteAddr: string, reason: string): void
  /** `peer` holds our log `log` of `thread` up to `counter`. */
  delivered(thread: ThreadState, peer: string, log: LogID, counter: number): void
  /** New records or logs came from `from`: the thread's other connected peers should look. */
  gossip(thread: ThreadState, from: string): void
  /** The peer's copy of a log differs from ours at or before `counter`: find where, with it. */
  diverged(thread: ThreadState, peer: string, log: LogID, counter: number): void
}

/** What a heads exchange found. */
export interface HeadsOutcome {
  /** Records pulled because the peer had more. */
  pulled: number
  /** The peer's counter for each log it holds; absent when our heads were equal. */
  theirs?: Map<LogID, number>
  /** The forks the peer holds proof of (log → counter); absent when our heads were equal. */
  theirForks?: Map<LogID, number>
}

export interface SyncOps {
  request<T extends Response['type']>(thread: ThreadState, peer: string, body: DistributiveAuthless, expect: T[], options?: SignalOptions): Promise<Extract<Response, { type: T }>>
  fetchLogs(thread: ThreadState, peer: string, options?: SignalOptions): Promise<WireLog[]>
  pull(thread: ThreadState, peer: string, options?: ProgressOptions): Promise<number>
  exchangeHeads(thread: ThreadState, peer: string, options?: ProgressOptions): Promise<HeadsOutcome>
  /** Push one record; announce its log first if the peer does not know it. */
  pushRecord(thread: ThreadState, peer: string, log: LogID, counter: number, blocks: RecordBlocks, options?: SignalOptions): Promise<void>
  /** Push records of our log `log` after `after`, oldest first, at most `limit`. Returns how many were taken. */
  pushOwn(thread: ThreadState, peer: string, log: LogID, after: number, limit: number, options?: SignalOptions): Promise<number>
  /** Announce a log; with `serviceKey` this hands the thread to a replicator. */
  announce(thread: ThreadState, peer: string, wire: WireLog, serviceKey?: Uint8Array, options?: SignalOptions): Promise<void>
  /** The peer's record of `log` at `counter`, if it sends that one (for fork searches). */
  fetchRecord(thread: ThreadState, peer: string, log: LogID, counter: number, options?: SignalOptions): Promise<RecordBlocks | undefined>
}

type Authless<T> = T extends unknown ? Omit<T, 'thread' | 'kid' | 'auth'> : never
export type DistributiveAuthless = Authless<RequestBody>

export function createSyncOps(init: SyncOpsInit): SyncOps {
  const { registry, sessions, limiter } = init

  function signalOf(signal?: AbortSignal): AbortSignal {
    return signal == null ? init.shutdown() : AbortSignal.any([signal, init.shutdown()])
  }

  const proofs = new Map<string, Uint8Array>()
  function authFor(thread: ThreadState, peer: string): { thread: Uint8Array; kid: Uint8Array; auth: Uint8Array } {
    const key = `${thread.storeId}|${peer}`
    let auth = proofs.get(key)
    if (auth == null) {
      auth = authProof(thread.key.service, thread.idBytes, init.selfBytes, init.peerBytes(peer))
      if (proofs.size >= 10_000) proofs.clear()
      proofs.set(key, auth)
    }
    return { thread: thread.idBytes, kid: thread.kid, auth }
  }

  const session = async (peer: string, signal: AbortSignal, options: SignalOptions): Promise<Awaited<ReturnType<SessionManager['get']>>> =>
    await sessions.get(peer, { signal, ...(options.force === true ? { force: true } : {}) })

  const ops: SyncOps = {
    async request(thread, peer, body, expect, options = {}) {
      const signal = signalOf(options.signal)
      signal.throwIfAborted()
      // The dial (if any) waits in the session manager's own queue, outside the request limiter.
      const s = await session(peer, signal, options)
      const res = await limiter.run(peer, async () => {
        signal.throwIfAborted()
        return await s.request({ ...body, ...authFor(thread, peer) } as RequestBody, expect, { timeoutMs: init.requestTimeoutMs, signal })
      })
      registry.proven(thread, peer)
      return res
    },

    async fetchLogs(thread, peer, options = {}) {
      const all: WireLog[] = []
      let after: Uint8Array | undefined
      // Pages of logs, at most as many as a thread may hold.
      for (let page = 0; page < 4096; page++) {
        const res = await ops.request(thread, peer, { type: 'getLogs', ...(after != null ? { after } : {}) }, ['logs'], options)
        for (const l of res.logs) {
          try {
            await init.learn(thread, l, peer)
          } catch (err) {
            if ((err as Error).name === 'LimitExceededError') {
              init.log('thread %s holds as many logs as it may: %s', thread.id, (err as Error).message)
              continue
            }
            if (!(err instanceof InvalidMessageError)) throw err
            init.strike(peer, sessions.current(peer)?.remoteAddr ?? '', err.message)
            throw err
          }
        }
        all.push(...res.logs)
        if (res.more !== true || res.logs.length === 0) break
        after = res.logs.at(-1)!.id
      }
      return all
    },

    async pull(thread, peer, options = {}) {
      const logsBefore = thread.logKeys.size
      const pulled = await pullRecords(thread, peer, options)
      if (pulled > 0 || thread.logKeys.size > logsBefore) init.gossip(thread, peer)
      return pulled
    },

    async exchangeHeads(thread, peer, options = {}) {
      const { heads, digest } = await registry.headsView(thread)
      const res = await ops.request(thread, peer, { type: 'heads', digest }, ['heads'], options)
      const ours = new Map(heads.map((h) => [h.id as string, h.head.counter]))
      const ourCids = new Map(heads.map((h) => [h.id as string, h.head.cid]))
      if (res.same) {
        for (const own of thread.owns.keys()) init.delivered(thread, peer, own, ours.get(own) ?? 0)
        return { pulled: 0 }
      }
      const theirs = new Map<LogID, number>()
      const theirForks = new Map<LogID, number>()
      let behind = false
      for (const h of res.heads) {
        let id: LogID
        try { id = logIdOf(h.id) } catch { continue }
        theirs.set(id, h.counter)
        if (h.fork !== undefined) theirForks.set(id, h.fork)
        const frozenAt = thread.frozen.get(id)
        // A fork we do not know of (or an earlier one): fetching their logs brings the proof.
        if (h.fork !== undefined && (frozenAt === undefined || h.fork < frozenAt)) behind = true
        const mine = ours.get(id)
        const wanted = frozenAt === undefined ? h.counter : Math.min(h.counter, frozenAt - 1)
        if (mine === undefined || wanted > mine) behind = true
        // As many records each, but not the same last one: the copies part at or before it (a peer
        // behind us finds it when it pulls, one ahead when we pull; equal counters need a search).
        const ourCid = ourCids.get(id)
        if (mine !== undefined && mine > 0 && mine === h.counter && h.head != null && ourCid != null && !ourCid.equals(h.head)) {
          init.diverged(thread, peer, id, mine)
        }
      }
      for (const own of thread.owns.keys()) init.delivered(thread, peer, own, theirs.get(own) ?? 0)
      const pulled = behind ? await ops.pull(thread, peer, options) : 0
      return { pulled, theirs, theirForks }
    },

    async pushRecord(thread, peer, log, counter, blocks, options = {}) {
      const send = async (): Promise<void> => {
        await ops.request(thread, peer, { type: 'pushRecord', log: logIdBytes(log), counter, blocks: blocksToWire(blocks) }, ['ok'], options)
      }
      try {
        await send()
      } catch (err) {
        if (!(err instanceof RemoteError) || err.remoteCode !== 'LOG_NOT_FOUND') throw err
        const wire = await wireLog(registry, thread, log)
        if (wire == null) throw err
        await ops.announce(thread, peer, wire, undefined, options)
        await send()
      }
      if (thread.owns.has(log)) init.delivered(thread, peer, log, counter)
    },

    async pushOwn(thread, peer, log, after, limit, options = {}) {
      if (!thread.owns.has(log)) return 0
      let pushed = 0
      const entries = []
      for await (const entry of init.ingest.read(thread, log, { after, limit, signal: signalOf(options.signal) })) entries.push(entry)
      for (const entry of entries) {
        await ops.pushRecord(thread, peer, log, entry.counter, entry.blocks, options)
        pushed++
      }
      return pushed
    },

    async announce(thread, peer, wire, serviceKey, options = {}) {
      await ops.request(thread, peer, { type: 'pushLog', log: wire, ...(serviceKey != null ? { serviceKey } : {}) }, ['ok'], options)
    },

    async fetchRecord(thread, peer, log, counter, options = {}) {
      const signal = signalOf(options.signal)
      const s = await session(peer, signal, options)
      return await limiter.run(peer, async () => {
        const frames = s.stream({ type: 'getRecords', ...authFor(thread, peer), logs: [{ id: logIdBytes(log), after: counter - 1 }], limit: 1, only: true }, {
          timeoutMs: init.requestTimeoutMs, signal, window: init.windowBytes
        })
        let found: RecordBlocks | undefined
        for await (const frame of frames) {
          if (frame.type === 'end') break
          let id: LogID | undefined
          try { id = logIdOf(frame.log) } catch { id = undefined }
          if (id === log && frame.counter === counter && found == null) found = await blocksFromWire(frame.blocks)
        }
        return found
      })
    }
  }

  async function pullRecords(thread: ThreadState, peer: string, options: ProgressOptions): Promise<number> {
    const remoteLogs = await ops.fetchLogs(thread, peer, options)
    const ours = new Map((await registry.heads(thread)).map((l) => [l.id as string, l.head.counter]))
    let expected = 0
    for (const l of remoteLogs) {
      let id: LogID
      try { id = logIdOf(l.id) } catch { continue }
      const frozenAt = thread.frozen.get(id)
      const theirs = frozenAt === undefined ? l.counter : Math.min(l.counter, frozenAt - 1)
      const mine = ours.get(id) ?? 0
      if (theirs > mine) expected += theirs - mine
    }
    const progress: SyncProgress = { thread: thread.id, peer, fetched: 0, expected }
    if (expected === 0) return 0
    init.catchUp.set(thread.id, progress)
    options.onProgress?.({ ...progress })
    const signal = signalOf(options.signal)
    /** Logs left for the rest of this pull (frozen here, or the peer's copy diverged from ours). */
    const left = new Set<LogID>()
    const leave = (log: LogID, r: Pick<IngestResult, 'dropped' | 'forked' | 'diverged'>): void => {
      if (r.dropped > 0 || r.forked !== undefined || r.diverged !== undefined) left.add(log)
      if (r.diverged !== undefined) init.diverged(thread, peer, log, r.diverged)
    }
    /** The last counter of each log received in this pull (stored, or queued to be). */
    const received = new Map<LogID, number>()
    interface Batch { log: LogID; first: number; blocks: RecordBlocks[]; from: Sender }
    let batch: Batch | undefined
    /**
     * The batch being verified and stored while the next one arrives, across requests: each batch
     * starts once the one before it is done (so `left` is up to date), and the next request goes
     * out at the end of a response without waiting for them.
     */
    let inflight: Promise<void> = Promise.resolve()
    const append = async (b: Batch): Promise<void> => {
      try {
        const r = await init.ingest.append(thread, b.log, b.first, b.blocks, b.from)
        progress.fetched += r.appended
        leave(b.log, r)
      } catch (err) {
        if (!(err instanceof RecordRejectedError)) throw err
        progress.fetched += err.appended
        if (err.proof) {
          init.strike(peer, b.from.remoteAddr, err.message)
          throw err
        }
        init.log('leaving log %s of %s for this pull: %s', b.log, peer, err.message)
        left.add(b.log)
      } finally {
        options.onProgress?.({ ...progress })
      }
    }
    /** Start the batch being filled once the one before it is done; resolves when that one is. */
    const flush = async (): Promise<void> => {
      if (batch == null || batch.blocks.length === 0) return
      const b = batch
      batch = undefined
      const before = inflight
      inflight = (async () => {
        await before
        if (!left.has(b.log)) await append(b)
      })()
      void inflight.catch(() => {})
      await before
    }
    try {
      let more = true
      while (more) {
        more = false
        const logs = (await registry.heads(thread)).map((l) => {
          const frozenAt = thread.frozen.get(l.id)
          const full = left.has(l.id) || (frozenAt !== undefined && l.head.counter >= frozenAt - 1)
          return { id: logIdBytes(l.id), after: full ? NOTHING : Math.max(l.head.counter, received.get(l.id) ?? 0) }
        })
        const s = await sessions.get(peer, { signal, ...(options.force === true ? { force: true } : {}) })
        const fetched = await limiter.run(peer, async () => {
          const from = { peer, remoteAddr: s.remoteAddr }
          let count = 0
          const frames = s.stream({ type: 'getRecords', ...authFor(thread, peer), logs, limit: init.pullBatchSize }, {
            timeoutMs: init.requestTimeoutMs, signal, window: init.windowBytes
          })
          for await (const frame of frames) {
            if (frame.type === 'end') { more = frame.more; break }
            let log: LogID
            try { log = logIdOf(frame.log) } catch (err) {
              init.strike(peer, s.remoteAddr, 'record frame with a bad log ID')
              throw new InvalidMessageError('record frame with a bad log ID', { cause: err })
            }
            count++
            if (left.has(log)) continue
            const blocks = await blocksFromWire(frame.blocks)
            if (batch != null && (batch.log !== log || batch.first + batch.blocks.length !== frame.counter || batch.blocks.length >= init.ingestBatchSize)) {
              await flush()
            }
            if (left.has(log)) continue
            batch ??= { log, first: frame.counter, blocks: [], from }
            batch.blocks.push(blocks)
            received.set(log, frame.counter)
          }
          return count
        })
        registry.proven(thread, peer)
        if (fetched === 0) more = false
      }
      await flush()
      await inflight
      return progress.fetched
    } catch (err) {
      // The pull failed: keep the records that did arrive (the next pull asks from there).
      await flush().catch(() => undefined)
      await inflight.catch(() => undefined)
      throw err
    } finally {
      if (init.catchUp.get(thread.id) === progress) init.catchUp.delete(thread.id)
    }
  }

  return ops
}

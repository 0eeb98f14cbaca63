/**
 * The requesting side of sync: one call per protocol operation, each on the peer's session, with
 * its own deadline, bounded by the outgoing-work limiter. Pulls stream records in log order under
 * byte credit and append them in bounded batches from the heads we have persisted, so an
 * interrupted catch-up resumes where it stopped. A record the peer sends that proves forgery
 * earns it a strike; failures of the network never do.
 */
import type { Logger } from '../core/logger.js'
import type { RecordBlocks } from '../core/record.js'
import type { LogID, ThreadID } from '../core/types.js'
import { authProof } from './auth.js'
import { InvalidMessageError, RecordRejectedError, RemoteError } from './errors.js'
import { blocksFromWire, blocksToWire, type Ingest } from './ingest.js'
import type { Limiter } from './limiter.js'
import type { RequestBody, Response, WireLog } from './messages.js'
import type { ThreadRegistry, ThreadState } from './registry.js'
import type { SessionManager } from './sessions.js'
import type { ProgressOptions as ApiProgressOptions, SignalOptions as ApiSignalOptions, SyncProgress } from './types.js'

/** Options of a call: `force` dials a peer even while its dial backoff runs (explicit API calls). */
export interface SignalOptions extends ApiSignalOptions { force?: boolean }
export interface ProgressOptions extends ApiProgressOptions { force?: boolean }
import { logIdBytes, logIdOf, wireLogs } from './wire.js'

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
  /** The peer sent data that proves forgery. */
  strike(peer: string, remoteAddr: string, reason: string): void
  /** `peer` holds our log of `thread` up to `counter`. */
  delivered(thread: ThreadState, peer: string, counter: number): void
  /** New records or logs came from `from`: the thread's other connected peers should look. */
  gossip(thread: ThreadState, from: string): void
}

/** What a heads exchange found. */
export interface HeadsOutcome {
  /** Records pulled because the peer had more. */
  pulled: number
  /** The peer's counter for each log it holds; absent when our heads were equal. */
  theirs?: Map<LogID, number>
}

export interface SyncOps {
  request<T extends Response['type']>(thread: ThreadState, peer: string, body: DistributiveAuthless, expect: T[], options?: SignalOptions): Promise<Extract<Response, { type: T }>>
  fetchLogs(thread: ThreadState, peer: string, options?: SignalOptions): Promise<WireLog[]>
  pull(thread: ThreadState, peer: string, options?: ProgressOptions): Promise<number>
  exchangeHeads(thread: ThreadState, peer: string, options?: ProgressOptions): Promise<HeadsOutcome>
  /** Push one record; announce its log first if the peer does not know it. */
  pushRecord(thread: ThreadState, peer: string, log: LogID, counter: number, blocks: RecordBlocks, options?: SignalOptions): Promise<void>
  /** Push our own records after `after`, oldest first, at most `limit`. Returns how many were taken. */
  pushOwn(thread: ThreadState, peer: string, after: number, limit: number, options?: SignalOptions): Promise<number>
  /** Announce a log; with `serviceKey` this hands the thread to a replicator. */
  announce(thread: ThreadState, peer: string, wire: WireLog, serviceKey?: Uint8Array, options?: SignalOptions): Promise<void>
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

  const ops: SyncOps = {
    async request(thread, peer, body, expect, options = {}) {
      const signal = signalOf(options.signal)
      return await limiter.run(peer, async () => {
        signal.throwIfAborted()
        const session = await sessions.get(peer, { signal, ...(options.force === true ? { force: true } : {}) })
        return await session.request({ ...body, ...authFor(thread, peer) } as RequestBody, expect, { timeoutMs: init.requestTimeoutMs, signal })
      })
    },

    async fetchLogs(thread, peer, options = {}) {
      const res = await ops.request(thread, peer, { type: 'getLogs' }, ['logs'], options)
      for (const l of res.logs) {
        try {
          await registry.learnLog(thread, l)
        } catch (err) {
          if (!(err instanceof InvalidMessageError)) throw err
          const s = sessions.current(peer)
          init.strike(peer, s?.remoteAddr ?? '', err.message)
          throw err
        }
      }
      return res.logs
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
      const own = thread.own?.id
      if (res.same) {
        if (own != null) init.delivered(thread, peer, ours.get(own) ?? 0)
        return { pulled: 0 }
      }
      const theirs = new Map<LogID, number>()
      let behind = false
      for (const h of res.heads) {
        let id: LogID
        try { id = logIdOf(h.id) } catch { continue }
        theirs.set(id, h.counter)
        if (h.counter > (ours.get(id) ?? 0) || !ours.has(id)) behind = true
      }
      if (own != null) init.delivered(thread, peer, theirs.get(own) ?? 0)
      const pulled = behind ? await ops.pull(thread, peer, options) : 0
      return { pulled, theirs }
    },

    async pushRecord(thread, peer, log, counter, blocks, options = {}) {
      const send = async (): Promise<void> => {
        await ops.request(thread, peer, { type: 'pushRecord', log: logIdBytes(log), counter, blocks: blocksToWire(blocks) }, ['ok'], options)
      }
      try {
        await send()
      } catch (err) {
        if (!(err instanceof RemoteError) || err.remoteCode !== 'LOG_NOT_FOUND') throw err
        const wire = (await wireLogs(registry, thread)).find((l) => logIdOf(l.id) === log)
        if (wire == null) throw err
        await ops.announce(thread, peer, wire, undefined, options)
        await send()
      }
      if (thread.own?.id === log) init.delivered(thread, peer, counter)
    },

    async pushOwn(thread, peer, after, limit, options = {}) {
      const own = thread.own
      if (own == null) return 0
      let pushed = 0
      const entries = []
      for await (const entry of init.ingest.read(thread, own.id, { after, limit, signal: signalOf(options.signal) })) entries.push(entry)
      for (const entry of entries) {
        await ops.pushRecord(thread, peer, own.id, entry.counter, entry.blocks, options)
        pushed++
      }
      return pushed
    },

    async announce(thread, peer, wire, serviceKey, options = {}) {
      await ops.request(thread, peer, { type: 'pushLog', log: wire, ...(serviceKey != null ? { serviceKey } : {}) }, ['ok'], options)
    }
  }

  async function pullRecords(thread: ThreadState, peer: string, options: ProgressOptions): Promise<number> {
    const remoteLogs = await ops.fetchLogs(thread, peer, options)
    const ours = new Map((await registry.heads(thread)).map((l) => [l.id as string, l.head.counter]))
    let expected = 0
    for (const l of remoteLogs) {
      const mine = ours.get(logIdOf(l.id)) ?? 0
      if (l.counter > mine) expected += l.counter - mine
    }
    const progress: SyncProgress = { thread: thread.id, peer, fetched: 0, expected }
    if (expected === 0) return 0
    init.catchUp.set(thread.id, progress)
    options.onProgress?.({ ...progress })
    const signal = signalOf(options.signal)
    try {
      let more = true
      while (more) {
        more = false
        const logs = (await registry.heads(thread)).map((l) => ({ id: logIdBytes(l.id), after: l.head.counter }))
        const fetched = await limiter.run(peer, async () => {
          const session = await sessions.get(peer, { signal, ...(options.force === true ? { force: true } : {}) })
          const from = { peer, remoteAddr: session.remoteAddr }
          let count = 0
          let batch: { log: LogID; first: number; blocks: RecordBlocks[] } | undefined
          const flush = async (): Promise<void> => {
            if (batch == null || batch.blocks.length === 0) return
            const b = batch
            batch = undefined
            try {
              const r = await init.ingest.append(thread, b.log, b.first, b.blocks, from)
              progress.fetched += r.appended
            } catch (err) {
              if (err instanceof RecordRejectedError) {
                progress.fetched += err.appended
                if (err.proof) init.strike(peer, session.remoteAddr, err.message)
              }
              throw err
            } finally {
              options.onProgress?.({ ...progress })
            }
          }
          const frames = session.stream({ type: 'getRecords', ...authFor(thread, peer), logs, limit: init.pullBatchSize }, {
            timeoutMs: init.requestTimeoutMs, signal, window: init.windowBytes
          })
          try {
            for await (const frame of frames) {
              if (frame.type === 'end') { more = frame.more; break }
              let log: LogID
              try { log = logIdOf(frame.log) } catch (err) {
                init.strike(peer, session.remoteAddr, 'record frame with a bad log ID')
                throw new InvalidMessageError('record frame with a bad log ID', { cause: err })
              }
              const blocks = await blocksFromWire(frame.blocks)
              if (batch != null && (batch.log !== log || batch.first + batch.blocks.length !== frame.counter || batch.blocks.length >= init.ingestBatchSize)) {
                await flush()
              }
              batch ??= { log, first: frame.counter, blocks: [] }
              batch.blocks.push(blocks)
              count++
            }
          } catch (err) {
            // The stream failed: keep the records that did arrive (the next pull asks from there).
            await flush().catch(() => undefined)
            throw err
          }
          await flush()
          return count
        })
        if (fetched === 0) more = false
      }
      return progress.fetched
    } finally {
      if (init.catchUp.get(thread.id) === progress) init.catchUp.delete(thread.id)
    }
  }

  return ops
}

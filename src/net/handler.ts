/**
 * The protocol handler: serves the requests peers send on sessions. A request must name a thread
 * we hold under its key ID and prove the service key; otherwise it gets `UNAUTHORIZED` — the same
 * answer whether or not the thread exists (and whether a replicator's policy refused a hand-over).
 * Such requests are rate-limited per session and per remote IP. Data that is provably malformed or
 * forged earns the sender a strike; nothing else does.
 */
import { toHex } from '../core/index.js'
import type { Logger } from '../core/logger.js'
import { threadIDFromBytes } from '../core/index.js'
import type { LogID, ThreadID } from '../core/types.js'
import { admit, admissionErrorCode, AdmissionRefusedError, QuotaExceededError, type Admission } from './admission.js'
import { authProof, proofsEqual } from './auth.js'
import { GapError, InvalidMessageError, LogUnknownError, RecordRejectedError, RequestRefusedError } from './errors.js'
import { blocksFromWire, blocksToWire, recordBytes, type Ingest } from './ingest.js'
import type { KeyedMutex } from './limiter.js'
import type { Request, WireLog } from './messages.js'
import type { Penalties } from './penalties.js'
import type { ThreadRegistry, ThreadState } from './registry.js'
import type { Responder, Session } from './session.js'
import type { Timers } from './timers.js'
import type { NetRecord, NetStats } from './types.js'
import { logIdBytes, logIdOf, wireLogsPage } from './wire.js'

export interface HandlerHooks {
  /** Take a log a peer described (its signed addresses, its fork proof). InvalidMessageError for forged data. */
  learn(thread: ThreadState, wire: WireLog, from: string): Promise<{ added: boolean }>
  /** The peer lacks the proof of a fork of `log`: send it. */
  passProof(thread: ThreadState, peer: string, log: LogID): void
  /** The peer's copy of `log` differs from ours at or before `counter`: look for the fork with it. */
  diverged(thread: ThreadState, peer: string, log: LogID, counter: number): void
  /** The peer may hold records we lack: sync with it soon. */
  syncSoon(thread: ThreadState, peer: string): void
  /** A record pushed to us was new: pass it on to the thread's other connected peers. */
  forward(thread: ThreadState, record: NetRecord, from: string): void
  /** A log new to us arrived from `from`: let the other connected thread peers know. */
  gossip(thread: ThreadState, from: string): void
  /** `peer` holds our log `log` up to `counter`. */
  delivered(thread: ThreadState, peer: string, log: LogID, counter: number): void
  /** The peer was banned: drop its connections. */
  banned(peer: string): void
}

export interface HandlerInit {
  registry: ThreadRegistry
  ingest: Ingest
  penalties: Penalties
  admission: Admission
  stats: NetStats
  timers: Timers
  log: Logger
  /** Our peer ID's multihash bytes (the responder in every proof we check). */
  selfBytes: Uint8Array
  /** A peer ID's multihash bytes. */
  peerBytes(peer: string): Uint8Array
  /** Adopt threads handed over with their service key. */
  replicator: boolean
  /** Pushes of one log are served in arrival order. */
  pushOrder: KeyedMutex
  /** Requests for threads we do not hold, per session, in a burst / per second. @default 16 / 1 */
  unknownBurst?: number
  hooks: HandlerHooks
  /** Told of every strike (monitoring). */
  onStrike?: (peer: string, reason: string) => void
}

export interface ProtocolHandler {
  serve(session: Session, req: Request, responder: Responder): Promise<void>
  /** Count a proven violation by the peer of `session` (and ban it at the limit). */
  strike(peer: string, remoteAddr: string, reason: string): void
}

const UNAUTHORIZED = 'unauthorized'

function unauthorized(): RequestRefusedError {
  return new RequestRefusedError('UNAUTHORIZED', UNAUTHORIZED)
}

export function createProtocolHandler(init: HandlerInit): ProtocolHandler {
  const { registry, penalties, stats, hooks, log } = init
  const unknownBurst = init.unknownBurst ?? 16
  const unknownBuckets = new WeakMap<Session, { tokens: number; at: number }>()

  function strike(peer: string, remoteAddr: string, reason: string): void {
    stats.rejected++
    log('strike for %s: %s', peer, reason)
    try { init.onStrike?.(peer, reason) } catch (err) { log('onStrike failed: %s', (err as Error).message) }
    if (penalties.strike(peer, remoteAddr, reason)) {
      log('banning %s after repeated proven violations', peer)
      hooks.banned(peer)
    }
  }

  /** A request we cannot authorise: count it against the session and the IP. */
  function unknown(session: Session): RequestRefusedError {
    const now = init.timers.now()
    const b = unknownBuckets.get(session) ?? { tokens: unknownBurst, at: now }
    b.tokens = Math.min(unknownBurst, b.tokens + (now - b.at) / 1000)
    b.at = now
    unknownBuckets.set(session, b)
    const ipOk = penalties.unknownThread(session.peer, session.remoteAddr)
    if (b.tokens < 1 || !ipOk) return new RequestRefusedError('BUSY', 'too many requests for unknown threads')
    b.tokens -= 1
    return unauthorized()
  }

  /** The proof `peer` must send for a thread we hold (cached: it never changes). */
  const proofs = new Map<string, Uint8Array>()
  function proofFrom(state: ThreadState, peer: string): Uint8Array {
    const key = `${state.storeId}|${peer}`
    let proof = proofs.get(key)
    if (proof == null) {
      proof = authProof(state.key.service, state.idBytes, init.peerBytes(peer), init.selfBytes)
      if (proofs.size >= 10_000) proofs.clear()
      proofs.set(key, proof)
    }
    return proof
  }

  async function authorise(session: Session, req: Request): Promise<ThreadState> {
    const state = await registry.find(req.thread, req.kid)
    if (state == null || !proofsEqual(proofFrom(state, session.peer), req.auth)) throw unknown(session)
    penalties.trust(session.peer)
    registry.proven(state, session.peer)
    return state
  }

  function refusalOf(err: QuotaExceededError | AdmissionRefusedError, peer: string): RequestRefusedError {
    log('request from %s refused by policy: %s', peer, err.message)
    const code = admissionErrorCode(err)
    return new RequestRefusedError(code, code === 'UNAUTHORIZED' ? UNAUTHORIZED : err.message)
  }

  /** A replicator takes a thread handed over with its service key, when the proof verifies under it. */
  async function adopt(session: Session, req: Extract<Request, { type: 'pushLog' }>): Promise<ThreadState> {
    const serviceKey = req.serviceKey
    if (serviceKey == null || !init.replicator) throw unknown(session)
    let id: ThreadID
    try { id = threadIDFromBytes(req.thread) } catch { throw unknown(session) }
    const expected = authProof(serviceKey, req.thread, init.peerBytes(session.peer), init.selfBytes)
    if (!proofsEqual(expected, req.auth)) throw unknown(session)
    try {
      const state = await registry.adopt(id, serviceKey, async (account) => {
        await admit(() => init.admission.adoptThread({ thread: id, account, peer: session.peer, remoteAddr: session.remoteAddr }))
      })
      penalties.trust(session.peer)
      return state
    } catch (err) {
      if (err instanceof QuotaExceededError || err instanceof AdmissionRefusedError) throw refusalOf(err, session.peer)
      throw err
    }
  }

  function badRequest(session: Session, message: string): RequestRefusedError {
    strike(session.peer, session.remoteAddr, message)
    return new RequestRefusedError('BAD_REQUEST', message)
  }

  async function pushRecord(session: Session, req: Extract<Request, { type: 'pushRecord' }>, responder: Responder): Promise<void> {
    const t = await authorise(session, req)
    let log: LogID
    try { log = logIdOf(req.log) } catch { throw badRequest(session, 'bad log ID') }
    if (!t.logKeys.has(log)) throw new RequestRefusedError('LOG_NOT_FOUND', 'log not found')
    try {
      const blocks = await blocksFromWire(req.blocks)
      const result = await init.ingest.append(t, log, req.counter, [blocks], { peer: session.peer, remoteAddr: session.remoteAddr })
      if (result.appended > 0) {
        hooks.forward(t, { thread: t.id, log, cid: blocks.record.cid, counter: req.counter, blocks, origin: 'remote' }, session.peer)
      }
      if (result.dropped > 0 || result.forked !== undefined) {
        // The log is frozen here: the sender lacks the proof (or just gave it to us). Never its fault.
        hooks.passProof(t, session.peer, log)
        throw new RequestRefusedError('INVALID_RECORD', `log ${log} is frozen at record ${t.frozen.get(log) ?? result.forked}: its owner signed two records there`)
      }
      if (result.diverged !== undefined) {
        hooks.diverged(t, session.peer, log, result.diverged)
        throw new RequestRefusedError('INVALID_RECORD', `record ${req.counter} of log ${log} does not follow our copy of the log`)
      }
    } catch (err) {
      if (err instanceof RequestRefusedError) throw err
      if (err instanceof GapError) {
        hooks.syncSoon(t, session.peer)
        throw new RequestRefusedError('GAP', err.message)
      }
      if (err instanceof LogUnknownError) throw new RequestRefusedError('LOG_NOT_FOUND', err.message)
      if (err instanceof QuotaExceededError || err instanceof AdmissionRefusedError) throw refusalOf(err, session.peer)
      if (err instanceof RecordRejectedError) {
        if (err.proof) strike(session.peer, session.remoteAddr, err.message)
        throw new RequestRefusedError('INVALID_RECORD', err.message)
      }
      throw err
    }
    await responder.reply({ type: 'ok' })
  }

  async function getRecords(session: Session, req: Extract<Request, { type: 'getRecords' }>, responder: Responder): Promise<void> {
    const t = await authorise(session, req)
    const after = new Map<string, number>()
    for (const l of req.logs) {
      try { after.set(logIdOf(l.id), l.after) } catch { throw badRequest(session, 'bad log ID') }
    }
    let budget = req.limit
    let more = false
    const servedOwn = new Map<LogID, number>()
    for (const log of await registry.heads(t)) {
      if (req.only === true && !after.has(log.id)) continue
      const from = after.get(log.id) ?? 0
      if (log.head.counter <= from) continue
      if (budget === 0) { more = true; break }
      const logBytes = logIdBytes(log.id)
      let last = from
      for await (const entry of init.ingest.read(t, log.id, { after: from, limit: budget, signal: responder.signal })) {
        await responder.record({ log: logBytes, counter: entry.counter, blocks: blocksToWire(entry.blocks) })
        stats.recordsServed++
        stats.bytesServed += recordBytes(entry.blocks)
        budget--
        last = entry.counter
      }
      if (t.owns.has(log.id) && last > 0) servedOwn.set(log.id, last)
      if (last < log.head.counter) more = true
    }
    await responder.reply({ type: 'end', more })
    // The peer has taken our logs up to here: those records no longer wait to be pushed.
    for (const [l, c] of servedOwn) hooks.delivered(t, session.peer, l, c)
  }

  async function serveOne(session: Session, req: Request, responder: Responder): Promise<void> {
    switch (req.type) {
      case 'getLogs': {
        const t = await authorise(session, req)
        const page = await wireLogsPage(registry, t, req.after)
        await responder.reply({ type: 'logs', logs: page.logs, ...(page.more ? { more: true } : {}) })
        return
      }
      case 'pushLog': {
        const known = await registry.find(req.thread, req.kid)
        const t = known != null && proofsEqual(proofFrom(known, session.peer), req.auth)
          ? known
          : await adopt(session, req)
        penalties.trust(session.peer)
        registry.proven(t, session.peer)
        let isNew: boolean
        try {
          isNew = (await hooks.learn(t, req.log, session.peer)).added
        } catch (err) {
          if (err instanceof InvalidMessageError) throw badRequest(session, err.message)
          if ((err as Error).name === 'LimitExceededError') throw new RequestRefusedError('QUOTA_EXCEEDED', (err as Error).message)
          throw err
        }
        await responder.reply({ type: 'ok' })
        if (req.log.counter > 0) hooks.syncSoon(t, session.peer)
        if (isNew) hooks.gossip(t, session.peer)
        return
      }
      case 'heads': {
        const t = await authorise(session, req)
        const view = await registry.headsView(t)
        const same = proofsEqual(view.digest, req.digest)
        await responder.reply({ type: 'heads', same, heads: same ? [] : view.wire })
        stats.headsAnswered++
        // They differ: the peer may have what we lack, so look too.
        if (!same) hooks.syncSoon(t, session.peer)
        return
      }
      case 'getRecords':
        await getRecords(session, req, responder)
        return
      case 'pushRecord':
        await pushRecord(session, req, responder)
    }
  }

  return {
    strike,
    async serve(session, req, responder) {
      // Pushes of one log are taken in the order they arrived (this runs at arrival, before any await).
      if (req.type === 'pushRecord') {
        const key = `${toHex(req.thread)}/${toHex(req.kid)}/${toHex(req.log)}`
        await init.pushOrder.run(key, async () => { await serveOne(session, req, responder) })
        return
      }
      await serveOne(session, req, responder)
    }
  }
}

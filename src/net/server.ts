/**
 * The server side of `/weft/net/1.0.0`: one request per stream, checked, answered, closed.
 * A peer that cannot prove the service key gets `UNAUTHORIZED` whether or not we know the thread.
 * Protocol violations (garbage frames, oversized frames, invalid records) reset the stream and
 * earn the peer a strike; at `maxStrikes` it is disconnected and refused for a while.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { threadIDFromBytes } from '../core/thread-id.js'
import { logIDFromBytes, logIDToBytes } from '../core/log-id.js'
import { headsDigest, proofsEqual } from './auth.js'
import type { NetContext, ThreadState } from './context.js'
import { admissionErrorCode, admit, AdmissionRefusedError, QuotaExceededError } from './admission.js'
import { GapError, InvalidMessageError, LogUnknownError } from './errors.js'
import { blocksFromWire, blocksToWire, ingestRecords } from './ingest.js'
import { decodeRequest, type ErrorCode, type Request, type Response } from './messages.js'
import { serverStream, type ServerStream } from './rpc.js'
import { checkAuth, learnLog, wireHeads, wireLogs } from './sync.js'
import type { LogID, ThreadID } from '../core/types.js'

export interface ServerHooks {
  /** Something we heard says this peer has records we lack: sync with it soon. */
  scheduleSync(thread: ThreadID, peer: PeerId): void
  /** A replicator was handed a thread it did not know. */
  adoptThread(thread: ThreadID, serviceKey: Uint8Array): Promise<ThreadState>
}

const BAN_MS = 10 * 60_000

class Refusal extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly strike = false) { super(message) }
}

export function createProtocolHandler(ctx: NetContext, hooks: ServerHooks): {
  handle(stream: Stream, connection: Connection): Promise<void>
  isBanned(peer: string): boolean
  /** Wait until every request being served has finished (used by stop). */
  drain(): Promise<void>
} {
  const inFlight = new Set<Promise<void>>()
  const strikes = new Map<string, number>()
  const banned = new Map<string, number>()

  function isBanned(peer: string): boolean {
    const until = banned.get(peer)
    if (until == null) return false
    if (until < Date.now()) { banned.delete(peer); return false }
    return true
  }

  function strike(peer: PeerId, reason: string): void {
    const id = peer.toString()
    const n = (strikes.get(id) ?? 0) + 1
    strikes.set(id, n)
    ctx.stats.rejected++
    ctx.log('strike %d for %s: %s', n, id, reason)
    if (n >= ctx.init.maxStrikes) {
      strikes.delete(id)
      banned.set(id, Date.now() + BAN_MS)
      ctx.log('disconnecting %s after %d protocol violations', id, n)
      void ctx.libp2p.hangUp(peer).catch((err: Error) => { ctx.log.error('hang up %s failed: %s', id, err.message) })
    }
  }

  async function thread(req: Request, from: PeerId): Promise<ThreadState> {
    let id: ThreadID
    try {
      id = threadIDFromBytes(req.thread)
    } catch {
      throw new Refusal('UNAUTHORIZED', 'unauthorized')
    }
    let state: ThreadState
    try {
      state = await ctx.getThreadState(id)
    } catch {
      throw new Refusal('UNAUTHORIZED', 'unauthorized')
    }
    if (!checkAuth(ctx, state.key.service, req.thread, from, req.auth)) throw new Refusal('UNAUTHORIZED', 'unauthorized')
    return state
  }

  /** A refusal by policy: quotas say so, anything else looks exactly like a wrong key. */
  function refusalOf(err: QuotaExceededError | AdmissionRefusedError, from: PeerId): Refusal {
    ctx.log('request from %s refused by policy: %s', from.toString(), err.message)
    const code = admissionErrorCode(err)
    return new Refusal(code, code === 'UNAUTHORIZED' ? 'unauthorized' : err.message)
  }

  async function serve(s: ServerStream, req: Request, from: PeerId, remoteAddr: string): Promise<void> {
    switch (req.type) {
      case 'getLogs': {
        const t = await thread(req, from)
        await s.write({ type: 'logs', logs: await wireLogs(ctx, t.id) })
        return
      }
      case 'pushLog': {
        let t: ThreadState
        try {
          t = await thread(req, from)
        } catch (err) {
          // A replicator adopts a thread handed over with its service key.
          if (!(err instanceof Refusal) || req.serviceKey == null || !ctx.init.replicator) throw err
          if (!checkAuth(ctx, req.serviceKey, req.thread, from, req.auth)) throw err
          let id: ThreadID
          try { id = threadIDFromBytes(req.thread) } catch { throw err }
          try {
            await admit(() => ctx.admission.adoptThread({ thread: id, peer: from.toString(), remoteAddr }))
          } catch (refusal) {
            throw refusalOf(refusal as QuotaExceededError | AdmissionRefusedError, from)
          }
          t = await hooks.adoptThread(id, req.serviceKey)
          if (!proofsEqual(t.key.service, req.serviceKey)) throw err
        }
        let isNew: boolean
        try {
          isNew = await learnLog(ctx, t, req.log)
        } catch (err) {
          if (err instanceof InvalidMessageError) throw new Refusal('BAD_REQUEST', err.message, true)
          throw err
        }
        await s.write({ type: 'ok' })
        if (req.log.counter > 0) hooks.scheduleSync(t.id, from)
        if (isNew) ctx.gossip(t.id, from)
        return
      }
      case 'heads': {
        const t = await thread(req, from)
        const heads = await wireHeads(ctx, t.id)
        const same = proofsEqual(headsDigest(heads), req.digest)
        await s.write({ type: 'heads', same, heads: same ? [] : heads })
        ctx.stats.headsAnswered++
        // They differ: the peer may have what we lack, so look too.
        if (!same) hooks.scheduleSync(t.id, from)
        return
      }
      case 'getRecords': {
        const t = await thread(req, from)
        const after = new Map<string, number>()
        for (const l of req.logs) {
          try { after.set(logIDFromBytes(l.id), l.after) } catch { throw new Refusal('BAD_REQUEST', 'bad log ID', true) }
        }
        let budget = req.limit
        let more = false
        let ownServedTo = 0
        for (const log of await ctx.store.listLogs(t.id)) {
          const from = after.get(log.id) ?? 0
          if (log.head.counter <= from) continue
          if (budget === 0) { more = true; break }
          const logBytes = logIDToBytes(log.id)
          let last = from
          for await (const entry of ctx.store.readLog(t.id, log.id, { after: from, limit: budget })) {
            const blocks = entry.blocks
            await s.write({ type: 'record', log: logBytes, counter: entry.counter, blocks: blocksToWire(blocks) })
            ctx.stats.recordsServed++
            for (const b of [blocks.record, blocks.event, blocks.header, blocks.body]) ctx.stats.bytesServed += b.bytes.byteLength
            budget--
            last = entry.counter
          }
          if (t.own?.id === log.id) ownServedTo = last
          if (last < log.head.counter) more = true
        }
        await s.write({ type: 'end', more })
        // The peer has taken our log up to here: those records no longer wait to be pushed.
        if (t.own != null && ownServedTo > 0) ctx.delivered(t.id, t.own.id, ownServedTo)
        return
      }
      case 'pushRecord': {
        const t = await thread(req, from)
        let log: LogID
        try { log = logIDFromBytes(req.log) } catch { throw new Refusal('BAD_REQUEST', 'bad log ID', true) }
        if (!t.logKeys.has(log)) throw new Refusal('LOG_NOT_FOUND', 'log not found')
        try {
          const blocks = await blocksFromWire(req.blocks)
          const result = await ingestRecords(ctx, t, log, req.counter, [blocks], { peer: from.toString(), remoteAddr })
          if (result.appended > 0) {
            ctx.forward(t, { thread: t.id, log, cid: blocks.record.cid, counter: req.counter, blocks, origin: 'remote' }, from)
          }
        } catch (err) {
          if (err instanceof GapError) {
            hooks.scheduleSync(t.id, from)
            throw new Refusal('GAP', err.message)
          }
          if (err instanceof LogUnknownError) throw new Refusal('LOG_NOT_FOUND', err.message)
          if (err instanceof QuotaExceededError || err instanceof AdmissionRefusedError) throw refusalOf(err, from)
          const name = (err as Error).name
          if (['InvalidBlockError', 'InvalidRecordError', 'BadSignatureError', 'DecryptionError', 'PrevLinkMismatchError', 'OversizedInputError', 'HeadMismatchError'].includes(name)) {
            // A single-writer log cannot fork: a record at our head + 1 that does not verify or link
            // to our head is hostile (or broken), never a race.
            throw new Refusal('INVALID_RECORD', `${name}: ${(err as Error).message}`, true)
          }
          throw err
        }
        await s.write({ type: 'ok' })
      }
    }
  }

  async function handle(stream: Stream, connection: Connection): Promise<void> {
    const p = handleOne(stream, connection)
    inFlight.add(p)
    try { await p } finally { inFlight.delete(p) }
  }

  async function drain(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight])
  }

  async function handleOne(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer
    if (isBanned(from.toString())) {
      stream.abort(new Error('banned'))
      return
    }
    const s = serverStream(stream, ctx.init.streamTimeoutMs)
    let req: Request
    try {
      const frame = await s.lp.read({ signal: AbortSignal.timeout(ctx.init.streamTimeoutMs) })
      req = decodeRequest(frame.subarray())
    } catch (err) {
      const e = err instanceof InvalidMessageError ? err : new InvalidMessageError('unreadable request', { cause: err })
      strike(from, e.message)
      stream.abort(e)
      return
    }
    try {
      await serve(s, req, from, connection.remoteAddr.toString())
      await stream.close({ signal: AbortSignal.timeout(ctx.init.streamTimeoutMs) })
    } catch (err) {
      if (err instanceof Refusal) {
        if (err.strike) strike(from, err.message)
        const res: Response = { type: 'error', code: err.code, message: err.message.slice(0, 512) }
        try {
          await s.write(res)
          await stream.close({ signal: AbortSignal.timeout(ctx.init.streamTimeoutMs) })
        } catch {
          stream.abort(err)
        }
        return
      }
      ctx.log('request %s from %s failed: %s', req.type, from.toString(), (err as Error).message)
      stream.abort(err as Error)
    }
  }

  return { handle, isBanned, drain }
}

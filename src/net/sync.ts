/**
 * The client side of sync: exchange heads, pull missing records (streamed, in log order, in
 * bounded batches, resuming from our persisted heads after any interruption), push new records
 * and announce logs. Work per peer is bounded by the context's limiter; one sync per
 * (thread, peer) runs at a time and a request made meanwhile runs once more after it.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import { logIDFromBytes, logIDToBytes, logIDToPublicKey } from '../core/log-id.js'
import { publicKeyFromBytes, publicKeyToBytes } from '../core/identity.js'
import type { RecordBlocks } from '../core/record.js'
import type { LogID, ThreadID } from '../core/types.js'
import { authProof, headsDigest, proofsEqual } from './auth.js'
import type { NetContext, ThreadState } from './context.js'
import { InvalidMessageError, RemoteError } from './errors.js'
import { blocksFromWire, blocksToWire, ingestRecords } from './ingest.js'
import type { WireHead, WireLog } from './messages.js'
import { openExchange, request } from './rpc.js'
import type { ProgressOptions, SyncProgress } from './types.js'

export function selfAuth(ctx: NetContext, thread: ThreadState, peer: PeerId): Uint8Array {
  return authProof(thread.key.service, thread.idBytes, ctx.selfBytes, peer.toMultihash().bytes)
}

/** Check a proof a peer sent us for a thread whose service key is `serviceKey`. */
export function checkAuth(ctx: NetContext, serviceKey: Uint8Array, threadBytes: Uint8Array, from: PeerId, proof: Uint8Array): boolean {
  return proofsEqual(authProof(serviceKey, threadBytes, from.toMultihash().bytes, ctx.selfBytes), proof)
}

/** Our logs of a thread as peers see them (no private keys). */
export async function wireLogs(ctx: NetContext, thread: ThreadID): Promise<WireLog[]> {
  const logs = await ctx.store.listLogs(thread)
  return logs.map((l) => {
    const w: WireLog = { id: logIDToBytes(l.id), pubKey: l.publicKey, addrs: l.addrs, counter: l.head.counter }
    if (l.head.cid != null) w.head = l.head.cid
    return w
  })
}

export async function wireHeads(ctx: NetContext, thread: ThreadID): Promise<WireHead[]> {
  const logs = await ctx.store.listLogs(thread)
  return logs.map((l) => {
    const h: WireHead = { id: logIDToBytes(l.id), counter: l.head.counter }
    if (l.head.cid != null) h.head = l.head.cid
    return h
  })
}

/** Peers that hold logs of the thread, from the logs' addresses, without us. */
export async function threadPeers(ctx: NetContext, thread: ThreadID): Promise<string[]> {
  const cached = ctx.peerCache.get(thread)
  if (cached != null) return cached
  const self = ctx.self.toString()
  const peers = new Set<string>()
  for (const log of await ctx.store.listLogs(thread)) {
    for (const a of log.addrs) {
      const at = a.lastIndexOf('/p2p/')
      if (at < 0) continue
      const id = a.slice(at + 5)
      if (id !== self && id !== '') peers.add(id)
    }
  }
  const list = [...peers]
  ctx.peerCache.set(thread, list)
  return list
}

/** Tell libp2p how to dial the peers named in log addresses. */
export async function rememberAddrs(ctx: NetContext, addrs: string[]): Promise<void> {
  const byPeer = new Map<string, string[]>()
  for (const a of addrs) {
    const at = a.lastIndexOf('/p2p/')
    if (at <= 0) continue
    const id = a.slice(at + 5)
    if (id === ctx.self.toString()) continue
    byPeer.set(id, [...(byPeer.get(id) ?? []), a])
  }
  for (const [id, list] of byPeer) {
    try {
      await ctx.libp2p.peerStore.merge(peerIdFromString(id), { multiaddrs: list.map((s) => multiaddr(s)) })
    } catch (err) {
      ctx.log('ignoring addresses of %s: %s', id, (err as Error).message)
    }
  }
}

/** Add a log a peer told us about (or merge its addresses). Returns true when it was new. */
export async function learnLog(ctx: NetContext, thread: ThreadState, wire: WireLog): Promise<boolean> {
  let id: LogID
  try {
    id = logIDFromBytes(wire.id)
    const fromId = logIDToPublicKey(id)
    const given = publicKeyFromBytes(wire.pubKey)
    if (publicKeyToBytes(fromId).some((b, i) => b !== publicKeyToBytes(given)[i])) throw new Error('public key does not match the log ID')
  } catch (err) {
    throw new InvalidMessageError('log announcement with a bad ID or key', { cause: err })
  }
  await rememberAddrs(ctx, wire.addrs)
  if (thread.logKeys.has(id)) {
    if (wire.addrs.length > 0) {
      await ctx.store.addAddrs(thread.id, id, wire.addrs)
      ctx.peerCache.delete(thread.id)
    }
    return false
  }
  try {
    await ctx.store.addLog(thread.id, { id, publicKey: wire.pubKey, addrs: wire.addrs })
  } catch (err) {
    if ((err as Error).name !== 'LogExistsError') throw err
  } finally {
    ctx.peerCache.delete(thread.id)
  }
  thread.logKeys.set(id, logIDToPublicKey(id))
  return true
}

/** Fetch the peer's logs of a thread and add the ones we lack. */
export async function fetchLogs(ctx: NetContext, thread: ThreadState, peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<WireLog[]> {
  const res = await ctx.limiter.run(peer.toString(), async () => await request(ctx.libp2p, peer, {
    type: 'getLogs', thread: thread.idBytes, auth: selfAuth(ctx, thread, peer)
  }, { timeoutMs: ctx.init.requestTimeoutMs, ...signalOf(ctx, options.signal) }))
  if (res.type !== 'logs') throw new InvalidMessageError(`expected logs, got ${res.type}`)
  for (const l of res.logs) await learnLog(ctx, thread, l)
  return res.logs
}

/** The remote address of our open connection to a peer (for per-IP admission), or '' when none. */
function remoteAddrOf(ctx: NetContext, peer: PeerId): string {
  return ctx.libp2p.getConnections(peer).find((c) => c.status === 'open')?.remoteAddr.toString() ?? ''
}

function signalOf(ctx: NetContext, signal: AbortSignal | undefined): { signal: AbortSignal } {
  return { signal: signal == null ? ctx.shutdown : AbortSignal.any([signal, ctx.shutdown]) }
}

/**
 * Pull every record the peer has and we lack, streaming, until the peer says there is no more.
 * Safe to interrupt at any point: what was appended stays, and the next pull asks from there.
 */
export async function pullFrom(ctx: NetContext, thread: ThreadState, peer: PeerId, options: ProgressOptions = {}): Promise<number> {
  const logsBefore = thread.logKeys.size
  const pulled = await pullRecords(ctx, thread, peer, options)
  if (pulled > 0 || thread.logKeys.size > logsBefore) ctx.gossip(thread.id, peer)
  return pulled
}

async function pullRecords(ctx: NetContext, thread: ThreadState, peer: PeerId, options: ProgressOptions): Promise<number> {
  const remoteLogs = await fetchLogs(ctx, thread, peer, options)
  const ours = new Map((await ctx.store.listLogs(thread.id)).map((l) => [l.id as string, l.head.counter]))
  let expected = 0
  for (const l of remoteLogs) {
    const mine = ours.get(logIDFromBytes(l.id)) ?? 0
    if (l.counter > mine) expected += l.counter - mine
  }
  const progress: SyncProgress = { thread: thread.id, peer: peer.toString(), fetched: 0, expected }
  if (expected === 0) return 0
  ctx.catchUp.set(thread.id, progress)
  options.onProgress?.({ ...progress })
  try {
    let more = true
    while (more) {
      more = false
      const logs = (await ctx.store.listLogs(thread.id)).map((l) => ({ id: logIDToBytes(l.id), after: l.head.counter }))
      const fetched = await ctx.limiter.run(peer.toString(), async () => {
        const ex = await openExchange(ctx.libp2p, peer, {
          type: 'getRecords', thread: thread.idBytes, auth: selfAuth(ctx, thread, peer), logs, limit: ctx.init.pullBatchSize
        }, { timeoutMs: ctx.init.requestTimeoutMs * 6, ...signalOf(ctx, options.signal) })
        let count = 0
        let batch: { log: LogID; first: number; blocks: RecordBlocks[] } | undefined
        const flush = async (): Promise<void> => {
          if (batch == null || batch.blocks.length === 0) return
          const b = batch
          batch = undefined
          const r = await ingestRecords(ctx, thread, b.log, b.first, b.blocks, { peer: peer.toString(), remoteAddr: remoteAddrOf(ctx, peer) })
          progress.fetched += r.appended
          options.onProgress?.({ ...progress })
        }
        try {
          while (true) {
            const frame = await ex.read()
            if (frame.type === 'end') { more = frame.more; break }
            if (frame.type === 'error') throw new RemoteError(frame.code, frame.message)
            if (frame.type !== 'record') throw new InvalidMessageError(`unexpected ${frame.type} in a record stream`)
            const log = logIDFromBytes(frame.log)
            const blocks = await blocksFromWire(frame.blocks)
            if (batch != null && (batch.log !== log || batch.first + batch.blocks.length !== frame.counter || batch.blocks.length >= ctx.init.ingestBatchSize)) {
              await flush()
            }
            batch ??= { log, first: frame.counter, blocks: [] }
            batch.blocks.push(blocks)
            count++
          }
          await flush()
        } finally {
          await ex.close()
        }
        return count
      })
      if (fetched === 0) more = false
    }
    return progress.fetched
  } finally {
    if (ctx.catchUp.get(thread.id) === progress) ctx.catchUp.delete(thread.id)
  }
}

/** Compare heads with a peer; pull when they differ. Returns the number of records pulled. */
export async function exchangeHeads(ctx: NetContext, thread: ThreadState, peer: PeerId, options: ProgressOptions = {}): Promise<number> {
  const mine = await wireHeads(ctx, thread.id)
  const res = await ctx.limiter.run(peer.toString(), async () => await request(ctx.libp2p, peer, {
    type: 'heads', thread: thread.idBytes, auth: selfAuth(ctx, thread, peer), digest: headsDigest(mine)
  }, { timeoutMs: ctx.init.requestTimeoutMs, ...signalOf(ctx, options.signal) }))
  if (res.type !== 'heads') throw new InvalidMessageError(`expected heads, got ${res.type}`)
  if (thread.own != null) {
    const ownId = thread.own.id
    const theirs = res.same ? mine.find((h) => logIDFromBytes(h.id) === ownId) : res.heads.find((h) => logIDFromBytes(h.id) === ownId)
    if (theirs != null) ctx.delivered(thread.id, ownId, theirs.counter)
  }
  if (res.same) return 0
  const ours = new Map(mine.map((h) => [logIDFromBytes(h.id) as string, h.counter]))
  const behind = res.heads.some((h) => h.counter > (ours.get(logIDFromBytes(h.id)) ?? 0) || !ours.has(logIDFromBytes(h.id)))
  if (!behind) return 0
  return await pullFrom(ctx, thread, peer, options)
}

/** Announce a log to a peer; with `serviceKey` this hands the thread to a replicator. */
export async function announceLog(ctx: NetContext, thread: ThreadState, peer: PeerId, log: WireLog, serviceKey?: Uint8Array): Promise<void> {
  await ctx.limiter.run(peer.toString(), async () => await request(ctx.libp2p, peer, {
    type: 'pushLog',
    thread: thread.idBytes,
    auth: selfAuth(ctx, thread, peer),
    log,
    ...(serviceKey != null ? { serviceKey } : {})
  }, { timeoutMs: ctx.init.requestTimeoutMs, signal: ctx.shutdown }))
}

/** Push one record to one peer; announce the log first if the peer does not know it. */
export async function pushRecordTo(ctx: NetContext, thread: ThreadState, peer: PeerId, log: LogID, counter: number, blocks: RecordBlocks): Promise<void> {
  const send = async (): Promise<void> => {
    await ctx.limiter.run(peer.toString(), async () => await request(ctx.libp2p, peer, {
      type: 'pushRecord', thread: thread.idBytes, auth: selfAuth(ctx, thread, peer), log: logIDToBytes(log), counter, blocks: blocksToWire(blocks)
    }, { timeoutMs: ctx.init.requestTimeoutMs, signal: ctx.shutdown }))
  }
  try {
    await send()
  } catch (err) {
    if (!(err instanceof RemoteError) || err.remoteCode !== 'LOG_NOT_FOUND') throw err
    const wire = (await wireLogs(ctx, thread.id)).find((l) => logIDFromBytes(l.id) === log)
    if (wire == null) throw err
    await announceLog(ctx, thread, peer, wire)
    await send()
  }
}


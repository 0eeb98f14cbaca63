/**
 * The methods and streams a tab can call on the worker: the Net API (with CIDs as strings),
 * sync status, identity tokens and peer info. Each handler gets its arguments as sent and a
 * context with the call's signal (the tab's abort, the call's timeout and the tab's death,
 * combined). Further layers (the db) add their own tables through worker modules (host.ts).
 */
import { CID } from 'multiformats/cid'
import { peerIdFromString } from '@libp2p/peer-id'
import { newThreadID, parseThreadID } from '../src/core/index.js'
import type { ThreadID } from '../src/core/types.js'
import type { ArgsOf, ClientSyncStatus, PeerInfo, PeerMethods, PeerStreams, ResultOf, Untrusted } from '../src/contract/index.js'
import type { BrowserPeer } from './peer.js'
import { cloneable, toClientRecord, toClientThreadInfo } from './convert.js'
import { connectionKind, peerKind } from './connections.js'
import { toClientStatus } from './status.js'
import type { Remeeter } from './remeet.js'
import type { TokenIssuer } from './token.js'

export interface CallContext {
  signal: AbortSignal
  /** The calling tab's lifetime: aborted when the tab is gone (and one object per tab). */
  session: AbortSignal
  /** Number of tabs attached to the worker. */
  tabs: () => number
  /** Open subscriptions of all tabs. */
  streams: () => number
}

/** A method: its arguments as sent (unchecked: a tab is not trusted), its answer as the contract says. */
export type Handler<A extends readonly unknown[] = unknown[], R = unknown> = (args: Untrusted<A>, ctx: CallContext) => R | Promise<R>
/** A stream's source; an async one is awaited before the tab is told the stream is open. */
export type StreamHandler<A extends readonly unknown[] = unknown[], I = unknown> = (args: Untrusted<A>, ctx: CallContext) => AsyncIterable<I> | Promise<AsyncIterable<I>>
/** Any method map (src/contract/methods.ts). */
type MethodMap = Record<string, (...args: never[]) => unknown>
/** Handlers of every method of `M` (a method map of the contract), and only those. */
export type HandlerTable<M = MethodMap> = { [K in keyof M]: Handler<ArgsOf<M, K> & readonly unknown[], ResultOf<M, K>> }
/** Sources of every stream of `M`, yielding its items. */
export type StreamTable<M = MethodMap> = { [K in keyof M]: StreamHandler<ArgsOf<M, K> & readonly unknown[], ResultOf<M, K>> }
/** The worker's own methods served here (`attach` and `stream` are the host's). */
export type NetMethods = Omit<PeerMethods, 'attach' | 'stream'>

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a string`)
  return v
}

function tid(v: unknown): ThreadID {
  return parseThreadID(str(v, 'thread ID'))
}

function opts(v: unknown): Record<string, unknown> {
  return v != null && typeof v === 'object' ? v as Record<string, unknown> : {}
}

export async function syncStatus(peer: BrowserPeer, id: ThreadID): Promise<ClientSyncStatus> {
  const s = await peer.net.syncStatus(id)
  const relayPeers = peer.relayPeers()
  return toClientStatus(s, {
    kind: (p) => peerKind(peer.libp2p, p, relayPeers),
    relayPeers,
    relays: peer.relays.states(),
    platformOnline: globalThis.navigator?.onLine ?? true
  })
}

export function peerInfo(peer: BrowserPeer, tabs: number): PeerInfo {
  const relays = peer.relayPeers()
  return {
    peerId: peer.libp2p.peerId.toString(),
    identity: peer.identity.publicKey.toString(),
    addrs: peer.libp2p.getMultiaddrs().map((a) => a.toString()),
    relays: peer.relays.states(),
    rtcHost: peer.rtc?.hasHost ?? false,
    connections: peer.libp2p.getConnections().filter((c) => c.status === 'open').map((c) => ({
      peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), via: connectionKind(c, relays), openedAt: c.timeline.open
    })),
    tabs,
    kind: peer.kind,
    timings: { startMs: peer.timings.startMs, ...(peer.timings.reservationMs != null ? { reservationMs: peer.timings.reservationMs } : {}) }
  }
}

/** Yields the status now and then whenever it changes (checked on connection events and every 250 ms). */
async function * watchStatus(peer: BrowserPeer, id: ThreadID, signal: AbortSignal): AsyncGenerator<ClientSyncStatus> {
  let last = ''
  let wake: (() => void) | undefined
  const poke = (): void => { wake?.() }
  peer.libp2p.addEventListener('connection:open', poke)
  peer.libp2p.addEventListener('connection:close', poke)
  peer.libp2p.addEventListener('self:peer:update', poke)
  globalThis.addEventListener?.('online', poke)
  globalThis.addEventListener?.('offline', poke)
  signal.addEventListener('abort', poke)
  try {
    while (!signal.aborted) {
      const s = await syncStatus(peer, id)
      const json = JSON.stringify(s)
      if (json !== last) {
        last = json
        yield s
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 250)
        wake = () => { clearTimeout(t); resolve() }
      })
      wake = undefined
    }
  } finally {
    peer.libp2p.removeEventListener('connection:open', poke)
    peer.libp2p.removeEventListener('connection:close', poke)
    peer.libp2p.removeEventListener('self:peer:update', poke)
    globalThis.removeEventListener?.('online', poke)
    globalThis.removeEventListener?.('offline', poke)
    signal.removeEventListener('abort', poke)
  }
}

export function netApi(peer: BrowserPeer, tokens: TokenIssuer, remeet?: Remeeter): { handlers: HandlerTable<NetMethods>; streams: StreamTable<PeerStreams> } {
  const { net } = peer
  const handlers: HandlerTable<NetMethods> = {
    'peer.info': (_args, ctx) => peerInfo(peer, ctx.tabs()),
    'peer.kickRelays': () => {
      peer.relays.kick()
      remeet?.meetAll('a tab asked')
    },
    'peer.reserved': async (_args, ctx) => { await peer.relays.reserved({ signal: ctx.signal }); return peerInfo(peer, ctx.tabs()) },
    'peer.ping': async ([peerId, count], { signal }) => {
      const ping = (peer.libp2p.services as { ping?: { ping(p: unknown, o?: { signal?: AbortSignal }): Promise<number> } }).ping
      if (ping == null) throw new TypeError('no ping service')
      const target = peerIdFromString(str(peerId, 'peer ID'))
      const rtts: number[] = []
      for (let i = 0; i < (typeof count === 'number' ? count : 10); i++) {
        const t0 = performance.now()
        await ping.ping(target, { signal })
        rtts.push(performance.now() - t0)
      }
      return rtts
    },
    'peer.sessions': (_args, ctx) => ({ tabs: ctx.tabs(), streams: ctx.streams() }),
    'peer.rtcStats': () => ({ hasHost: peer.rtc?.hasHost ?? false, peerConnections: peer.rtc?.peerConnections ?? 0, ...(peer.upgrader?.stats ?? {}) }),
    'peer.remeetStats': () => ({ ...(remeet?.stats ?? {}) }),

    'net.createThread': async ([id, o], { signal }) => {
      const options = opts(o)
      const threadId = id == null ? newThreadID() : tid(id)
      return toClientThreadInfo(await net.createThread(threadId, { signal, ...(typeof options.threadKey === 'string' ? { threadKey: options.threadKey } : {}) }))
    },
    'net.addThread': async ([address, o], { signal }) => {
      const options = opts(o)
      return toClientThreadInfo(await net.addThread(str(address, 'thread address'), { signal, threadKey: str(options.threadKey, 'threadKey') }))
    },
    'net.getThread': async ([id], { signal }) => toClientThreadInfo(await net.getThread(tid(id), { signal })),
    'net.listThreads': async (_args, { signal }) => await net.listThreads({ signal }),
    'net.pullThread': async ([id], { signal }) => { await net.pullThread(tid(id), { signal }) },
    'net.deleteThread': async ([id], { signal }) => { await net.deleteThread(tid(id), { signal }) },
    'net.addReplicator': async ([id, addr], { signal }) => await net.addReplicator(tid(id), str(addr, 'replicator address'), { signal }),
    'net.createRecord': async ([id, body], { signal }) => toClientRecord(await net.createRecord(tid(id), body, { signal })),
    'net.getRecord': async ([id, cid], { signal }) => toClientRecord(await net.getRecord(tid(id), CID.parse(str(cid, 'CID')), { signal })),
    'net.syncStatus': async ([id]) => await syncStatus(peer, tid(id)),
    'net.stats': () => cloneable(net.stats()),

    'identity.default': () => peer.identity.publicKey.toString(),
    'identity.challenge': ([identity]) => tokens.challenge(str(identity, 'identity')),
    'identity.token': async ([identity, challenge, signature, ttlMs]) => {
      if (!(challenge instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw new TypeError('challenge and signature must be bytes')
      return await tokens.issue(str(identity, 'identity'), challenge, signature, typeof ttlMs === 'number' ? ttlMs : undefined)
    },
    'identity.defaultToken': async ([ttlMs]) => await tokens.issueTrusted(peer.identity.publicKey.toString(), typeof ttlMs === 'number' ? ttlMs : undefined),
    'identity.verifyToken': async ([token]) => await tokens.verify(str(token, 'token'))
  }
  const streams: StreamTable<PeerStreams> = {
    'net.subscribe': (args, { signal }) => {
      const options = opts(args[0])
      const threads = Array.isArray(options.threads) ? options.threads.map(tid) : undefined
      const source = net.subscribe({ signal, ...(threads != null ? { threads } : {}) })
      return (async function * () {
        for await (const r of source) yield toClientRecord(r)
      })()
    },
    'net.watchSyncStatus': (args, { signal }) => watchStatus(peer, tid(args[0]), signal)
  }
  return { handlers, streams }
}

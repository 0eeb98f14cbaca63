/**
 * Serves tabs: one session per link (a MessagePort). A session exposes the {@link WorkerApi}
 * through Comlink on the link's `rpc` channel, pumps subscriptions on `sub`, carries the WebRTC
 * host bridge on `rtc` and forwards log lines on `log`. The peer starts with the first tab's
 * configuration. Tab death is learnt through the tab's lock (the worker requests it and is granted
 * it when the tab is gone): its calls are aborted, its subscriptions closed, and if it hosted
 * WebRTC its peer connections fail.
 *
 * Logging: a worker has no `localStorage` nor environment, so each tab sends its setting
 * (`PeerConfig.debug`: `connect({ debug })` or the tab's `localStorage.debug`) when it attaches.
 * The worker logs the namespaces any attached tab asked for, and sends each line to the tabs
 * whose setting matches it.
 *
 * Worker modules are the seam for layers above net (the db): each adds handlers and streams under
 * its own prefix, started once the peer is up.
 */
import * as Comlink from 'comlink'
import { enableLogging, lineEnabled, logger, logMatcher, setLogSink, type LogMatcher } from '../src/core/logger.js'
import {
  toWireError, UnknownMethodError, WorkerStartError, ClientClosedError, type AttachInfo, type Envelope, type LinkMessage, type PeerConfig,
  type SubMessage, type WorkerApi
} from '../src/contract/index.js'
import type { FromHost, ToHost } from '../src/platform/rtc-protocol.browser.js'
import { netApi, type CallContext, type HandlerTable, type StreamTable } from './api.js'
import { startBrowserPeer, type BrowserPeer } from './peer.js'
import { keepMeeting } from './remeet.js'
import { createStreamServer } from './streams.js'
import { createTokenIssuer, type TokenIssuer } from './token.js'

const log = logger('weft:worker:host')

/** What the host lends a module besides the peer. */
export interface ModuleServices {
  /** Issues and verifies the identity tokens of `getToken()`. */
  tokens: TokenIssuer
}

/** A layer composed into the worker (the db): handlers and streams under `name.`. */
export interface WorkerModule {
  name: string
  start(peer: BrowserPeer, services: ModuleServices): Promise<{ handlers?: HandlerTable; streams?: StreamTable; stop?: () => Promise<void> }>
}

export interface LinkPort {
  postMessage(message: unknown, transfer?: Transferable[]): void
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void
  removeEventListener(type: 'message', listener: (ev: MessageEvent) => void): void
  start?(): void
  close?(): void
}

export interface WorkerHostInit {
  kind: 'shared-worker' | 'dedicated-worker'
  modules?: WorkerModule[]
  rtcStrict?: boolean
}

export interface WorkerHost {
  accept(port: LinkPort): void
  readonly tabs: number
}

interface Session {
  port: LinkPort
  streams(): number
  hostId?: string | undefined
  /** The namespaces this tab asked to see (its `debug` setting). */
  logs?: LogMatcher | undefined
  close(): void
}

/** Longest deadline a timer can hold (ms): setTimeout fires at once past it. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** A call's deadline as the tab sent it (not trusted), as a timer's delay: 1 ms at least. */
function callDeadline(timeoutMs: unknown): number {
  return typeof timeoutMs === 'number' && timeoutMs >= 1 ? Math.min(timeoutMs, MAX_TIMER_MS) : 1
}

/** Longest logging setting a tab may send. */
const MAX_DEBUG_SETTING = 1024

function formatLog(formatter: string, args: unknown[]): string {
  let i = 0
  return formatter.replace(/%[sdoOjie]/g, () => {
    const a = args[i++]
    if (typeof a === 'string') return a
    try { return typeof a === 'object' ? JSON.stringify(a) : String(a) } catch { return String(a) }
  })
}

export function createWorkerHost(init: WorkerHostInit): WorkerHost {
  const instance = Math.random().toString(36).slice(2, 10)
  const sessions = new Set<Session>()
  let starting: Promise<{ peer: BrowserPeer; handlers: HandlerTable; streams: StreamTable; info: AttachInfo }> | undefined
  /** The started peer, once `starting` resolved (read synchronously on the hot rtc path). */
  let ready: BrowserPeer | undefined

  setLogSink((namespace, level, formatter, args) => {
    let msg: LinkMessage | undefined
    for (const s of sessions) {
      if (s.logs == null || !lineEnabled(s.logs, namespace, level)) continue
      msg ??= { c: 'log', namespace, level, text: formatLog(formatter, args) }
      s.port.postMessage(msg)
    }
  })

  /** Log what any attached tab asked for (and nothing once none asks). */
  function updateLogging(): void {
    const wanted = [...sessions].flatMap((s) => s.logs ?? [])
    enableLogging(wanted.length === 0 ? '' : (ns) => wanted.some((m) => m(ns)))
  }

  async function start(config: PeerConfig): Promise<{ peer: BrowserPeer; handlers: HandlerTable; streams: StreamTable; info: AttachInfo }> {
    const rtcStrict = config.rtcStrict ?? init.rtcStrict
    const peer = await startBrowserPeer(config, { kind: init.kind, ...(rtcStrict != null ? { rtcStrict } : {}) })
    const workerLock = `weft:${config.name}:worker:${instance}`
    // Held for the worker's lifetime: a tab asking for it is granted it when the worker dies.
    // Wait for the grant: requests from different threads may reach the lock manager in any order.
    await new Promise<void>((granted, failed) => {
      navigator.locks.request(workerLock, async () => {
        granted()
        await new Promise<void>(() => {})
      }).catch(failed)
    })
    // Meet the thread peers again as soon as a relay reservation is held (and whenever it is again).
    const remeet = keepMeeting({ libp2p: peer.libp2p, net: peer.net, relays: peer.relays, relayPeers: peer.relayPeers })
    remeet.meetAll('start')
    const tokens = createTokenIssuer({ peerId: peer.libp2p.peerId.toString(), sign: peer.sign })
    const api = netApi(peer, tokens, remeet)
    // By name from here on: each table was checked against the contract where it was made.
    const handlers = { ...api.handlers } as unknown as HandlerTable
    const streams = { ...api.streams } as unknown as StreamTable
    for (const m of init.modules ?? []) {
      const started = await m.start(peer, { tokens })
      for (const [k, h] of Object.entries(started.handlers ?? {})) handlers[`${m.name}.${k}`] = h
      for (const [k, h] of Object.entries(started.streams ?? {})) streams[`${m.name}.${k}`] = h
    }
    const info: AttachInfo = {
      peerId: peer.libp2p.peerId.toString(),
      identity: peer.identity.publicKey.toString(),
      workerLock,
      hostLock: `weft:${config.name}:rtc-host:${instance}`,
      kind: init.kind
    }
    ready = peer
    return { peer, handlers, streams, info }
  }

  function accept(port: LinkPort): void {
    const rpcListeners = new Set<(ev: MessageEvent) => void>()
    const inflight = new Map<number, AbortController>()
    const lifetime = new AbortController()
    const subs = createStreamServer((msg: SubMessage) => { port.postMessage(msg) })
    let closed = false

    const session: Session = {
      port,
      streams: () => subs.size,
      close() {
        if (closed) return
        closed = true
        lifetime.abort(new ClientClosedError('the tab is gone'))
        for (const c of inflight.values()) c.abort(new ClientClosedError('the tab is gone'))
        subs.closeAll()
        sessions.delete(session)
        if (session.logs != null) updateLogging()
        port.removeEventListener('message', onMessage)
        if (session.hostId != null) {
          void starting?.then(({ peer }) => { if (session.hostId != null) peer.rtc?.dropHost(session.hostId) })
        }
        port.close?.()
        log('tab left; %d attached', sessions.size)
      }
    }

    const ctx = (signal: AbortSignal): CallContext => ({
      signal,
      session: lifetime.signal,
      tabs: () => sessions.size,
      streams: () => [...sessions].reduce((n, s) => n + s.streams(), 0)
    })

    async function attach(config: PeerConfig, tabLock: string): Promise<AttachInfo> {
      const debug = typeof config?.debug === 'string' && config.debug !== '' ? config.debug.slice(0, MAX_DEBUG_SETTING) : undefined
      if (debug != null || session.logs != null) {
        session.logs = debug != null ? logMatcher(debug) : undefined
        updateLogging()
      }
      starting ??= start(config)
      let started
      try {
        started = await starting
      } catch (err) {
        starting = undefined
        throw new WorkerStartError(`the peer did not start: ${(err as Error).message}`, { cause: err })
      }
      for (const r of config.relays) if (!started.peer.config.relays.includes(r)) started.peer.relays.add([r])
      if (typeof tabLock === 'string' && tabLock !== '') {
        // Granted when the tab is gone (it holds the lock while it lives).
        void navigator.locks.request(tabLock, async () => { session.close() }).catch(() => undefined)
      }
      return started.info
    }

    async function run(method: string, args: unknown[], signal: AbortSignal): Promise<unknown> {
      if (method === 'attach') return await attach(args[0] as PeerConfig, args[1] as string)
      if (starting == null) throw new WorkerStartError('attach first')
      const { handlers, streams } = await starting
      if (method === 'stream') {
        const [id, name, streamArgs] = args as [number, string, unknown[]]
        const source = streams[name]
        if (source == null) throw new UnknownMethodError(`no stream "${name}" in the worker`)
        // Answer once the source is open (a listener registered now sees every later event).
        await subs.open(id, async (s) => await source(streamArgs ?? [], ctx(AbortSignal.any([s, lifetime.signal]))))
        return true
      }
      const handler = handlers[method]
      if (handler == null) throw new UnknownMethodError(`no method "${method}" in the worker`)
      return await handler(args, ctx(signal))
    }

    const api: WorkerApi = {
      async invoke(callId, method, args, timeoutMs): Promise<Envelope> {
        // One controller a call, aborted by the tab (cancel), the tab's death (close() aborts
        // every call in flight) or the call's deadline: one timer, cleared when the call settles.
        const controller = new AbortController()
        const { signal } = controller
        if (closed) controller.abort(new ClientClosedError('the tab is gone'))
        inflight.set(callId, controller)
        const timer = setTimeout(() => { controller.abort(new DOMException('signal timed out', 'TimeoutError')) }, callDeadline(timeoutMs))
        try {
          const value = await new Promise<unknown>((resolve, reject) => {
            if (signal.aborted) { reject(signal.reason as Error); return }
            // The controller dies with the call: its listener needs no removing.
            signal.addEventListener('abort', () => { reject(signal.reason as Error) }, { once: true })
            run(method, Array.isArray(args) ? args : [], signal).then(resolve, reject)
          })
          return { ok: true, value }
        } catch (err) {
          return { ok: false, error: toWireError(err) }
        } finally {
          clearTimeout(timer)
          inflight.delete(callId)
        }
      },
      cancel(callId) {
        inflight.get(callId)?.abort(new DOMException('cancelled by the tab', 'AbortError'))
      }
    }

    const rpcEndpoint: Comlink.Endpoint = {
      postMessage: (m: unknown) => { if (!closed) port.postMessage({ c: 'rpc', m } satisfies LinkMessage) },
      addEventListener: (_type: string, fn: EventListenerOrEventListenerObject) => { rpcListeners.add(fn as (ev: MessageEvent) => void) },
      removeEventListener: (_type: string, fn: EventListenerOrEventListenerObject) => { rpcListeners.delete(fn as (ev: MessageEvent) => void) }
    }

    function onRtc(m: FromHost): void {
      if (ready != null) { handleRtc(ready, m); return }
      void starting?.then(({ peer }) => { handleRtc(peer, m) })
    }

    function handleRtc(peer: BrowserPeer, m: FromHost): void {
      {
        const rtc = peer.rtc
        if (rtc == null || closed) return
        if (m.t === 'hello') {
          session.hostId = m.host
          rtc.setHost({ id: m.host, post: (msg: ToHost, transfer?: Transferable[]) => { if (!closed) port.postMessage({ c: 'rtc', m: msg } satisfies LinkMessage, transfer ?? []) } })
          log('tab %s hosts WebRTC', m.host)
        } else if (m.t === 'bye') {
          if (session.hostId === m.host) session.hostId = undefined
          rtc.dropHost(m.host)
          log('tab %s stopped hosting WebRTC', m.host)
        } else if (session.hostId != null) {
          rtc.receive(session.hostId, m)
        }
      }
    }

    function onMessage(ev: MessageEvent): void {
      const msg = ev.data as LinkMessage | null
      if (msg == null || typeof msg !== 'object') return
      switch (msg.c) {
        case 'rpc': for (const fn of rpcListeners) fn({ data: msg.m } as MessageEvent); return
        case 'sub': subs.receive(msg); return
        case 'rtc': onRtc(msg.m as FromHost); return
        default:
      }
    }

    port.addEventListener('message', onMessage)
    Comlink.expose(api, rpcEndpoint)
    port.start?.()
    sessions.add(session)
  }

  return {
    accept,
    get tabs() { return sessions.size }
  }
}

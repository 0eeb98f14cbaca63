/**
 * `connect()`: find or start the worker and return a typed client. The tab holds a lock for its
 * lifetime (the worker learns of its death when it is granted the lock) and asks for the worker's
 * lifetime lock (granted when the worker dies: calls then fail with WorkerGoneError at once, and
 * the client re-attaches to the next worker; subscriptions re-open by themselves).
 *
 * The worker's script: by default the bundled worker next to this module, started with
 * `new SharedWorker(new URL(…, import.meta.url), { type: 'module' })` — the form bundlers (Vite,
 * webpack) follow to build it into the app. In the repository that is worker/shared-worker.ts;
 * in the weftdb package, the build points it at dist/worker/shared-worker.js. `workerUrl`
 * replaces it for apps that serve the worker file themselves.
 *
 * Debug logging: the worker has no `localStorage`, so the tab sends it its setting
 * (`options.debug`, else the tab's `localStorage.debug`) and writes the lines the worker sends
 * back through its own logger (to `onLog` instead when given).
 */
import * as Comlink from 'comlink'
import { createDBClient } from './db.js'
import { writeLog } from '../core/logger.js'
import { AbortError, ClientClosedError, WorkerStartError } from './errors.js'
import { createFallback, type Fallback } from './fallback.js'
import { createLink, type PortLike } from './link.js'
import {
  TOKEN_CHALLENGE_PREFIX, type ArgsOf, type AttachInfo, type PeerConfig, type ResultOf, type SubMessage, type WorkerApi, type WorkerMethods,
  type WorkerStreams
} from '../contract/index.js'
import { electRtcHost, type HostElection } from './rtc.js'
import { createCaller, typedCaller, type CallOptions, type Caller } from './rpc.js'
import { openSubscription, type StreamConn, type Subscription } from './stream.js'
import type { ConnectOptions, NetClient, WeftClient } from './types.js'

interface Conn extends StreamConn {
  info: AttachInfo
  owner: boolean
  election?: HostElection
}

function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(9))
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

/** The logging setting sent to the worker: `debug`, else this tab's `localStorage.debug`. */
function debugSetting(debug: string | undefined): string | undefined {
  if (debug != null) return debug
  try {
    const stored = globalThis.localStorage?.getItem('debug')
    return stored != null && stored !== '' ? stored : undefined
  } catch {
    return undefined // storage blocked (e.g. sandboxed iframes)
  }
}

function defaultSharedWorker(name: string): SharedWorker {
  return new SharedWorker(new URL('../../worker/shared-worker.ts', import.meta.url), { type: 'module', name })
}

function defaultDedicatedWorker(name: string): Worker {
  return new Worker(new URL('../../worker/dedicated-worker.ts', import.meta.url), { type: 'module', name })
}

export async function connect(options: ConnectOptions): Promise<WeftClient> {
  const name = options.name ?? 'weft'
  const tabId = randomId()
  const timeoutMs = options.timeoutMs ?? 15_000
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000
  const closed = new AbortController()
  options.signal?.addEventListener('abort', () => { closed.abort(new AbortError()) }, { once: true })
  const debug = debugSetting(options.debug)
  const config: PeerConfig = {
    name,
    relays: [...options.relays],
    ...(options.allowPrivate != null ? { allowPrivate: options.allowPrivate } : {}),
    ...(options.webrtc != null ? { webrtc: options.webrtc } : {}),
    ...(options.syncIntervalMs != null ? { syncIntervalMs: options.syncIntervalMs } : {}),
    ...(debug != null ? { debug } : {}),
    ...(options.rtcStrict != null ? { rtcStrict: options.rtcStrict } : {})
  }

  // Our lifetime lock: held until this tab goes away (or close()).
  const tabLock = `weft:${name}:tab:${tabId}`
  await new Promise<void>((granted) => {
    void navigator.locks.request(tabLock, async () => {
      granted()
      await new Promise<void>((resolve) => { closed.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
    })
  })

  const useShared = options.sharedWorker !== false && typeof SharedWorker === 'function'
  const fallback: Fallback | undefined = useShared
    ? undefined
    : createFallback({
      name,
      tabId,
      signal: closed.signal,
      startWorker: () => options.dedicatedWorkerUrl != null
        ? new Worker(options.dedicatedWorkerUrl, { type: 'module', name: `weft:${name}` })
        : defaultDedicatedWorker(`weft:${name}`)
    })

  async function open(signal: AbortSignal): Promise<Conn> {
    let port: PortLike
    let owner = false
    const gone = new AbortController()
    if (fallback == null) {
      const worker = options.workerUrl != null
        ? new SharedWorker(options.workerUrl, { type: 'module', name: `weft:${name}` })
        : defaultSharedWorker(`weft:${name}`)
      // A script that fails to load or evaluate: fail the attach now rather than at its deadline.
      worker.addEventListener('error', () => { gone.abort(new WorkerStartError('the worker script failed to load')) }, { once: true })
      port = worker.port
    } else {
      ({ port, owner } = await fallback.port({ signal }))
    }
    const link = createLink(port)
    const subs = new Map<number, (msg: SubMessage) => void>()
    link.onSub((msg) => { subs.get(msg.id)?.(msg) })
    link.onLog(options.onLog ?? ((line) => { writeLog(line.namespace, line.level, line.text) }))
    const remote = Comlink.wrap<WorkerApi>(link.rpc)
    const call: Caller = typedCaller(createCaller(remote, gone.signal, timeoutMs))
    let info: AttachInfo
    try {
      info = await call('attach', [config, tabLock], { signal, timeoutMs: connectTimeoutMs })
    } catch (err) {
      const reason: unknown = gone.signal.reason
      gone.abort(err)
      link.close()
      throw reason instanceof WorkerStartError ? reason : err
    }
    const conn: Conn = { link, call, gone: gone.signal, subs, info, owner }
    // Granted when the worker is gone.
    void navigator.locks.request(info.workerLock, { signal: AbortSignal.any([closed.signal, gone.signal]) }, () => {
      gone.abort(new Error('the worker is gone'))
    }).catch(() => undefined)
    gone.signal.addEventListener('abort', () => { link.close() }, { once: true })
    if (options.hostWebRTC !== false && options.webrtc !== false) {
      conn.election = electRtcHost(link, info.hostLock, tabId, AbortSignal.any([closed.signal, gone.signal]))
    }
    return conn
  }

  let current: Promise<Conn> = open(AbortSignal.any([closed.signal, AbortSignal.timeout(connectTimeoutMs)]))
  let first: Conn
  try {
    first = await current
  } catch (err) {
    closed.abort(err)
    if ((err as Error).name === 'AbortError' || (err as Error).name === 'CallTimeoutError' || (err as Error).name === 'WorkerStartError') throw err
    throw new WorkerStartError(`could not reach the worker: ${(err as Error).message}`, { cause: err })
  }
  let latest = first

  function watch(conn: Conn): void {
    conn.gone.addEventListener('abort', () => {
      if (closed.signal.aborted) return
      // Re-attach: to the same SharedWorker script (a new instance) or the fallback's next owner.
      current = (async () => {
        while (true) {
          if (closed.signal.aborted) throw new ClientClosedError()
          try {
            return await open(AbortSignal.any([closed.signal, AbortSignal.timeout(connectTimeoutMs)]))
          } catch (err) {
            if (closed.signal.aborted) throw err
            await new Promise((r) => setTimeout(r, 200))
          }
        }
      })()
      current.then((next) => { latest = next; watch(next) }, () => undefined)
    }, { once: true })
  }
  watch(first)

  async function connection(): Promise<Conn> {
    if (closed.signal.aborted) throw new ClientClosedError()
    return await current
  }

  /** A call of the contract. */
  async function call<M extends keyof WorkerMethods>(method: M, args: ArgsOf<WorkerMethods, M>, o: CallOptions = {}): Promise<ResultOf<WorkerMethods, M>> {
    const conn = await connection()
    return await conn.call(method, args, o)
  }

  /** A call by any name (`client.call`). */
  async function rawCall<T>(method: string, args: unknown[], o: CallOptions = {}): Promise<T> {
    const conn = await connection()
    return await (conn.call as unknown as <R>(m: string, a: unknown[], o?: CallOptions) => Promise<R>)(method, args, o)
  }

  /** A stream of the contract. */
  function sub<S extends keyof WorkerStreams>(name: S, args: ArgsOf<WorkerStreams, S>, o: { signal?: AbortSignal } = {}): Subscription<ResultOf<WorkerStreams, S>> {
    return rawSub(name, args, o)
  }

  /** A stream by any name. */
  function rawSub<T>(name: string, args: unknown[], o: { signal?: AbortSignal } = {}): Subscription<T> {
    return openSubscription<T>(connection, name, args, { ...(o.signal != null ? { signal: o.signal } : {}), closed: closed.signal })
  }

  const net: NetClient = {
    createThread: async (id, o = {}) => await call('net.createThread', [id ?? null, o.threadKey != null ? { threadKey: o.threadKey } : {}], o),
    addThread: async (address, o) => await call('net.addThread', [address, { threadKey: o.threadKey }], o),
    getThread: async (id, o) => await call('net.getThread', [id], o),
    listThreads: async (o) => await call('net.listThreads', [], o),
    pullThread: async (id, o) => { await call('net.pullThread', [id], o) },
    deleteThread: async (id, o) => { await call('net.deleteThread', [id], o) },
    addReplicator: async (id, addr, o) => await call('net.addReplicator', [id, addr], o),
    createRecord: async (id, body, o) => await call('net.createRecord', [id, body], o),
    getRecord: async (id, cid, o) => await call('net.getRecord', [id, cid], o),
    subscribe: (o = {}) => sub('net.subscribe', [o.threads != null ? { threads: o.threads } : {}], o),
    syncStatus: async (id, o) => await call('net.syncStatus', [id], o),
    watchSyncStatus: (id, o) => sub('net.watchSyncStatus', [id], o),
    stats: async (o) => await call('net.stats', [], o) as Record<string, number>
  }

  const db = createDBClient({ call, rawCall, rawSub })

  // The network is back, as this tab's platform says: the worker re-dials its relays and meets
  // its thread peers now rather than at its next retry (a worker may not hear the event itself).
  const onOnline = (): void => { void call('peer.kickRelays', []).catch(() => undefined) }
  globalThis.addEventListener?.('online', onOnline)
  closed.signal.addEventListener('abort', () => { globalThis.removeEventListener?.('online', onOnline) }, { once: true })

  const client: WeftClient = {
    peerId: first.info.peerId,
    identity: first.info.identity,
    mode: fallback == null ? 'shared-worker' : first.owner ? 'dedicated-owner' : 'dedicated-bridged',
    get hostingWebRTC() { return latest.election?.hosting ?? false },
    net,
    db,
    info: async (o) => await call('peer.info', [], o),
    relayReady: async (o) => await call('peer.reserved', [], o),
    async getToken(identity, o = {}) {
      if (identity == null) return await call('identity.defaultToken', [o.ttlMs ?? null], o)
      const id = identity.publicKey.toString()
      const challenge = await call('identity.challenge', [id], o)
      const prefix = new TextEncoder().encode(TOKEN_CHALLENGE_PREFIX)
      const data = new Uint8Array(prefix.length + challenge.length)
      data.set(prefix)
      data.set(challenge, prefix.length)
      const signature = await identity.sign(data)
      return await call('identity.token', [id, challenge, signature, o.ttlMs ?? null], o)
    },
    verifyToken: async (token, o) => await call('identity.verifyToken', [token], o),
    reconnect: async (o) => { await call('peer.kickRelays', [], o) },
    call: rawCall,
    close() {
      closed.abort(new ClientClosedError())
      latest.link.close()
    }
  }
  return client
}

/**
 * The hub composed: HTTP health and metrics first (so probes see 503 while it starts), then a
 * Weft peer from `createPeer()` on LevelDB (it syncs the hosted DBs with browser and Node peers
 * over the normal protocol), a DB manager on the same store, the token issuer on the peer's key,
 * and the API listeners (gRPC, gRPC-Web and grpc-websockets on one router). `stop()` reverses
 * it: health turns 503, long streams end, the listeners close, the DBs close, the net stops
 * (waiting for appends in flight), libp2p stops, LevelDB closes, then HTTP.
 */
import { setMaxListeners } from 'node:events'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { identityToString, privateKeyFromBytes } from '../src/core/index.js'
import { logger } from '../src/core/logger.js'
import { createDBManager, dbNetFromNet, type DBManager } from '../src/db/index.js'
import { forkSource } from '../src/net/index.js'
import { createPeer, type Peer } from '../src/node/peer.js'
import { startHttp, type HttpServer, type RelayState } from '../relay/http.js'
import { createHubAuth, type HubAuth } from './auth.js'
import { hubListenAddrs, type HubConfig } from './config.js'
import { openDelegations } from './delegations.js'
import { createIdentityLogs, type IdentityLogs } from './identity-logs.js'
import { createHubMetrics } from './metrics.js'
import { createApiRouter } from './router.js'
import { originAllowed, startApiServers, type ApiServers } from './servers.js'
import { createWebSocketBridge } from './websocket.js'

const log = logger('weft:hub')

export interface Hub {
  readonly peer: Peer
  readonly manager: DBManager
  readonly auth: HubAuth
  /** The log each identity writes through in a thread. */
  readonly logs: IdentityLogs
  readonly peerId: string
  /** Full multiaddrs of the hub's peer, each ending in /p2p/<peerId>. */
  addrs(): string[]
  /** `http://host:port` of gRPC (HTTP/2, h2c). */
  readonly grpcUrl: string
  /** `http://host:port` of gRPC-Web and the grpc-websockets transport. */
  readonly webUrl: string
  /** `http://host:port` of /healthz and /metrics. */
  readonly httpUrl: string
  /** Idempotent; resolves when everything is closed. */
  stop(): Promise<void>
}

/** Start a hub with a checked configuration. A failed start undoes what it started. */
export async function startHub(config: HubConfig): Promise<Hub> {
  const startedAt = Date.now()
  let state: RelayState = 'starting'
  let running: { peer: Peer; manager: DBManager; auth: HubAuth; logs: IdentityLogs } | undefined
  const withP2p = (a: string, id: string): string => (a.endsWith(`/p2p/${id}`) ? a : `${a}/p2p/${id}`)
  const addrs = (): string[] => (running == null ? [] : running.peer.addrs().map((a) => withP2p(a, running!.peer.peerId)))

  const metrics = createHubMetrics({ running: () => (state === 'running' ? running : undefined) })
  const http: HttpServer = await startHttp({
    host: config.http.host,
    port: config.http.port,
    health: () => ({ state, peerId: running?.peer.peerId, addrs: addrs(), uptimeMs: Date.now() - startedAt }),
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() })
  })

  const undo: Array<() => Promise<void>> = [async () => { await http.close() }]
  const unwind = async (): Promise<void> => {
    for (const step of undo.splice(0).reverse()) await step().catch((err: Error) => { log.error('stop step failed: %s', err.message) })
  }
  const shutdown = new AbortController()
  // Every call in flight listens on it (and stops listening when it ends): no listener limit.
  setMaxListeners(0, shutdown.signal)
  let servers: ApiServers
  try {
    const peer = await createPeer({
      repo: config.repo,
      listen: hubListenAddrs(config),
      announce: config.announce,
      relays: config.relays,
      allowPrivateAddrs: config.allowPrivate,
      syncIntervalMs: config.syncIntervalMs,
      logPrefix: 'hub'
    })
    undo.push(async () => { await peer.stop() })
    // The peer key createPeer keeps in the repo (libp2p's protobuf form) also signs the hub's tokens.
    // The delegations identities gave in GetToken are kept in the repository with the peer's data.
    const peerKey = await privateKeyFromBytes(await readFile(join(config.repo, 'peer.key')))
    const auth = await createHubAuth({
      identity: peerKey,
      tokenTtlMs: config.tokenTtlMs,
      challengeTtlMs: config.idleTimeoutMs,
      requireToken: config.requireToken,
      delegations: await openDelegations({ kv: peer.kv, max: config.maxDelegations, pinned: identityToString(peerKey.publicKey) })
    })
    const logs = createIdentityLogs({ net: peer.net, auth })
    const manager = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore, forkSource(peer.net)), kv: peer.kv, logPrefix: 'hub' })
    undo.push(async () => { await manager.close() })
    const api = { manager, peer, auth, logs, idleTimeoutMs: config.idleTimeoutMs }
    const router = createApiRouter({ api, metrics, maxMessageBytes: config.maxMessageBytes, shutdownSignal: shutdown.signal })
    const websocket = createWebSocketBridge({
      handlers: router.handlers,
      maxMessageBytes: config.maxMessageBytes,
      idleTimeoutMs: config.idleTimeoutMs,
      keepAliveMs: config.keepAliveMs,
      maxSockets: config.maxConnections,
      allowOrigin: (origin) => originAllowed(config.allowedOrigins, origin),
      metrics
    })
    servers = await startApiServers({
      grpc: config.grpc,
      web: config.web,
      router,
      websocket,
      metrics,
      allowedOrigins: config.allowedOrigins,
      maxStreams: config.maxStreams,
      maxConnections: config.maxConnections,
      idleTimeoutMs: config.idleTimeoutMs,
      keepAliveMs: config.keepAliveMs
    })
    undo.push(async () => {
      shutdown.abort()
      await servers.close()
    })
    running = { peer, manager, auth, logs }
  } catch (err) {
    await unwind()
    throw err
  }
  state = 'running'
  const { peer, manager, auth, logs } = running
  log('hub %s running: grpc %s, web %s', peer.peerId, servers.grpcUrl, servers.webUrl)

  let stopping: Promise<void> | undefined
  return {
    peer,
    manager,
    auth,
    logs,
    peerId: peer.peerId,
    addrs,
    grpcUrl: servers.grpcUrl,
    webUrl: servers.webUrl,
    httpUrl: http.url,
    stop() {
      stopping ??= (async () => {
        state = 'stopping'
        log('stopping')
        await unwind()
        log('stopped')
      })()
      return stopping
    }
  }
}

/**
 * The relay composed: HTTP (health and metrics) first, so probes see 503 while it starts, then a
 * Weft peer from `createPeer()` with TCP and WebSocket listeners, the circuit-relay-v2 server
 * with raised limits and the replicator role (it adopts threads handed over by `addReplicator`,
 * with the service key only). `stop()` reverses it: health turns 503, the net stops (waiting for
 * appends in flight so acknowledged records are on disk), libp2p stops, LevelDB closes, then HTTP.
 */
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { createPeer, type Peer } from '../src/node/peer.js'
import { logger } from '../src/core/logger.js'
import { listenAddrs, type RelayConfig } from './config.js'
import { startHttp, type HttpServer, type RelayState } from './http.js'
import { createRelayMetrics } from './metrics.js'
import { createRelayPolicy } from './policy.js'
import { inboundGuard } from './inbound.js'
import { reservationGuard } from './reservations.js'

const log = logger('weft:relay')

export interface Relay {
  readonly peer: Peer
  readonly peerId: string
  /** Full multiaddrs of the relay, each ending in /p2p/<peerId>. */
  addrs(): string[]
  /** Base URL of the HTTP server (`http://host:port`, the port actually bound). */
  readonly httpUrl: string
  /** Idempotent; resolves when everything is closed. */
  stop(): Promise<void>
}

/** Start a relay with a checked configuration. A failed start undoes what it started. */
export async function startRelay(config: RelayConfig): Promise<Relay> {
  const startedAt = Date.now()
  let state: RelayState = 'starting'
  let peer: Peer | undefined
  const withP2p = (a: string, id: string): string => (a.endsWith(`/p2p/${id}`) ? a : `${a}/p2p/${id}`)
  const addrs = (): string[] => (peer == null ? [] : peer.addrs().map((a) => withP2p(a, peer!.peerId)))

  const policy = createRelayPolicy({
    allowThreads: config.allowThreads,
    allowPeers: config.allowPeers,
    maxThreadsPerPeer: config.maxThreadsPerPeer,
    maxThreadsPerIp: config.maxThreadsPerIp,
    maxThreadRecords: config.maxThreadRecords,
    maxThreadBytes: config.maxThreadBytes,
    maxStoreBytes: config.maxStoreBytes
  })
  const reservations = reservationGuard({
    maxPerIp: config.maxReservationsPerIp,
    onRefused: () => { policy.countRefusal('reservations_per_ip') }
  })
  const inbound = inboundGuard({
    maxPerIp: config.connPerIp,
    maxPending: config.connPending,
    maxPendingPerIp: config.connPendingPerIp,
    onRefused: () => { policy.countRefusal('connections_per_ip') },
    onEvicted: () => { policy.countRefusal('pending_connections') }
  })
  const listening: { http?: HttpServer } = {}
  const metrics = createRelayMetrics({
    peer: () => (state === 'running' ? peer : undefined),
    httpSockets: () => listening.http?.sockets(),
    policy
  })
  const http = await startHttp({
    host: config.http.host,
    port: config.http.port,
    maxSockets: config.httpMaxSockets,
    maxSocketsPerIp: config.httpMaxSocketsPerIp,
    health: () => ({ state, peerId: peer?.peerId, addrs: addrs(), uptimeMs: Date.now() - startedAt }),
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() })
  })
  listening.http = http

  try {
    peer = await createPeer({
      repo: config.repo,
      listen: listenAddrs(config),
      announce: config.announce,
      relayServer: {
        maxReservations: config.maxReservations,
        reservationTtlMs: config.reservationTtlMs,
        dataLimitBytes: config.dataLimitBytes,
        durationLimitMs: config.durationLimitMs
      },
      replicator: true,
      allowPrivateAddrs: config.allowPrivate,
      syncIntervalMs: config.syncIntervalMs,
      maxConnections: config.connHigh,
      inboundConnectionThreshold: config.connRatePerHost,
      maxIncomingPendingConnections: config.connPending,
      logPrefix: 'relay',
      // Its records are mostly on disk and its event loop serves every peer: reads on the pool.
      syncReadMax: 0,
      admission: policy,
      connectionGater: { ...reservations.gater, ...inbound.gater }
    })
    const node = peer.libp2p
    inbound.attach(() => node.getConnections())
    // Accounting is per thread as the store holds it (per thread ID and key).
    await policy.open(peer.kv, (await peer.logStore.listThreads()).map((t) => t.id))
  } catch (err) {
    await peer?.stop().catch(() => undefined)
    await http.close()
    throw err
  }
  const relayService = (peer.libp2p.services as { relay?: CircuitRelayService }).relay
  const detach = relayService != null ? reservations.attach(peer.libp2p, relayService) : () => undefined
  state = 'running'
  const running = peer
  log('relay %s running: %o', running.peerId, addrs())

  let stopping: Promise<void> | undefined
  return {
    peer: running,
    peerId: running.peerId,
    addrs,
    httpUrl: http.url,
    stop() {
      stopping ??= (async () => {
        state = 'stopping'
        log('stopping')
        try {
          detach()
          // The net first (no more records after it), then the accounting, then the store.
          await running.net.stop()
          await policy.flush()
          await running.stop()
        } finally {
          await http.close()
        }
        log('stopped')
      })()
      return stopping
    }
  }
}

/**
 * Prometheus metrics of the relay, on a registry of its own (never prom-client's global one).
 * Every relay figure is read at scrape time from the peer (connections, reservations, threads)
 * and from `net.stats()` (counters since the process started), plus prom-client's default
 * process metrics (CPU, memory, event loop lag, handles).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { Peer } from '../src/node/peer.js'
import type { NetStats } from '../src/net/types.js'
import type { SocketGuardStats } from './http-guard.js'
import { REFUSAL_KINDS, type RelayPolicy } from './policy.js'

export interface RelayMetrics {
  readonly registry: Registry
  readonly contentType: string
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>
}

/** The metric names (tests and docs/RELAY.md list them). */
export const RELAY_METRIC_NAMES = [
  'weft_relay_connections',
  'weft_relay_reservations',
  'weft_relay_threads',
  'weft_relay_records_stored_total',
  'weft_relay_records_served_total',
  'weft_relay_bytes_received_total',
  'weft_relay_bytes_served_total',
  'weft_relay_rejected_total',
  'weft_relay_strikes_total',
  'weft_relay_bans_total',
  'weft_relay_throttled_ips_total',
  'weft_relay_refused_sessions_total',
  'weft_relay_stored_bytes',
  'weft_relay_http_sockets',
  'weft_relay_http_sockets_evicted_total',
  'weft_relay_http_sockets_refused_total'
] as const

export interface RelayMetricsInit {
  /** The running peer, or undefined while the relay starts or stops (its gauges are then absent). */
  peer: () => Peer | undefined
  /** Socket counts of the HTTP server (undefined before it listens). */
  httpSockets: () => SocketGuardStats | undefined
  /** The admission policy (refusals by kind, accounted usage). */
  policy: Pick<RelayPolicy, 'refusals' | 'usage'>
}

/** A counter whose value is copied from a monotonic source at each scrape. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const v = read()
      if (v == null) return // starting or stopping: keep the last value
      this.reset()
      this.inc(v)
    }
  })
}

export function createRelayMetrics(init: RelayMetricsInit): RelayMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const stat = (key: keyof NetStats) => (): number | undefined => init.peer()?.net.stats()[key]

  new Gauge({
    name: 'weft_relay_connections',
    help: 'Open libp2p connections (direct and relayed).',
    registers: [registry],
    collect() {
      const peer = init.peer()
      if (peer != null) this.set(peer.libp2p.getConnections().length)
    }
  })
  new Gauge({
    name: 'weft_relay_reservations',
    help: 'Circuit-relay-v2 reservations held right now.',
    registers: [registry],
    collect() {
      const peer = init.peer()
      if (peer != null) this.set(peer.relayReservations())
    }
  })
  new Gauge({
    name: 'weft_relay_threads',
    help: 'Threads the relay holds (replicates).',
    registers: [registry],
    async collect() {
      const peer = init.peer()
      if (peer == null) return
      try {
        this.set((await peer.net.listThreads()).length)
      } catch {
        // the store is closing: leave the last value
      }
    }
  })
  mirroredCounter(registry, 'weft_relay_records_stored_total', 'Records received from peers, verified and stored, since the process started.', stat('recordsReceived'))
  mirroredCounter(registry, 'weft_relay_records_served_total', 'Records sent to peers, since the process started.', stat('recordsServed'))
  mirroredCounter(registry, 'weft_relay_bytes_received_total', 'Record bytes received from peers, since the process started.', stat('bytesReceived'))
  mirroredCounter(registry, 'weft_relay_bytes_served_total', 'Record bytes sent to peers, since the process started.', stat('bytesServed'))
  new Counter({
    name: 'weft_relay_refused_total',
    help: 'Requests refused by policy since the process started, by kind: not_allowed (allow-lists), threads_per_peer, threads_per_ip, thread_records, thread_bytes, store_bytes (quotas, QUOTA_EXCEEDED) and reservations_per_ip.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const counts = init.policy.refusals()
      this.reset()
      for (const kind of REFUSAL_KINDS) this.inc({ kind }, counts[kind])
    }
  })
  new Gauge({
    name: 'weft_relay_stored_bytes',
    help: 'Record bytes the relay stores in all threads, as accounted against WEFT_RELAY_MAX_STORE_BYTES (kept across restarts).',
    registers: [registry],
    collect() { this.set(init.policy.usage().bytes) }
  })
  new Gauge({
    name: 'weft_relay_http_sockets',
    help: 'Sockets open on the HTTP server (health and metrics).',
    registers: [registry],
    collect() {
      const s = init.httpSockets()
      if (s != null) this.set(s.open)
    }
  })
  mirroredCounter(registry, 'weft_relay_http_sockets_evicted_total', 'HTTP sockets waiting for a request closed to make room for a new one (per-IP or total socket cap), since the process started.', () => init.httpSockets()?.evicted)
  mirroredCounter(registry, 'weft_relay_http_sockets_refused_total', 'New HTTP sockets refused because every counted socket was busy, since the process started.', () => init.httpSockets()?.refused)
  mirroredCounter(registry, 'weft_relay_rejected_total', 'Requests refused as protocol violations (garbage, bad records), since the process started.', stat('rejected'))
  mirroredCounter(registry, 'weft_relay_strikes_total', 'Strikes counted against peers for proven violations (undecodable or oversized frames, forged records), since the process started.', stat('strikes'))
  mirroredCounter(registry, 'weft_relay_bans_total', 'Bans given to peers after repeated proven violations, since the process started.', stat('bans'))
  mirroredCounter(registry, 'weft_relay_throttled_ips_total', 'Times a remote IP was throttled for too many bad or unknown-thread requests, since the process started.', stat('throttledIps'))
  mirroredCounter(registry, 'weft_relay_refused_sessions_total', 'Sessions refused before any frame was read (banned peer, throttled IP, too many sessions), since the process started.', stat('refusedSessions'))

  return {
    registry,
    get contentType() { return registry.contentType },
    async render() { return await registry.metrics() }
  }
}

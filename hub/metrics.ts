/**
 * Prometheus metrics of the hub, on a registry of its own: API calls by method and status code
 * (counted by the router's interceptor, which also turns every error into a gRPC status), calls
 * in progress, API connections by transport, malformed WebSocket frames, tokens issued, DBs,
 * libp2p connections and the net's record counters, plus prom-client's process metrics.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect'
import type { Peer } from '../src/node/peer.js'
import type { DBManager } from '../src/db/index.js'
import type { HubAuth } from './auth.js'
import { toStatus } from './status.js'

/** The metric names (tests and docs/HUB.md list them). */
export const HUB_METRIC_NAMES = [
  'weft_hub_calls_total',
  'weft_hub_calls_active',
  'weft_hub_api_connections',
  'weft_hub_bad_frames_total',
  'weft_hub_tokens_issued_total',
  'weft_hub_dbs',
  'weft_hub_peer_connections',
  'weft_hub_records_created_total',
  'weft_hub_records_received_total'
] as const

export type ApiTransport = 'grpc' | 'web' | 'websocket'

const DB_COUNT_INTERVAL_MS = 30_000

export interface HubMetricsInit {
  /** The running parts, or undefined while the hub starts or stops (their gauges keep their last value). */
  running: () => { peer: Peer; manager: DBManager; auth: HubAuth } | undefined
}

export interface HubMetrics {
  readonly contentType: string
  render(): Promise<string>
  /** Counts calls and turns errors into gRPC statuses; install on the router. */
  readonly interceptor: Interceptor
  connection(transport: ApiTransport, delta: 1 | -1): void
  badFrame(): void
}

export function createHubMetrics(init: HubMetricsInit): HubMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const calls = new Counter({ name: 'weft_hub_calls_total', help: 'API calls finished, by method and gRPC status code name.', labelNames: ['method', 'code'], registers: [registry] })
  const active = new Gauge({ name: 'weft_hub_calls_active', help: 'API calls in progress (streams included).', registers: [registry] })
  const connections = new Gauge({ name: 'weft_hub_api_connections', help: 'Open API connections by transport (grpc: HTTP/2 sessions; web: HTTP/1.1 connections; websocket).', labelNames: ['transport'], registers: [registry] })
  const badFrames = new Counter({ name: 'weft_hub_bad_frames_total', help: 'Malformed grpc-websockets frames and header blocks received.', registers: [registry] })
  for (const t of ['grpc', 'web', 'websocket']) connections.set({ transport: t }, 0)

  const mirror = (name: string, help: string, read: () => number | undefined): void => {
    new Counter({ name, help, registers: [registry], collect() { const v = read(); if (v !== undefined) { this.reset(); this.inc(v) } } })
  }
  mirror('weft_hub_tokens_issued_total', 'Tokens issued by GetToken since the process started.', () => init.running()?.auth.issued)
  mirror('weft_hub_records_created_total', 'Records this hub wrote, since the process started.', () => init.running()?.peer.net.stats().recordsCreated)
  mirror('weft_hub_records_received_total', 'Records received from peers, verified and stored, since the process started.', () => init.running()?.peer.net.stats().recordsReceived)
  // Listing DBs reads every DB's thread info: at most once per interval, however often scraped.
  let dbsCountedAt = -Infinity
  new Gauge({
    name: 'weft_hub_dbs',
    help: `DBs the hub hosts (counted at most every ${DB_COUNT_INTERVAL_MS / 1000} s).`,
    registers: [registry],
    async collect() {
      const r = init.running()
      if (r === undefined || performance.now() - dbsCountedAt < DB_COUNT_INTERVAL_MS) return
      dbsCountedAt = performance.now()
      try { this.set((await r.manager.listDBs()).length) } catch { /* closing */ }
    }
  })
  new Gauge({
    name: 'weft_hub_peer_connections',
    help: 'Open libp2p connections of the hub\'s peer.',
    registers: [registry],
    collect() { const r = init.running(); if (r !== undefined) this.set(r.peer.libp2p.getConnections().length) }
  })

  const finish = (method: string, err: unknown): void => {
    calls.inc({ method, code: err === undefined ? 'ok' : codeName(toStatus(err).code) })
    active.dec()
  }
  const interceptor: Interceptor = (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`
    active.inc()
    let res
    try {
      res = await next(req)
    } catch (err) {
      finish(method, err)
      throw toStatus(err)
    }
    if (!res.stream) {
      finish(method, undefined)
      return res
    }
    const source = res.message
    async function * counted() {
      // Ended early (the client went away) unless it completes or fails below.
      let outcome: unknown = new ConnectError('the call was cancelled', Code.Canceled)
      try {
        yield * source
        outcome = undefined
      } catch (err) {
        outcome = err
        throw toStatus(err)
      } finally {
        finish(method, outcome)
      }
    }
    return { ...res, message: counted() }
  }

  return {
    get contentType() { return registry.contentType },
    async render() { return await registry.metrics() },
    interceptor,
    connection(transport, delta) { connections.inc({ transport }, delta) },
    badFrame() { badFrames.inc() }
  }
}

const CODE_NAMES = ['ok', 'canceled', 'unknown', 'invalid_argument', 'deadline_exceeded', 'not_found', 'already_exists', 'permission_denied',
  'resource_exhausted', 'failed_precondition', 'aborted', 'out_of_range', 'unimplemented', 'internal', 'unavailable', 'data_loss', 'unauthenticated']

function codeName(code: number): string {
  return CODE_NAMES[code] ?? String(code)
}

/**
 * The relay's HTTP side: `GET /healthz` (200 JSON while running, 503 while starting or
 * stopping) and `GET /metrics` (Prometheus text). Nothing else: other paths are 404, other
 * methods 405, request bodies are never read, and sockets (per IP and in total, see
 * http-guard.ts), header time, request time and keep-alive are bounded so a slow or hostile client
 * cannot hold the server or keep health probes out.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { logger } from '../src/core/logger.js'
import { guardSockets, type SocketGuardStats } from './http-guard.js'

const log = logger('weft:relay:http')

export type RelayState = 'starting' | 'running' | 'stopping'

export interface Health {
  state: RelayState
  peerId: string | undefined
  addrs: string[]
  uptimeMs: number
}

/** HTTP deadlines and keep-alive limits (docs/RELAY.md, "Limits"). */
export const HTTP_LIMITS = {
  /** From connection (or the end of the previous response) to complete request headers, ms. */
  headersTimeoutMs: 5_000,
  /** From connection to the complete request, ms. */
  requestTimeoutMs: 10_000,
  /** How often the deadlines above are checked, ms. */
  checkIntervalMs: 500,
  /** An idle keep-alive connection is closed after this long, ms. */
  keepAliveTimeoutMs: 5_000,
  /** Requests served on one keep-alive connection before it is closed. */
  maxRequestsPerSocket: 100,
  /** A socket with no traffic at all for this long is closed, ms. */
  socketIdleTimeoutMs: 15_000,
  /** Largest request head, bytes. */
  maxHeaderBytes: 8 * 1024
} as const

export interface HttpInit {
  host: string
  port: number
  /** Most sockets open at once, in total. @default 256 */
  maxSockets?: number
  /** Most sockets open at once from one remote IP. @default 16 */
  maxSocketsPerIp?: number
  health: () => Health
  metrics: () => Promise<{ contentType: string; body: string }>
}

export interface HttpServer {
  /** `http://host:port` with the port actually bound. */
  readonly url: string
  readonly port: number
  /** Socket counts and evictions (for /metrics). */
  sockets(): SocketGuardStats
  close(): Promise<void>
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`)
}

/** Start the server; resolves once it listens (rejects when the address cannot be bound). */
export async function startHttp(init: HttpInit): Promise<HttpServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD', connection: 'close' })
      return
    }
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/healthz') {
      const h = init.health()
      // The PID lets `npm start` and a second relay on the same ports say which process to stop.
      if (h.state === 'running') json(res, 200, { status: 'ok', peerId: h.peerId, addrs: h.addrs, uptimeMs: h.uptimeMs, pid: process.pid })
      else json(res, 503, { status: h.state, peerId: h.peerId, uptimeMs: h.uptimeMs, pid: process.pid })
      return
    }
    if (path === '/metrics') {
      const m = await init.metrics()
      send(res, 200, m.contentType, m.body)
      return
    }
    send(res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz or /metrics\n')
  }

  const server = createServer({
    maxHeaderSize: HTTP_LIMITS.maxHeaderBytes,
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    connectionsCheckingInterval: HTTP_LIMITS.checkIntervalMs,
    keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs
  }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      log.error('request %s failed: %s', req.url, err.message)
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n')
      else res.destroy()
    })
  })
  server.maxRequestsPerSocket = HTTP_LIMITS.maxRequestsPerSocket
  server.setTimeout(HTTP_LIMITS.socketIdleTimeoutMs, (socket) => { socket.destroy() })
  const guard = guardSockets(server, {
    ...(init.maxSockets != null ? { maxSockets: init.maxSockets } : {}),
    ...(init.maxSocketsPerIp != null ? { maxSocketsPerIp: init.maxSocketsPerIp } : {})
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (err) => { log.error('http server error: %s', err.message) })
  const { port } = server.address() as AddressInfo
  const host = init.host.includes(':') ? `[${init.host}]` : init.host
  let closing: Promise<void> | undefined
  return {
    url: `http://${host}:${port}`,
    port,
    sockets: () => guard.stats(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => { resolve() })
        server.closeAllConnections()
      })
      return closing
    }
  }
}

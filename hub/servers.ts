/**
 * The two API listeners:
 *
 * - **gRPC** on HTTP/2 without TLS (h2c, like threadsd's API port): Go clients, grpcurl. Streams
 *   per connection, header list size and connections are bounded; sessions with open streams are
 *   pinged every keep-alive interval (a dead client's Listen ends) and idle sessions are closed.
 * - **web** on HTTP/1.1: gRPC-Web for browsers (CORS for the allowed origins) and WebSocket
 *   upgrades for the grpc-websockets bridge. Header size and time, request time and connections
 *   are bounded.
 *
 * `close()` stops accepting, ends the WebSocket calls, and closes every connection.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createH2Server, type Http2Session } from 'node:http2'
import type { AddressInfo, Server } from 'node:net'
import { logger } from '../src/core/logger.js'
import type { HostPort } from './config.js'
import type { HubMetrics } from './metrics.js'
import type { ApiRouter } from './router.js'
import type { WebSocketBridge } from './websocket.js'

const log = logger('weft:hub:servers')

const MAX_HEADER_BYTES = 16 * 1024
const ALLOW_HEADERS = 'authorization, content-type, x-grpc-web, x-user-agent, grpc-timeout, grpc-accept-encoding, grpc-encoding, connect-protocol-version, connect-timeout-ms'
const EXPOSE_HEADERS = 'grpc-status, grpc-message, grpc-status-details-bin'

export interface ApiServersInit {
  grpc: HostPort
  web: HostPort
  router: ApiRouter
  websocket: WebSocketBridge
  metrics: Pick<HubMetrics, 'connection'>
  allowedOrigins: string[]
  maxStreams: number
  maxConnections: number
  idleTimeoutMs: number
  keepAliveMs: number
}

export interface ApiServers {
  /** `http://host:port` of the gRPC (h2c) port, the port actually bound. */
  readonly grpcUrl: string
  /** `http://host:port` of the gRPC-Web and WebSocket port. */
  readonly webUrl: string
  close(): Promise<void>
}

async function listen(server: Server, at: HostPort): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(at.port, at.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (err) => { log.error('server error: %s', err.message) })
  const { port } = server.address() as AddressInfo
  return `http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${port}`
}

export function originAllowed(allowed: readonly string[], origin: string | undefined): boolean {
  return allowed.includes('*') || origin === undefined || allowed.includes(origin)
}

/** Keep sessions with open streams alive (and drop dead ones); close sessions idle past the timeout. */
function superviseSession(session: Http2Session, init: ApiServersInit): void {
  let streams = 0
  init.metrics.connection('grpc', 1)
  session.once('close', () => {
    clearInterval(ping)
    init.metrics.connection('grpc', -1)
  })
  session.setTimeout(init.idleTimeoutMs, () => { if (streams === 0) session.close() })
  session.on('stream', (stream) => {
    streams++
    stream.once('close', () => {
      streams--
      if (streams === 0) session.setTimeout(init.idleTimeoutMs)
    })
  })
  let waiting = false
  const ping = setInterval(() => {
    if (streams === 0 || session.destroyed) return
    if (waiting) { session.destroy(); return }
    waiting = true
    session.ping((err) => { if (err == null) waiting = false })
  }, init.keepAliveMs)
}

export async function startApiServers(init: ApiServersInit): Promise<ApiServers> {
  const h2 = createH2Server({
    settings: { maxConcurrentStreams: init.maxStreams, maxHeaderListSize: MAX_HEADER_BYTES },
    maxSessionMemory: 64,
    peerMaxConcurrentStreams: init.maxStreams
  }, init.router.node)
  h2.maxConnections = init.maxConnections
  const sessions = new Set<Http2Session>()
  h2.on('session', (session) => {
    sessions.add(session)
    session.once('close', () => { sessions.delete(session) })
    superviseSession(session, init)
  })

  const web = createHttpServer({ maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: 10_000, requestTimeout: 60_000 }, (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin
    if (!originAllowed(init.allowedOrigins, origin)) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' })
      res.end('origin not allowed\n')
      return
    }
    if (origin !== undefined) {
      res.setHeader('access-control-allow-origin', init.allowedOrigins.includes('*') ? '*' : origin)
      res.setHeader('access-control-expose-headers', EXPOSE_HEADERS)
      res.setHeader('vary', 'origin')
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-methods': 'POST, GET, OPTIONS', 'access-control-allow-headers': ALLOW_HEADERS, 'access-control-max-age': '7200' })
      res.end()
      return
    }
    init.router.node(req, res)
  })
  web.maxConnections = init.maxConnections
  web.keepAliveTimeout = 5_000
  web.on('connection', (socket) => {
    init.metrics.connection('web', 1)
    socket.once('close', () => { init.metrics.connection('web', -1) })
  })
  web.on('upgrade', (req, socket, head) => { init.websocket.handleUpgrade(req, socket, head) })

  let grpcUrl: string
  let webUrl: string
  try {
    grpcUrl = await listen(h2, init.grpc)
    webUrl = await listen(web, init.web)
  } catch (err) {
    h2.close()
    web.close()
    throw err
  }

  let closing: Promise<void> | undefined
  return {
    grpcUrl,
    webUrl,
    close() {
      closing ??= (async () => {
        const h2Closed = new Promise<void>((resolve) => { h2.close(() => { resolve() }) })
        const webClosed = new Promise<void>((resolve) => { web.close(() => { resolve() }) })
        await init.websocket.close()
        web.closeAllConnections()
        // HTTP/2 sessions get a GOAWAY; calls in flight finish, streams end with the shutdown signal.
        for (const s of sessions) s.close()
        const timer = setTimeout(() => { for (const s of sessions) s.destroy() }, 5_000)
        await Promise.all([h2Closed, webClosed])
        clearTimeout(timer)
      })()
      return closing
    }
  }
}

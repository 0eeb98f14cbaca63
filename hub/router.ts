/**
 * One router for both APIs, served three ways: gRPC (HTTP/2), gRPC-Web (HTTP/1.1) and the
 * grpc-websockets bridge all call the same handlers, with the same limits (message size, gzip
 * accepted), the same interceptor (metrics, errors as gRPC statuses) and the same shutdown
 * signal (long streams end when the hub stops). A path that names no method answers the gRPC
 * status `Unimplemented` (not an HTTP 404), so gRPC clients report it as such.
 */
import { Code, createConnectRouter } from '@connectrpc/connect'
import type { UniversalHandler } from '@connectrpc/connect/protocol'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node'
import { logger } from '../src/core/logger.js'
import type { ApiContext } from './api.js'
import { dbService } from './db-service.js'
import { API as DBAPI } from './gen/threads_pb.js'
import { API as NetAPI } from './gen/threadsnet_pb.js'
import type { HubMetrics } from './metrics.js'
import { netService } from './net-service.js'

const log = logger('weft:hub:router')

/** A request listener for Node's http and http2 servers. */
export type NodeHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void

export interface ApiRouterInit {
  api: ApiContext
  metrics: HubMetrics
  /** Largest request or response message, bytes. */
  maxMessageBytes: number
  /** Aborted when the hub stops: long streams (Listen, Subscribe) end. */
  shutdownSignal: AbortSignal
}

export interface ApiRouter {
  /** Handlers by request path (`/threads.pb.API/Create`…). */
  readonly handlers: ReadonlyMap<string, UniversalHandler>
  /** A Node request listener for http and http2 servers. */
  readonly node: NodeHandler
}

/** Percent-encode a grpc-message value as the gRPC spec asks. */
export function encodeGrpcMessage(message: string): string {
  return encodeURIComponent(message).replace(/%20/g, ' ')
}

/** Headers of a response that is only a status (gRPC "trailers-only"). */
export function statusOnlyHeaders(code: Code, message: string, contentType = 'application/grpc'): Record<string, string> {
  return { 'content-type': contentType, 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) }
}

export function createApiRouter(init: ApiRouterInit): ApiRouter {
  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    readMaxBytes: init.maxMessageBytes,
    writeMaxBytes: init.maxMessageBytes,
    shutdownSignal: init.shutdownSignal,
    interceptors: [init.metrics.interceptor]
  })
  router.service(DBAPI, dbService(init.api))
  router.service(NetAPI, netService(init.api))
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]))

  const node: NodeHandler = (req, res) => {
    const path = (req.url ?? '').split('?', 1)[0] ?? ''
    const handler = handlers.get(path)
    if (handler === undefined) {
      const type = String(req.headers['content-type'] ?? '')
      if (type.startsWith('application/grpc')) {
        // gRPC and gRPC-Web clients read a status from the headers of a body-less response; over
        // HTTP/2 those headers end the stream (gRPC's "trailers-only" response).
        const headers = statusOnlyHeaders(Code.Unimplemented, `unknown method ${path}`, type.startsWith('application/grpc-web') ? 'application/grpc-web+proto' : 'application/grpc')
        if ('stream' in res) {
          res.stream.respond({ ':status': 200, ...headers }, { endStream: true })
          return
        }
        res.writeHead(200, headers)
      } else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      }
      res.end()
      return
    }
    if (handler.method.methodKind === 'bidi_streaming' && req.httpVersionMajor === 1) {
      // HTTP/1.1 cannot carry both directions at once: say so as a gRPC status.
      res.writeHead(200, statusOnlyHeaders(Code.Unimplemented, `${handler.method.name} is a bidirectional stream: call it over gRPC (HTTP/2) or the grpc-websockets transport`, 'application/grpc-web+proto'))
      res.end()
      return
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, undefined)
    handler(uReq)
      .then(async (uRes) => { await universalResponseToNodeResponse(uRes, res) })
      .catch((err: Error) => { log('%s: response not delivered: %s', path, err.message) })
  }
  return { handlers, node }
}

/**
 * The `grpc-websockets` transport of improbable-eng's gRPC-Web client, which the published JS
 * client (`@textile/threads-client`) uses for every call — one WebSocket per call:
 *
 * - client → hub: the first message is a header block (`name: value\r\n` lines, printable ASCII);
 *   then each message is `0x00` followed by request bytes (gRPC frames: flag, 4-byte length,
 *   message), and the single byte `0x01` ends the client stream;
 * - hub → client: a header frame (`0x80`, 4-byte length, `Name: value\r\n` lines), then gRPC-Web
 *   data frames and a trailer frame (`0x80`, `grpc-status`, `grpc-message`), after which the hub
 *   closes the socket normally.
 *
 * The bridge turns a socket into a request to the same handlers as gRPC-Web (the response body
 * *is* gRPC-Web framing). Everything is bounded: header block size, message size (a larger
 * WebSocket message is ResourceExhausted, one past twice the limit closes the socket), queued messages (the socket is paused), silence before
 * the client ends its stream, and sockets at once. A malformed frame answers `InvalidArgument`.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { Code, ConnectError } from '@connectrpc/connect'
import type { UniversalHandler, UniversalServerRequest } from '@connectrpc/connect/protocol'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { logger } from '../src/core/logger.js'
import { IdleTimeoutError, MalformedFrameError, MessageTooLargeError } from './errors.js'
import type { HubMetrics } from './metrics.js'
import { encodeGrpcMessage } from './router.js'
import { toStatus } from './status.js'

const log = logger('weft:hub:websocket')

export const WEBSOCKET_PROTOCOL = 'grpc-websockets'
/** Largest header block a client may send. */
export const MAX_HEADER_BLOCK_BYTES = 16 * 1024
/** Request chunks queued before the socket is paused. */
const HIGH_WATER = 16
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

export interface WebSocketBridgeInit {
  handlers: ReadonlyMap<string, UniversalHandler>
  /** Largest request message; a WebSocket message larger than this plus framing closes the socket. */
  maxMessageBytes: number
  /** Silence allowed before the header block and before the client ends its stream. */
  idleTimeoutMs: number
  /** Ping interval; a socket that misses a pong is dropped. */
  keepAliveMs: number
  maxSockets: number
  allowOrigin(origin: string | undefined): boolean
  metrics: Pick<HubMetrics, 'connection' | 'badFrame'>
}

export interface WebSocketBridge {
  /** Take over an HTTP upgrade request (the web server's `upgrade` event). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  readonly sockets: number
  /** End every call with `Unavailable` and close every socket. */
  close(): Promise<void>
}

/** A header block as Headers; throws MalformedFrameError or MessageTooLargeError. */
export function parseHeaderBlock(bytes: Uint8Array): Headers {
  if (bytes.byteLength > MAX_HEADER_BLOCK_BYTES) throw new MessageTooLargeError(`the header block is larger than ${MAX_HEADER_BLOCK_BYTES} bytes`)
  for (const b of bytes) {
    if (!(b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b <= 0x7e))) throw new MalformedFrameError('the header block is not printable ASCII')
  }
  const headers = new Headers()
  for (const line of Buffer.from(bytes).toString('latin1').split('\r\n')) {
    if (line === '') continue
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim()
    if (colon <= 0 || !HEADER_NAME.test(name)) throw new MalformedFrameError(`malformed header line ${JSON.stringify(line.slice(0, 64))}`)
    headers.append(name, line.slice(colon + 1).trim())
  }
  return headers
}

/** A gRPC-Web header or trailer frame. */
export function headerFrame(headers: Iterable<[string, string]>): Uint8Array {
  let text = ''
  for (const [k, v] of headers) text += `${k}: ${v}\r\n`
  const body = Buffer.from(text, 'latin1')
  const frame = new Uint8Array(5 + body.byteLength)
  frame[0] = 0x80
  new DataView(frame.buffer).setUint32(1, body.byteLength)
  frame.set(body, 5)
  return frame
}

function bytesOf(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data
}

/** One call on one socket. */
function serveSocket(ws: WebSocket, path: string, init: WebSocketBridgeInit): { fail(code: Code, message: string): void } {
  const abort = new AbortController()
  const queue: Uint8Array[] = []
  let wake: (() => void) | undefined
  let clientEnded = false
  let broken: Error | undefined
  let state = 'waiting' as 'waiting' | 'running' | 'headers' | 'done'
  /** Read through a function: the state changes across awaits. */
  const done = (): boolean => state === 'done'
  let idle: ReturnType<typeof setTimeout> | undefined
  let alive = true

  const notify = (): void => { const w = wake; wake = undefined; w?.() }
  const resetIdle = (): void => {
    clearTimeout(idle)
    if (!clientEnded) idle = setTimeout(() => { fail(Code.DeadlineExceeded, new IdleTimeoutError(`no message from the client within ${init.idleTimeoutMs} ms`).message) }, init.idleTimeoutMs)
  }
  const send = async (bytes: Uint8Array): Promise<void> => {
    if (ws.readyState !== ws.OPEN) return
    await new Promise<void>((resolve) => { ws.send(bytes, () => { resolve() }) })
  }
  const finish = (): void => {
    if (state === 'done') return
    state = 'done'
    clearTimeout(idle)
    clearInterval(ping)
    abort.abort()
    broken ??= new ConnectError('the call ended', Code.Canceled)
    notify()
  }
  /** End the call with a status: trailers-only before the header frame, a trailer frame after it. */
  function fail(code: Code, message: string): void {
    if (state === 'done') return
    const frame = headerFrame([['grpc-status', String(code)], ['grpc-message', encodeGrpcMessage(message)]])
    const pre = state === 'headers' ? [] : [headerFrame([['content-type', 'application/grpc-web+proto']])]
    finish()
    if (ws.readyState === ws.OPEN) {
      for (const f of [...pre, frame]) ws.send(f)
      ws.close(1000)
    }
  }

  const body: AsyncIterable<Uint8Array> = {
    async * [Symbol.asyncIterator]() {
      for (;;) {
        const next = queue.shift()
        if (next !== undefined) {
          if (ws.isPaused && queue.length < HIGH_WATER / 2) ws.resume()
          yield next
          continue
        }
        if (broken !== undefined) throw broken
        if (clientEnded) return
        await new Promise<void>((resolve) => { wake = resolve })
      }
    }
  }

  async function run(header: Headers): Promise<void> {
    const handler = init.handlers.get(path)
    if (handler === undefined) { fail(Code.Unimplemented, `unknown method ${path}`); return }
    if (!header.has('content-type')) header.set('content-type', 'application/grpc-web+proto')
    const request: UniversalServerRequest = { httpVersion: '2.0', url: `http://websocket${path}`, method: 'POST', header, body, signal: abort.signal }
    state = 'running'
    const res = await handler(request)
    if (done()) return
    if (res.status !== 200) {
      fail(res.status === 415 ? Code.InvalidArgument : Code.Unknown, `the request was refused (HTTP ${res.status}): send content-type application/grpc-web+proto`)
      return
    }
    const head = new Headers(res.header)
    if (!head.has('content-type')) head.set('content-type', 'application/grpc-web+proto')
    state = 'headers'
    await send(headerFrame(head))
    for await (const chunk of res.body ?? []) {
      if (done()) return
      await send(chunk)
    }
    if (done()) return
    finish()
    ws.close(1000)
  }

  ws.on('message', (data, isBinary) => {
    if (state === 'done') return
    const bytes = bytesOf(data)
    if (state === 'waiting') {
      let header: Headers
      try {
        header = parseHeaderBlock(bytes)
      } catch (err) {
        init.metrics.badFrame()
        fail(toStatus(err).code, (err as Error).message)
        return
      }
      resetIdle()
      run(header).catch((err: unknown) => { const s = toStatus(err); fail(s.code, s.rawMessage) })
      return
    }
    if (clientEnded) return // the Go server ignores what follows the end of the client stream
    if (isBinary && bytes.byteLength === 1 && bytes[0] === 0x01) {
      clientEnded = true
      clearTimeout(idle)
      notify()
      return
    }
    if (!isBinary || bytes.byteLength < 1 || bytes[0] !== 0x00) {
      init.metrics.badFrame()
      broken = new MalformedFrameError('expected a binary message starting with 0x00 (data) or the single byte 0x01 (end of stream)')
      fail(Code.InvalidArgument, broken.message)
      return
    }
    if (bytes.byteLength - 1 > init.maxMessageBytes + 5) {
      fail(Code.ResourceExhausted, new MessageTooLargeError(`a message is larger than ${init.maxMessageBytes} bytes`).message)
      return
    }
    resetIdle()
    queue.push(bytes.subarray(1))
    if (queue.length >= HIGH_WATER) ws.pause()
    notify()
  })
  ws.on('pong', () => { alive = true })
  ws.on('error', (err) => { log('socket %s: %s', path, err.message) })
  ws.on('close', () => {
    // The client went away: a call still running is cancelled (its transaction discarded).
    if (state !== 'done') {
      broken = new ConnectError('the client closed the socket', Code.Canceled)
      finish()
    }
  })
  const ping = setInterval(() => {
    if (!alive) { ws.terminate(); return }
    alive = false
    ws.ping()
  }, init.keepAliveMs)
  resetIdle()
  return { fail }
}

export function createWebSocketBridge(init: WebSocketBridgeInit): WebSocketBridge {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // Messages up to twice the limit get a ResourceExhausted status; larger ones close the socket (1009).
    maxPayload: 2 * init.maxMessageBytes + 1024,
    handleProtocols: (protocols) => (protocols.has(WEBSOCKET_PROTOCOL) ? WEBSOCKET_PROTOCOL : false)
  })
  const live = new Set<{ ws: WebSocket; call: { fail(code: Code, message: string): void } }>()
  const refuse = (socket: Duplex, status: string): void => {
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
  }

  return {
    handleUpgrade(req, socket, head) {
      const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
      if (!protocols.includes(WEBSOCKET_PROTOCOL)) { refuse(socket, '400 Bad Request'); return }
      if (!init.allowOrigin(req.headers.origin)) { refuse(socket, '403 Forbidden'); return }
      if (live.size >= init.maxSockets) { refuse(socket, '503 Service Unavailable'); return }
      const path = (req.url ?? '/').split('?', 1)[0] ?? '/'
      wss.handleUpgrade(req, socket, head, (ws) => {
        init.metrics.connection('websocket', 1)
        const entry = { ws, call: serveSocket(ws, path, init) }
        live.add(entry)
        ws.once('close', () => {
          live.delete(entry)
          init.metrics.connection('websocket', -1)
        })
      })
    },

    get sockets() { return live.size },

    async close() {
      const closed = [...live].map(async ({ ws, call }) => {
        const gone = new Promise<void>((resolve) => { ws.once('close', () => { resolve() }) })
        call.fail(Code.Unavailable, 'the hub is shutting down')
        const timer = setTimeout(() => { ws.terminate() }, 2000)
        await gone
        clearTimeout(timer)
      })
      await Promise.all(closed)
      wss.close()
    }
  }
}

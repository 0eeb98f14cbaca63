/**
 * A Connect transport over the grpc-websockets protocol (improbable-eng's, as the published JS
 * client speaks it), written from the protocol, for tests: one WebSocket per call; the header
 * block first, each request chunk as `0x00` + bytes, `0x01` to end the client stream; the answer
 * is a header frame followed by gRPC-Web framing until the hub closes the socket.
 */
import { Code, ConnectError, type Transport } from '@connectrpc/connect'
import type { UniversalClientFn, UniversalClientResponse } from '@connectrpc/connect/protocol'
import { createTransport } from '@connectrpc/connect/protocol-grpc-web'
import WebSocket from 'ws'

const ws = (url: string): string => url.replace(/^http/, 'ws')

/** Bytes received on a socket, as an async iterable that ends when the socket closes. */
function inbox(socket: WebSocket, signal: AbortSignal | undefined): { next(n: number): Promise<Uint8Array | undefined>; rest(): AsyncIterable<Uint8Array> } {
  const chunks: Uint8Array[] = []
  let buffered = new Uint8Array(0)
  let closed: { error?: Error } | undefined
  let wake: (() => void) | undefined
  socket.on('message', (data: Buffer) => { chunks.push(new Uint8Array(data)); wake?.() })
  socket.on('close', (code) => { closed = code === 1000 || code === 1005 ? {} : { error: new Error(`the socket closed with ${code}`) }; wake?.() })
  socket.on('error', (err) => { closed = { error: err }; wake?.() })
  const wait = async (): Promise<void> => { await new Promise<void>((r) => { wake = r }); wake = undefined }
  return {
    async next(n) {
      for (;;) {
        while (chunks.length > 0) buffered = Uint8Array.from([...buffered, ...chunks.shift()!])
        if (buffered.byteLength >= n) {
          const out = buffered.subarray(0, n)
          buffered = buffered.subarray(n)
          return out
        }
        if (closed !== undefined) return undefined
        await wait()
      }
    },
    async * rest() {
      if (buffered.byteLength > 0) yield buffered
      for (;;) {
        const c = chunks.shift()
        if (c !== undefined) { yield c; continue }
        if (signal?.aborted === true) throw new ConnectError('the call was cancelled', Code.Canceled)
        if (closed?.error !== undefined) throw closed.error
        if (closed !== undefined) return
        await wait()
      }
    }
  }
}

export function parseHeaderText(text: string): Headers {
  const h = new Headers()
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0) h.append(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  return h
}

const webSocketClient: UniversalClientFn = async (req) => {
  const socket = new WebSocket(ws(req.url), ['grpc-websockets'])
  const box = inbox(socket, req.signal)
  req.signal?.addEventListener('abort', () => { socket.close() })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => { resolve() })
    socket.once('error', reject)
  })
  let block = ''
  req.header.forEach((v, k) => { block += `${k}: ${v}\r\n` })
  socket.send(Buffer.from(block, 'latin1'))
  void (async () => {
    for await (const chunk of req.body ?? []) socket.send(Uint8Array.from([0, ...chunk]))
    socket.send(Uint8Array.of(1))
  })().catch(() => { socket.close() })
  const prefix = await box.next(5)
  if (prefix === undefined) throw new Error('the socket closed before the header frame')
  const len = new DataView(prefix.buffer, prefix.byteOffset).getUint32(1)
  const head = await box.next(len)
  if ((prefix[0]! & 0x80) === 0 || head === undefined) throw new Error('expected a header frame first')
  const res: UniversalClientResponse = { status: 200, header: parseHeaderText(Buffer.from(head).toString('latin1')), body: box.rest(), trailer: new Headers() }
  return res
}

/** A transport to the hub's web port over grpc-websockets. */
export function createWebSocketTransport(baseUrl: string): Transport {
  return createTransport({
    httpClient: webSocketClient,
    baseUrl,
    useBinaryFormat: true,
    interceptors: [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    readMaxBytes: 64 * 1024 * 1024,
    writeMaxBytes: 64 * 1024 * 1024
  })
}

/**
 * Hostile or broken input gets a gRPC status and never takes the hub down: malformed
 * grpc-websockets frames and header blocks, oversized messages, unknown methods, undecodable
 * messages and IDs, and clients that go silent while holding a transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect as connectH2, constants as h2 } from 'node:http2'
import { Code } from '@connectrpc/connect'
import WebSocket from 'ws'
import { newThreadID, threadIDToBytes } from '../../src/core/thread-id.js'
import type { Hub } from '../../hub/hub.js'
import { cleanupHubs, clientsFor, enc, messages, rejection, startTestHub, TRANSPORTS } from './harness.js'
import { parseHeaderText } from './ws-transport.js'

const LIMIT = 64 * 1024


/** One grpc-websockets call with raw frames: every message the hub sends, then how it closed. */
async function rawSocket(url: string, path: string, frames: Array<Uint8Array | string>): Promise<{ frames: Uint8Array[]; code: number }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`, ['grpc-websockets'])
  const got: Uint8Array[] = []
  ws.on('message', (d: Buffer) => { got.push(new Uint8Array(d)) })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => { resolve() }); ws.once('error', reject) })
  for (const f of frames) ws.send(f, { binary: typeof f !== 'string' })
  const code = await new Promise<number>((resolve) => { ws.once('close', (c) => { resolve(c) }) })
  return { frames: got, code }
}

/** The gRPC status in the last header frame a socket received. */
function statusOf(frames: Uint8Array[]): { code: number; message: string } {
  const all = Buffer.concat(frames)
  let at = 0
  let last: Headers | undefined
  while (at + 5 <= all.byteLength) {
    const len = all.readUInt32BE(at + 1)
    if ((all[at]! & 0x80) !== 0) last = parseHeaderText(all.subarray(at + 5, at + 5 + len).toString('latin1'))
    at += 5 + len
  }
  return { code: Number(last?.get('grpc-status')), message: decodeURIComponent(last?.get('grpc-message') ?? '') }
}

const header = (extra = ''): Uint8Array => Buffer.from(`content-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\n${extra}`, 'latin1')
const grpcFrame = (msg: Uint8Array): Uint8Array<ArrayBuffer> => { const f = new Uint8Array(5 + msg.byteLength); new DataView(f.buffer).setUint32(1, msg.byteLength); f.set(msg, 5); return f }
const data = (bytes: Uint8Array): Uint8Array => Uint8Array.from([0, ...bytes])

let hub: Hub

beforeAll(async () => { hub = await startTestHub({ WEFT_HUB_MAX_MESSAGE_BYTES: String(LIMIT), WEFT_HUB_IDLE_TIMEOUT_MS: '1500' }) })
afterAll(async () => { await cleanupHubs() })

describe('grpc-websockets frames', () => {
  it('answers a frame that is neither data nor end of stream with InvalidArgument', async () => {
    const r = await rawSocket(hub.webUrl, '/threads.pb.API/ListDBs', [header(), Uint8Array.of(7, 1, 2, 3)])
    expect(statusOf(r.frames)).toMatchObject({ code: Code.InvalidArgument, message: expect.stringMatching(/0x00 \(data\)/) as unknown as string })
    expect(r.code).toBe(1000)
  })

  it('answers a text frame after the header block with InvalidArgument', async () => {
    const r = await rawSocket(hub.webUrl, '/threads.pb.API/ListDBs', [header(), 'hello'])
    expect(statusOf(r.frames).code).toBe(Code.InvalidArgument)
  })

  it('answers a header block that is not printable ASCII or not name: value lines with InvalidArgument', async () => {
    expect(statusOf((await rawSocket(hub.webUrl, '/threads.pb.API/ListDBs', [Uint8Array.of(0xff, 0xfe, 0x0d, 0x0a)])).frames).code).toBe(Code.InvalidArgument)
    expect(statusOf((await rawSocket(hub.webUrl, '/threads.pb.API/ListDBs', [Buffer.from('no colon here\r\n')])).frames).code).toBe(Code.InvalidArgument)
  })

  it('answers a header block past 16 KiB with ResourceExhausted', async () => {
    const r = await rawSocket(hub.webUrl, '/threads.pb.API/ListDBs', [header(`x-big: ${'a'.repeat(17 * 1024)}\r\n`)])
    expect(statusOf(r.frames).code).toBe(Code.ResourceExhausted)
  })

  it('answers an undecodable message with Internal, as gRPC servers do, and keeps serving', async () => {
    const r = await rawSocket(hub.webUrl, '/threads.pb.API/ListDBs', [header(), data(grpcFrame(Uint8Array.of(0xff, 0xff, 0xff))), Uint8Array.of(1)])
    expect(statusOf(r.frames).code).toBe(Code.Internal)
    const ok = await rawSocket(hub.webUrl, '/threads.pb.API/ListDBs', [header(), data(grpcFrame(new Uint8Array(0))), Uint8Array.of(1)])
    expect(statusOf(ok.frames).code).toBe(0)
  })

  it('ends a socket that sends no header block within the idle timeout with DeadlineExceeded', async () => {
    const r = await rawSocket(hub.webUrl, '/threads.pb.API/ListDBs', [])
    expect(statusOf(r.frames).code).toBe(Code.DeadlineExceeded)
  })

  it('refuses an upgrade without the grpc-websockets subprotocol', async () => {
    const ws = new WebSocket(`${hub.webUrl.replace(/^http/, 'ws')}/threads.pb.API/ListDBs`)
    const res = await new Promise<number>((resolve) => { ws.once('unexpected-response', (_req, r) => { resolve(r.statusCode ?? 0) }) })
    expect(res).toBe(400)
  })

  it('closes a socket whose WebSocket message is past the hard cap', async () => {
    const r = await rawSocket(hub.webUrl, '/threads.pb.API/ListDBs', [header(), new Uint8Array(4 * LIMIT)])
    expect(r.code).toBe(1009)
  })
})

describe.each(TRANSPORTS)('over %s', (transport) => {
  it('a message past the size limit is ResourceExhausted and the next call succeeds', async () => {
    const c = clientsFor(transport, hub)
    const dbID = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID, collections: [{ name: 'Blobs' }] })
    const err = await rejection(c.db.create({ dbID, collectionName: 'Blobs', instances: [enc({ data: 'x'.repeat(LIMIT + 1000) })] }))
    expect(err.code).toBe(Code.ResourceExhausted)
    await c.db.create({ dbID, collectionName: 'Blobs', instances: [enc({ data: 'small' })] })
  })

  it('malformed IDs, JSON and queries are InvalidArgument', async () => {
    const c = clientsFor(transport, hub)
    const dbID = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID, collections: [{ name: 'Things' }] })
    expect((await rejection(c.db.find({ dbID: Uint8Array.of(1, 2, 3), collectionName: 'Things' }))).code).toBe(Code.InvalidArgument)
    expect((await rejection(c.db.find({ dbID: new Uint8Array(0), collectionName: 'Things' }))).code).toBe(Code.InvalidArgument)
    const json = await rejection(c.db.create({ dbID, collectionName: 'Things', instances: [new TextEncoder().encode('{nope')] }))
    expect(json.code).toBe(Code.InvalidArgument)
    expect(json.rawMessage).toMatch(/unmarshaling json/)
    expect((await rejection(c.db.create({ dbID, collectionName: 'Things', instances: [enc([1, 2])] }))).code).toBe(Code.InvalidArgument)
    expect((await rejection(c.db.create({ dbID, collectionName: 'Things', instances: [new TextEncoder().encode('{"__proto__":{"x":1},"a":1}')] }))).code).toBe(Code.InvalidArgument)
    expect((await rejection(c.db.find({ dbID, collectionName: 'Things', queryJSON: enc({ ands: [{ fieldPath: 'a', operation: 99, value: { float: 1 } }] }) }))).code).toBe(Code.InvalidArgument)
    expect((await rejection(c.db.newDBFromAddr({ addr: Uint8Array.of(1, 2, 3), key: new Uint8Array(64) }))).code).toBe(Code.InvalidArgument)
    expect((await rejection(c.net.getRecord({ threadID: dbID, recordID: Uint8Array.of(9, 9) }))).code).toBe(Code.InvalidArgument)
  })
})

describe('unknown methods', () => {
  it('answer Unimplemented over gRPC', async () => {
    const session = connectH2(hub.grpcUrl)
    const stream = session.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: '/threads.pb.API/Nope', 'content-type': 'application/grpc', te: 'trailers' })
    stream.end(grpcFrame(new Uint8Array(0)))
    const headers = await new Promise<Record<string, unknown>>((resolve) => { stream.once('response', (h) => { resolve(h) }) })
    expect(Number(headers['grpc-status'])).toBe(Code.Unimplemented)
    session.close()
  })

  it('answer Unimplemented over gRPC-Web', async () => {
    const res = await fetch(`${hub.webUrl}/threads.pb.API/Nope`, { method: 'POST', headers: { 'content-type': 'application/grpc-web+proto' }, body: grpcFrame(new Uint8Array(0)) })
    expect(Number(res.headers.get('grpc-status'))).toBe(Code.Unimplemented)
  })

  it('answer Unimplemented over grpc-websockets', async () => {
    const r = await rawSocket(hub.webUrl, '/threads.pb.API/Nope', [header(), data(grpcFrame(new Uint8Array(0))), Uint8Array.of(1)])
    expect(statusOf(r.frames)).toMatchObject({ code: Code.Unimplemented, message: 'unknown method /threads.pb.API/Nope' })
  })
})

describe('a client that goes silent in a write transaction', () => {
  it.each(['grpc', 'websocket'] as const)('over %s is ended with DeadlineExceeded and the DB lock is released', async (transport) => {
    const c = clientsFor(transport, hub)
    const dbID = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID, collections: [{ name: 'Things' }] })
    async function * silent() {
      yield * messages(
        { option: { case: 'startTransactionRequest' as const, value: { dbID, collectionName: 'Things' } } },
        { option: { case: 'createRequest' as const, value: { instances: [enc({ _id: 'held' })] } } }
      )
      await new Promise((r) => setTimeout(r, 10_000))
    }
    const call = rejection((async () => { for await (const _ of c.db.writeTransaction(silent())) { /* replies */ } })())
    const t0 = Date.now()
    // This write waits for the transaction's lock, which the idle timeout frees.
    await c.db.create({ dbID, collectionName: 'Things', instances: [enc({ _id: 'after' })] })
    expect(Date.now() - t0).toBeLessThan(8_000)
    expect((await call).code).toBe(Code.DeadlineExceeded)
    expect((await c.db.has({ dbID, collectionName: 'Things', instanceIDs: ['held'] })).exists).toBe(false)
  })
})

describe('origins on the web port', () => {
  it('answer the allowed origin\'s CORS preflight and refuse other origins over HTTP and WebSocket', async () => {
    const only = await startTestHub({ WEFT_HUB_ALLOWED_ORIGINS: 'https://app.example.com' })
    const path = `${only.webUrl}/threads.pb.API/ListDBs`
    const preflight = await fetch(path, { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/)
    const foreign = await fetch(path, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/grpc-web+proto' }, body: grpcFrame(new Uint8Array(0)) })
    expect(foreign.status).toBe(403)
    const ws = new WebSocket(`${only.webUrl.replace(/^http/, 'ws')}/threads.pb.API/ListDBs`, ['grpc-websockets'], { origin: 'https://evil.example' })
    expect(await new Promise<number>((resolve) => { ws.once('unexpected-response', (_req, r) => { resolve(r.statusCode ?? 0) }) })).toBe(403)
    const allowed = await fetch(path, { method: 'POST', headers: { origin: 'https://app.example.com', 'content-type': 'application/grpc-web+proto' }, body: grpcFrame(new Uint8Array(0)) })
    expect(allowed.headers.get('grpc-status') ?? '0').toBe('0')
    expect(allowed.headers.get('access-control-expose-headers')).toMatch(/grpc-status/)
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { lpStream } from '@libp2p/utils'
import { generateKeyPair } from '../../src/core/identity.js'
import { logIDFromPublicKey, logIDToBytes } from '../../src/core/log-id.js'
import { sealRecord } from '../../src/core/record.js'
import { newThreadID, threadIDToBytes } from '../../src/core/thread-id.js'
import { newThreadKey, parseThreadKey, threadKeyToString, type ReadableThreadKey } from '../../src/core/thread-key.js'
import type { ThreadID } from '../../src/core/types.js'
import { authProof } from '../../src/net/auth.js'
import { encodeMessage, PROTOCOL, MAX_FRAME_BYTES, type Request } from '../../src/net/messages.js'
import { request } from '../../src/net/rpc.js'
import type { Peer } from '../../src/node/peer.js'
import { counterOf, startPeer, stopAll, until } from './helpers.js'

afterEach(async () => { await stopAll() })

/** A thread on A that honest B has joined, and a stranger X connected to A. */
async function setup(init: { maxStrikes?: number; streamTimeoutMs?: number } = {}): Promise<{ a: Peer; b: Peer; x: Peer; id: ThreadID; key: ReadableThreadKey }> {
  const a = await startPeer(init)
  const b = await startPeer()
  const x = await startPeer()
  const id = newThreadID()
  const info = await a.net.createThread(id)
  await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
  await x.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
  return { a, b, x, id, key: parseThreadKey(info.key) as ReadableThreadKey }
}

function proof(key: Uint8Array, id: ThreadID, from: Peer, to: Peer): Uint8Array {
  return authProof(key, threadIDToBytes(id), from.libp2p.peerId.toMultihash().bytes, to.libp2p.peerId.toMultihash().bytes)
}

async function honestStillSyncs(a: Peer, b: Peer, id: ThreadID, n: number): Promise<void> {
  const sub = b.net.subscribe({ threads: [id] })
  const seen: unknown[] = []
  const got = (async () => {
    for await (const rec of sub) {
      seen.push(rec.body)
      if ((rec.body as { honest?: number } | undefined)?.honest === n) return rec
    }
    return undefined
  })()
  const sent = await a.net.createRecord(id, { honest: n })
  const rec = await Promise.race([got, new Promise<undefined>((resolve) => setTimeout(resolve, 10_000, undefined))])
  expect(rec?.cid.toString(), `B saw ${JSON.stringify(seen)}`).toBe(sent.cid.toString())
}

/** Send raw bytes as one request on a fresh stream; resolve with what happened to the stream. */
async function sendRaw(from: Peer, to: Peer, payload: Uint8Array, lengthOverride?: number): Promise<'reset' | 'answered'> {
  const stream = await from.libp2p.dialProtocol(to.libp2p.peerId, PROTOCOL)
  if (lengthOverride != null) {
    // a varint length header claiming more than the limit, then some bytes
    const header: number[] = []
    let v = lengthOverride
    while (v >= 0x80) { header.push((v & 0x7f) | 0x80); v = Math.floor(v / 128) }
    header.push(v)
    stream.send(new Uint8Array([...header, ...payload]))
  } else {
    await lpStream(stream).write(payload)
  }
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    await lp.read({ signal: AbortSignal.timeout(5_000) })
    return 'answered'
  } catch {
    return 'reset'
  }
}

describe('access to a thread needs the service key', () => {
  it('gives a peer without the service key an error and no data', async () => {
    const { a, x, id } = await setup()
    const wrong = newThreadKey()
    await a.net.createRecord(id, { secret: 1 })
    const addr = (await a.net.getThread(id)).addrs[0]!
    await expect(x.net.addThread(addr, { threadKey: threadKeyToString(wrong) }))
      .rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'UNAUTHORIZED' })
    const mine = await x.net.getThread(id)
    expect(mine.logs.every((l) => l.head.counter === 0)).toBe(true)
    expect(mine.logs.some((l) => !l.managed)).toBe(false)
  })

  it('rejects a proof made for another thread, another peer pair, or replayed by another peer', async () => {
    const { a, b, x, id, key } = await setup()
    const other = newThreadID()
    await a.net.createThread(other, { threadKey: threadKeyToString(key) })
    const ask = async (from: Peer, auth: Uint8Array, thread = id): Promise<unknown> =>
      await request(from.libp2p, a.libp2p.peerId, { type: 'getLogs', thread: threadIDToBytes(thread), auth })
    // the right proof works (control)
    await expect(ask(x, proof(key.service, id, x, a))).resolves.toMatchObject({ type: 'logs' })
    // made for another thread
    await expect(ask(x, proof(key.service, other, x, a), id)).rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'UNAUTHORIZED' })
    // made for another pair (responder B instead of A)
    await expect(ask(x, proof(key.service, id, x, b))).rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'UNAUTHORIZED' })
    // B's valid proof replayed by X
    await expect(ask(x, proof(key.service, id, b, a))).rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'UNAUTHORIZED' })
    // an unknown thread looks exactly like a wrong key
    const unknown = newThreadID()
    await expect(ask(x, proof(key.service, unknown, x, a), unknown)).rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'UNAUTHORIZED' })
  })
})

describe('hostile peers are refused and honest peers keep syncing', () => {
  it('resets the stream on a garbled frame and disconnects a repeat offender', async () => {
    const { a, b, x, id } = await setup({ maxStrikes: 3 })
    expect(await sendRaw(x, a, new Uint8Array([0xff, 0x00, 0x13, 0x37]))).toBe('reset')
    expect(a.net.stats().rejected).toBe(1)
    await honestStillSyncs(a, b, id, 1)
    expect(await sendRaw(x, a, encodeMessage({ type: 'nonsense' } as unknown as Request))).toBe('reset')
    const disconnected = new Promise<void>((resolve) => {
      a.libp2p.addEventListener('peer:disconnect', (e) => { if (e.detail.equals(x.libp2p.peerId)) resolve() })
    })
    expect(await sendRaw(x, a, new Uint8Array([0xa1, 0x61]))).toBe('reset')
    await disconnected
    expect(a.libp2p.getConnections(x.libp2p.peerId)).toHaveLength(0)
    await honestStillSyncs(a, b, id, 2)
  })

  it('resets the stream on an oversized message without reading it', async () => {
    const { a, b, x, id } = await setup()
    expect(await sendRaw(x, a, new Uint8Array(16), MAX_FRAME_BYTES + 1)).toBe('reset')
    expect(a.net.stats().rejected).toBe(1)
    await honestStillSyncs(a, b, id, 1)
  })

  it('refuses records with a bad signature, a broken prev link, or for an unknown log, and stores nothing', async () => {
    const { a, b, x, id, key } = await setup({ maxStrikes: 100 })
    const bLog = (await b.net.getThread(id)).logs.find((l) => l.managed)!.id
    const head = await counterOf(a, id)
    // a record for B's log signed by another key
    const forger = await generateKeyPair()
    const forged = await sealRecord({ body: { evil: true }, threadKey: key, logKey: forger, time: { wall: Date.now(), counter: 0 } })
    const push = async (log: Uint8Array, counter: number, blocks: typeof forged): Promise<unknown> => await request(x.libp2p, a.libp2p.peerId, {
      type: 'pushRecord', thread: threadIDToBytes(id), auth: proof(key.service, id, x, a), log, counter,
      blocks: [blocks.record.bytes, blocks.event.bytes, blocks.header.bytes, blocks.body.bytes]
    })
    await expect(push(logIDToBytes(bLog), 1, forged)).rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'INVALID_RECORD' })
    // a record of a log we know whose prev does not link to the head: the log's own key, wrong prev
    const own = await generateKeyPair()
    const ownLog = logIDFromPublicKey(own.publicKey)
    await request(x.libp2p, a.libp2p.peerId, {
      type: 'pushLog', thread: threadIDToBytes(id), auth: proof(key.service, id, x, a),
      log: { id: logIDToBytes(ownLog), pubKey: (await import('../../src/core/identity.js')).publicKeyToBytes(own.publicKey), addrs: [], counter: 0 }
    })
    const first = await sealRecord({ body: { n: 1 }, threadKey: key, logKey: own, time: { wall: Date.now(), counter: 0 } })
    const dangling = await sealRecord({ body: { n: 2 }, threadKey: key, logKey: own, prev: forged.record.cid, time: { wall: Date.now(), counter: 1 } })
    await expect(push(logIDToBytes(ownLog), 1, dangling)).rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'INVALID_RECORD' })
    // a gap is not accepted either
    await expect(push(logIDToBytes(ownLog), 2, dangling)).rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'GAP' })
    // unknown log
    const stranger = await generateKeyPair()
    await expect(push(logIDToBytes(logIDFromPublicKey(stranger.publicKey)), 1, first))
      .rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'LOG_NOT_FOUND' })
    expect(await counterOf(a, id)).toBe(head)
    // the valid first record of that log is accepted: refusals did not wedge the log
    await expect(push(logIDToBytes(ownLog), 1, first)).resolves.toMatchObject({ type: 'ok' })
    expect(await counterOf(a, id)).toBe(head + 1)
    await honestStillSyncs(a, b, id, 1)
  })

  it('drops a stream whose reader never reads, and keeps serving others', async () => {
    const { a, b, x, id, key } = await setup({ streamTimeoutMs: 500 })
    // enough data that the answer cannot fit in the transport's windows
    for (let i = 0; i < 40; i++) await a.net.createRecord(id, { pad: 'x'.repeat(60_000), i })
    await until(async () => (await counterOf(b, id)) === 40, 20_000, 'B to have the records')
    const stream = await x.libp2p.dialProtocol(a.libp2p.peerId, PROTOCOL)
    stream.pause()
    const aLog = (await a.net.getThread(id)).logs.find((l) => l.managed)!.id
    await lpStream(stream).write(encodeMessage({
      type: 'getRecords', thread: threadIDToBytes(id), auth: proof(key.service, id, x, a), logs: [{ id: logIDToBytes(aLog), after: 0 }], limit: 1000
    }))
    const closed = new Promise<string>((resolve) => { stream.addEventListener('close', () => { resolve(stream.status) }) })
    await honestStillSyncs(a, b, id, 1)
    expect(['reset', 'aborted', 'closed']).toContain(await closed)
    expect(a.net.stats().recordsServed).toBeLessThan(40 + 40)
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { lpStream } from '@libp2p/utils'
import { generateKeyPair, publicKeyToBytes } from '../../src/core/identity.js'
import { logIDFromPublicKey, logIDToBytes } from '../../src/core/log-id.js'
import { sealRecord } from '../../src/core/record.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { newThreadKey, parseThreadKey, threadKeyToString, type ReadableThreadKey } from '../../src/core/thread-key.js'
import type { ThreadID } from '../../src/core/types.js'
import { encodeFrame, MAX_FRAME_BYTES, PROTOCOL, type Frame } from '../../src/net/messages.js'
import type { Peer, PeerInit } from '../../src/node/peer.js'
import { counterOf, honestStillSyncs, startPeer, stopAll, until } from './helpers.js'
import { authFields, rawSession } from './raw.js'
import { forger } from './forge.js'

afterEach(async () => { await stopAll() })

/** A thread on A that honest B has joined, and a stranger X connected to A. */
async function setup(init: PeerInit = {}): Promise<{ a: Peer; b: Peer; x: Peer; id: ThreadID; key: ReadableThreadKey }> {
  const a = await startPeer(init)
  const b = await startPeer()
  const x = await startPeer()
  const id = newThreadID()
  const info = await a.net.createThread(id)
  await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
  await x.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
  return { a, b, x, id, key: parseThreadKey(info.key) as ReadableThreadKey }
}

/** Send raw bytes as one frame on a fresh session; resolve with what happened to the stream. */
async function sendRaw(from: Peer, to: Peer, payload: Uint8Array, lengthOverride?: number): Promise<'reset' | 'answered'> {
  const stream = await from.libp2p.dialProtocol(to.libp2p.peerId, PROTOCOL)
  try {
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
    const session = await rawSession(x, a)
    const ask = async (fields: ReturnType<typeof authFields>): Promise<unknown> => await session.ask({ type: 'getLogs', ...fields })
    // the right proof works (control)
    await expect(ask(authFields(key.service, id, x, a))).resolves.toMatchObject({ type: 'logs' })
    // made for another thread
    await expect(ask({ ...authFields(key.service, other, x, a), thread: authFields(key.service, id, x, a).thread })).resolves.toMatchObject({ type: 'error', code: 'UNAUTHORIZED' })
    // made for another pair (responder B instead of A)
    await expect(ask(authFields(key.service, id, x, b))).resolves.toMatchObject({ type: 'error', code: 'UNAUTHORIZED' })
    // B's valid proof replayed by X
    await expect(ask(authFields(key.service, id, b, a))).resolves.toMatchObject({ type: 'error', code: 'UNAUTHORIZED' })
    // an unknown thread looks exactly like a wrong key, and so does a key ID of another key
    const unknown = newThreadID()
    const refusedUnknown = await ask(authFields(key.service, unknown, x, a))
    const refusedKid = await ask({ ...authFields(key.service, id, x, a), kid: authFields(newThreadKey().service, id, x, a).kid })
    expect(refusedUnknown).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' })
    expect({ ...(refusedKid as object), re: 0 }).toEqual({ ...(refusedUnknown as object), re: 0 })
    // none of this is a violation
    expect(a.net.stats().strikes).toBe(0)
  })
})

describe('hostile peers are refused and honest peers keep syncing', () => {
  it('closes the session on a garbled frame and disconnects a repeat offender', async () => {
    const { a, b, x, id } = await setup({ maxStrikes: 3 })
    expect(await sendRaw(x, a, new Uint8Array([0xff, 0x00, 0x13, 0x37]))).toBe('reset')
    expect(a.net.stats().rejected).toBe(1)
    await honestStillSyncs(a, b, id, 1)
    expect(await sendRaw(x, a, new TextEncoder().encode('{"type":"nonsense"}'))).toBe('reset')
    const disconnected = new Promise<void>((resolve) => {
      a.libp2p.addEventListener('peer:disconnect', (e) => { if (e.detail.equals(x.libp2p.peerId)) resolve() })
    })
    expect(await sendRaw(x, a, new Uint8Array([0xa1, 0x61]))).toBe('reset')
    await disconnected
    expect(a.libp2p.getConnections(x.libp2p.peerId)).toHaveLength(0)
    expect(a.net.stats()).toMatchObject({ strikes: 3, bans: 1 })
    // while banned, a new session is refused before any frame is read
    await until(() => x.libp2p.getConnections(a.libp2p.peerId).length === 0, 5_000, 'X to see the hang-up')
    await x.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    expect(await sendRaw(x, a, new Uint8Array([0xa0]))).toBe('reset')
    expect(a.net.stats().refusedSessions).toBeGreaterThanOrEqual(1)
    await honestStillSyncs(a, b, id, 2)
  })

  it('closes the session on an oversized frame without reading it', async () => {
    const { a, b, x, id } = await setup()
    expect(await sendRaw(x, a, new Uint8Array(16), MAX_FRAME_BYTES + 1)).toBe('reset')
    expect(a.net.stats().rejected).toBe(1)
    await honestStillSyncs(a, b, id, 1)
  })

  it('refuses records with a bad signature, a broken prev link, or for an unknown log, and stores nothing', async () => {
    const { a, b, x, id, key } = await setup({ maxStrikes: 100 })
    const bLog = (await b.net.getThread(id)).logs.find((l) => l.managed)!.id
    const head = await counterOf(a, id)
    const session = await rawSession(x, a)
    const auth = authFields(key.service, id, x, a)
    // a record for B's log signed by another key
    const forger = await generateKeyPair()
    const forged = await sealRecord({ body: { evil: true }, threadKey: key, logKey: forger, time: { wall: Date.now(), counter: 0 } })
    const push = async (log: Uint8Array, counter: number, blocks: typeof forged): Promise<unknown> => await session.ask({
      type: 'pushRecord', ...auth, log, counter, blocks: [blocks.record.bytes, blocks.event.bytes, blocks.header.bytes, blocks.body.bytes]
    })
    await expect(push(logIDToBytes(bLog), 1, forged)).resolves.toMatchObject({ type: 'error', code: 'INVALID_RECORD' })
    expect(a.net.stats().strikes).toBe(1)
    // a record of a log we know whose prev does not link to the head: the log's own key, wrong prev
    const own = await generateKeyPair()
    const ownLog = logIDFromPublicKey(own.publicKey)
    await expect(session.ask({ type: 'pushLog', ...auth, log: { id: logIDToBytes(ownLog), pubKey: publicKeyToBytes(own.publicKey), addrs: [], counter: 0 } }))
      .resolves.toMatchObject({ type: 'ok' })
    const first = await sealRecord({ body: { n: 1 }, threadKey: key, logKey: own, time: { wall: Date.now(), counter: 0 } })
    const dangling = await sealRecord({ body: { n: 2 }, threadKey: key, logKey: own, prev: forged.record.cid, time: { wall: Date.now(), counter: 1 } })
    await expect(push(logIDToBytes(ownLog), 1, dangling)).resolves.toMatchObject({ type: 'error', code: 'INVALID_RECORD' })
    // a prev that does not follow our head is what a fork looks like: not proof against the sender
    expect(a.net.stats().strikes).toBe(1)
    // a gap is not accepted either
    await expect(push(logIDToBytes(ownLog), 2, dangling)).resolves.toMatchObject({ type: 'error', code: 'GAP' })
    // unknown log
    const stranger = await generateKeyPair()
    await expect(push(logIDToBytes(logIDFromPublicKey(stranger.publicKey)), 1, first)).resolves.toMatchObject({ type: 'error', code: 'LOG_NOT_FOUND' })
    expect(await counterOf(a, id)).toBe(head)
    // the valid first record of that log is accepted: refusals did not wedge the log
    await expect(push(logIDToBytes(ownLog), 1, first)).resolves.toMatchObject({ type: 'ok' })
    expect(await counterOf(a, id)).toBe(head + 1)
    await honestStillSyncs(a, b, id, 1)
  })

  it('refuses a record of a newer format version without counting it against the sender', async () => {
    const { a, b, x, id, key } = await setup()
    const m = await forger(id, key)
    const answers = await m.push(x, a, [await m.newer()], 1)
    expect(answers[1]).toMatchObject({ type: 'error', code: 'INVALID_RECORD' })
    expect(a.net.stats()).toMatchObject({ strikes: 0, rejected: 0 })
    await honestStillSyncs(a, b, id, 1)
  })

  it('drops a session whose reader never reads, and keeps serving others', async () => {
    const { a, b, x, id, key } = await setup({ streamTimeoutMs: 500 })
    // enough data that the answer cannot fit in the transport's windows
    for (let i = 0; i < 40; i++) await a.net.createRecord(id, { pad: 'x'.repeat(60_000), i })
    await until(async () => (await counterOf(b, id)) === 40, 20_000, 'B to have the records')
    const session = await rawSession(x, a)
    session.stream.pause()
    const aLog = (await a.net.getThread(id)).logs.find((l) => l.managed)!.id
    const closed = new Promise<string>((resolve) => { session.stream.addEventListener('close', () => { resolve(session.stream.status) }) })
    await session.send({
      type: 'getRecords', id: 1, ...authFields(key.service, id, x, a), logs: [{ id: logIDToBytes(aLog), after: 0 }], limit: 1000, credit: 16 * 1024 * 1024
    } satisfies Frame)
    await honestStillSyncs(a, b, id, 1)
    expect(['reset', 'aborted', 'closed']).toContain(await closed)
    expect(a.net.stats().recordsServed).toBeLessThan(40 + 40)
    // a slow reader is not proof of anything
    expect(a.net.stats().strikes).toBe(0)
  })

  it('sends no more records than the credit the requester gave', async () => {
    const { a, b, x, id, key } = await setup()
    for (let i = 0; i < 20; i++) await a.net.createRecord(id, { pad: 'x'.repeat(1000), i })
    await until(async () => (await counterOf(b, id)) === 20, 20_000, 'B to have the records')
    const session = await rawSession(x, a)
    const aLog = (await a.net.getThread(id)).logs.find((l) => l.managed)!.id
    await session.send({
      type: 'getRecords', id: 7, ...authFields(key.service, id, x, a), logs: [{ id: logIDToBytes(aLog), after: 0 }], limit: 1000, credit: 3000
    } satisfies Frame)
    const got: Frame[] = []
    while (true) {
      const f = await session.read(500)
      if (f === 'closed') break
      got.push(f)
    }
    // the responder sends while the bytes it sent stay below the credit: the last one may overshoot it
    const size = encodeFrame(got[0]!).byteLength
    expect(got.length).toBe(Math.ceil(3000 / size))
    expect(got.every((f) => f.type === 'record')).toBe(true)
    await session.send({ type: 'credit', id: 7, n: 64 * 1024 } satisfies Frame)
    const rest: Frame[] = []
    while (true) {
      const f = await session.read(2_000)
      if (f === 'closed') break
      rest.push(f)
      if (f.type === 'end') break
    }
    expect(rest.filter((f) => f.type === 'record')).toHaveLength(20 - got.length)
    expect(rest.at(-1)).toMatchObject({ type: 'end', re: 7, more: false })
  })
})

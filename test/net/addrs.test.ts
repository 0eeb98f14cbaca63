/**
 * Owner-only log metadata (docs/PROTOCOL.md, "Logs and their addresses") on real TCP peers: an
 * address list counts only when the log's key signed it and it is newer than the one held; our
 * own logs are signed at start, when our addresses change and when we hand the thread to a
 * replicator; a long list of logs crosses in pages; announced addresses of peers that never
 * answer do not slow honest writes.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair, publicKeyToBytes, type PrivateKey } from '../../src/core/identity.js'
import { logIDFromPublicKey, logIDToBytes } from '../../src/core/log-id.js'
import { newThreadID, threadIDToBytes } from '../../src/core/thread-id.js'
import { parseThreadKey, type ReadableThreadKey } from '../../src/core/thread-key.js'
import type { LogID, ThreadID } from '../../src/core/types.js'
import { signAddrs } from '../../src/net/log-addrs.js'
import type { Peer } from '../../src/node/peer.js'
import { authFields, rawSession, type RawSession } from './raw.js'
import { multiaddr } from '@multiformats/multiaddr'
import { freePort, receive, startPeer, stopAll, tcpAddr, until } from './helpers.js'

afterEach(async () => { await stopAll() })

async function pair(): Promise<{ a: Peer; b: Peer; id: ThreadID; key: ReadableThreadKey; keyText: string; addr: string }> {
  const a = await startPeer()
  const b = await startPeer()
  const id = newThreadID()
  const info = await a.net.createThread(id)
  await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
  return { a, b, id, key: parseThreadKey(info.key) as ReadableThreadKey, keyText: info.key, addr: info.addrs[0]! }
}

function ownLog(info: Awaited<ReturnType<Peer['net']['getThread']>>): LogID {
  return info.logs.find((l) => l.managed)!.id
}

async function announce(s: RawSession, auth: ReturnType<typeof authFields>, key: PrivateKey, addrs: string[], signed?: { seq: number; by: PrivateKey; thread: ThreadID }): Promise<unknown> {
  const log = logIDFromPublicKey(key.publicKey)
  const wire: Record<string, unknown> = { id: logIDToBytes(log), pubKey: publicKeyToBytes(key.publicKey), addrs, counter: 0 }
  if (signed != null) {
    const list = await signAddrs(signed.by, threadIDToBytes(signed.thread), logIDToBytes(log), signed.seq, addrs)
    wire.addrSeq = list.seq
    wire.addrSig = list.sig
  }
  return await s.ask({ type: 'pushLog', ...auth, log: wire as never })
}

describe('log addresses', () => {
  it('a member cannot change the addresses of another member\'s log: unsigned, foreign-signed and stale lists change nothing', async () => {
    const { a, b, id, key } = await pair()
    const x = await startPeer()
    await x.libp2p.dial(b.libp2p.getMultiaddrs()[0]!)
    const aLog = ownLog(await a.net.getThread(id))
    const before = (await b.logStore.getLog(id, aLog)).signedAddrs
    expect(before?.addrs.some((s) => s.endsWith(`/p2p/${a.peerId}`))).toBe(true)
    const s = await rawSession(x, b)
    const auth = authFields(key.service, id, x, b)
    const aKeyPub = (await a.net.getThread(id)).logs.find((l) => l.id === aLog)!.publicKey
    const fake = [`/ip4/127.0.0.1/tcp/1/p2p/${x.peerId}`]
    const aWire = { id: logIDToBytes(aLog), pubKey: aKeyPub, counter: 0 }
    // Unsigned: the log is known, the addresses are not taken.
    await expect(s.ask({ type: 'pushLog', ...auth, log: { ...aWire, addrs: fake } })).resolves.toMatchObject({ type: 'ok' })
    // Signed by another key: a forgery, refused and counted.
    const xKey = await generateKeyPair()
    const forged = await signAddrs(xKey, threadIDToBytes(id), logIDToBytes(aLog), (before?.seq ?? 0) + 1, fake)
    await expect(s.ask({ type: 'pushLog', ...auth, log: { ...aWire, addrs: fake, addrSeq: forged.seq, addrSig: forged.sig } })).resolves.toMatchObject({ type: 'error', code: 'BAD_REQUEST' })
    expect(b.net.stats().strikes).toBe(1)
    // A's own list replayed with other addresses but its old number: the signature does not cover them.
    await expect(s.ask({ type: 'pushLog', ...auth, log: { ...aWire, addrs: fake, addrSeq: before!.seq + 1, addrSig: before!.sig } })).resolves.toMatchObject({ type: 'error', code: 'BAD_REQUEST' })
    // A's own list replayed as it was: not newer, nothing changes (and nothing is wrong with it).
    await expect(s.ask({ type: 'pushLog', ...auth, log: { ...aWire, addrs: before!.addrs, addrSeq: before!.seq, addrSig: before!.sig } })).resolves.toMatchObject({ type: 'ok' })
    expect((await b.logStore.getLog(id, aLog)).signedAddrs).toEqual(before)
    expect((await b.net.getThread(id)).logs.find((l) => l.id === aLog)!.addrs).toEqual(before!.addrs)
    expect(b.net.stats().strikes).toBe(2)
  })

  it('a new log announced without a signed list is learnt without addresses', async () => {
    const { b, id, key } = await pair()
    const x = await startPeer()
    await x.libp2p.dial(b.libp2p.getMultiaddrs()[0]!)
    const s = await rawSession(x, b)
    const k = await generateKeyPair()
    await expect(announce(s, authFields(key.service, id, x, b), k, ['/ip4/127.0.0.1/tcp/9/p2p/' + x.peerId])).resolves.toMatchObject({ type: 'ok' })
    const learnt = (await b.net.getThread(id)).logs.find((l) => l.id === logIDFromPublicKey(k.publicKey))
    expect(learnt?.addrs).toEqual([])
    // Signed by its own key, the list is taken.
    await expect(announce(s, authFields(key.service, id, x, b), k, ['/ip4/127.0.0.1/tcp/9/p2p/' + x.peerId], { seq: 5, by: k, thread: id })).resolves.toMatchObject({ type: 'ok' })
    expect((await b.net.getThread(id)).logs.find((l) => l.id === logIDFromPublicKey(k.publicKey))?.addrs).toEqual(['/ip4/127.0.0.1/tcp/9/p2p/' + x.peerId])
  })

  it('our logs are signed at start, again when our addresses change, and with the replicator\'s address by addReplicator', async () => {
    const relay = await startPeer({ relayServer: true, replicator: true })
    const a = await startPeer({ listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'] })
    const b = await startPeer()
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    const aLog = ownLog(await a.net.getThread(id))
    const signed = async (p: Peer): Promise<{ seq: number; addrs: string[] } | undefined> => (await p.logStore.getLog(id, aLog)).signedAddrs
    const first = (await signed(a))!
    expect(first.addrs.length).toBeGreaterThan(0)
    expect(first.addrs.every((x) => x.endsWith(`/p2p/${a.peerId}`) && !x.includes('/p2p-circuit'))).toBe(true)
    // A takes a reservation on the relay: its addresses change, its list is signed again.
    await a.libp2p.dial(multiaddr(tcpAddr(relay)))
    await until(async () => (await signed(a))?.addrs.some((x) => x.includes('/p2p-circuit')) === true, 20_000, 'A to sign its circuit address')
    const second = (await signed(a))!
    expect(second.seq).toBeGreaterThan(first.seq)
    // addReplicator: the list names the replicator, with a greater number again.
    await a.net.addReplicator(id, tcpAddr(relay))
    const third = (await signed(a))!
    expect(third.seq).toBeGreaterThan(second.seq)
    expect(third.addrs).toContain(tcpAddr(relay))
    expect(third.addrs.some((x) => x.includes('/p2p-circuit'))).toBe(true)
    // B, connected, is told, and takes the newest list: it is the log's own.
    await until(async () => (await signed(b))?.seq === (await signed(a))?.seq, 10_000, 'B to take A\'s newest list')
    expect(b.net.stats().strikes).toBe(0)
  })

  it('a thread with many logs and long address lists crosses in pages of logs', async () => {
    const { a, id, key, keyText, addr } = await pair()
    const x = await startPeer()
    await x.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    const s = await rawSession(x, a)
    const auth = authFields(key.service, id, x, a)
    const logs: LogID[] = []
    for (let i = 0; i < 100; i++) {
      const k = await generateKeyPair()
      logs.push(logIDFromPublicKey(k.publicKey))
      const addrs = Array.from({ length: 32 }, (_, j) => `/dns4/${'h'.repeat(900)}${i}x${j}.example/tcp/4001/p2p/${x.peerId}`)
      await expect(announce(s, auth, k, addrs, { seq: 1, by: k, thread: id })).resolves.toMatchObject({ type: 'ok' })
    }
    const c = await startPeer()
    await c.net.addThread(addr, { threadKey: keyText })
    const got = (await c.net.getThread(id)).logs
    for (const l of logs) expect(got.find((g) => g.id === l)?.addrs).toHaveLength(32)
    expect(c.net.stats().strikes).toBe(0)
    expect(a.net.stats().strikes).toBe(0)
  }, 60_000)

  it('a write reaches a connected member at once while a thousand announced peers never answer', async () => {
    const { a, b, id, key } = await pair()
    const x = await startPeer()
    await x.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    const s = await rawSession(x, a)
    const auth = authFields(key.service, id, x, a)
    const dead = await freePort()
    for (let i = 0; i < 32; i++) {
      const k = await generateKeyPair()
      const addrs = await Promise.all(Array.from({ length: 32 }, async () => `/ip4/127.0.0.1/tcp/${dead}/p2p/${logIDFromPublicKey((await generateKeyPair()).publicKey)}`))
      await announce(s, auth, k, addrs, { seq: 1, by: k, thread: id })
    }
    expect((await a.net.syncStatus(id)).peers.length).toBeGreaterThanOrEqual(1024)
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now()
      const got = receive(b, id, `w${i}`, 5_000)
      await a.net.createRecord(id, { from: `w${i}` })
      await got
      // Bound with a wide margin for a loaded machine: a write costs no dial to the dead peers.
      expect(Date.now() - t0).toBeLessThan(2_000)
    }
  }, 60_000)
})

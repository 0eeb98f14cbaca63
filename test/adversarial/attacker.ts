/**
 * The attacker: a real libp2p peer (TCP and WebSocket on loopback, noise, yamux) that runs none of
 * Weft's session logic. It speaks `/weft/net/2.0.0` over raw sessions with frames it crafts —
 * the real encoder with hand-made fields, or bytes that are no frame at all — and, when asked,
 * serves the protocol itself with whatever answers it likes (see `server.ts`).
 *
 * Its TCP connections come from a loopback IP of its choice (`ip`, e.g. 127.0.0.2: Linux routes
 * all of 127/8 to the loopback device), so tests can tell the attacker's IP from the honest
 * peers' (127.0.0.1) for per-IP limits; `rotate()` gives a fresh peer ID on the same IP.
 */
import { createLibp2p } from 'libp2p'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Libp2p, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { threadIDToBytes } from '../../src/core/thread-id.js'
import type { ThreadID } from '../../src/core/types.js'
import { authProof, keyID } from '../../src/net/auth.js'
import { decodeFrame, encodeFrame, MAX_FRAME_BYTES, PROTOCOL, type Frame, type Request, type RequestBody, type Response } from '../../src/net/messages.js'

export interface AttackerInit {
  /** The loopback IP its TCP connections come from and it listens on. @default '127.0.0.1' */
  ip?: string
  /** Also listen on WebSocket. @default false */
  ws?: boolean
  /** Relays to take circuit reservations on (multiaddrs ending in /p2p/<id>). @default none */
  relays?: string[]
}

/** What the attacker proves for a thread: the fields every request carries. */
export interface AuthFields { thread: Uint8Array; kid: Uint8Array; auth: Uint8Array }

/** Serves a request that arrived on a session (the attacker's own protocol handler). */
export type RequestHandler = (req: Request, session: RawSession) => Promise<void>

export interface RawSession {
  readonly stream: Stream
  /** The peer ID at the other end. */
  readonly peer: string
  /** Send a frame (any object: the real encoder writes it as dag-cbor). */
  send(frame: Frame | Record<string, unknown>): Promise<void>
  /** Send bytes as one length-prefixed frame, whatever they are. */
  sendRaw(bytes: Uint8Array): Promise<void>
  /** Send bytes as they are, no prefix (a prefix of our own making, say). */
  sendBytes(bytes: Uint8Array): void
  /** The next frame that is not an answer someone waits for, or 'closed'. */
  read(timeoutMs?: number): Promise<Frame | 'closed'>
  /** Send a request with a fresh ID and wait for its answer (the first one, for a stream); 'closed' when the session ends first. */
  ask(req: RequestBody | Record<string, unknown>, timeoutMs?: number): Promise<Response | 'closed'>
  /** Every answer to a request until its `end` or error (a record stream), or 'closed'. */
  askAll(req: RequestBody | Record<string, unknown>, timeoutMs?: number): Promise<Response[] | 'closed'>
  /** Credit granted by the peer for our answers to its request `id` (see server.ts). */
  credit(id: number): { left: number; more(): Promise<void> }
  /** Resolves when the stream ends (either side). */
  readonly ended: Promise<void>
  close(): Promise<void>
  abort(): void
}

export interface Attacker {
  readonly libp2p: Libp2p
  readonly peerId: string
  readonly ip: string
  /** Dialable addresses, each ending in /p2p/<peerId>. */
  addrs(): string[]
  /** The TCP address. */
  tcpAddr(): string
  /** A raw session to the peer at `addr` (a multiaddr ending in /p2p/<id>). */
  session(addr: string): Promise<RawSession>
  /** The thread, key ID and proof of the service key this peer sends `responder`. */
  auth(serviceKey: Uint8Array, thread: ThreadID, responder: string): AuthFields
  /** Serve `/weft/net/2.0.0` ourselves: every request that arrives goes to `handler`. */
  serve(handler: RequestHandler): Promise<void>
  /** A new attacker with a fresh peer ID, from the same IP. */
  rotate(): Promise<Attacker>
  stop(): Promise<void>
}

const live = new Set<Attacker>()

/** Stop every attacker still running. */
export async function stopAttackers(): Promise<void> {
  await Promise.all([...live].map(async (a) => { await a.stop().catch(() => undefined) }))
}

export async function startAttacker(init: AttackerInit = {}): Promise<Attacker> {
  const ip = init.ip ?? '127.0.0.1'
  const relays = init.relays ?? []
  const libp2p = await createLibp2p({
    addresses: {
      listen: [`/ip4/${ip}/tcp/0`, ...(init.ws === true ? [`/ip4/${ip}/tcp/0/ws`] : []), ...(relays.length > 0 ? ['/p2p-circuit'] : [])]
    },
    // `localAddress` reaches net.connect (the options are spread into it) though the type omits it.
    transports: [tcp({ dialOpts: { localAddress: ip } as TCPSocketOptions }), webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() },
    connectionManager: { maxConnections: 10_000 }
  })
  const peerId = libp2p.peerId.toString()
  const selfBytes = libp2p.peerId.toMultihash().bytes
  let handler: RequestHandler | undefined
  const sessions = new Set<RawSession>()

  const attacker: Attacker = {
    libp2p,
    peerId,
    ip,
    addrs: () => libp2p.getMultiaddrs().map((a) => a.toString()).map((a) => (a.includes('/p2p/') ? a : `${a}/p2p/${peerId}`)),
    tcpAddr() {
      const a = attacker.addrs().find((s) => s.includes('/tcp/') && !s.includes('/ws') && !s.includes('p2p-circuit'))
      if (a == null) throw new Error('the attacker has no TCP address')
      return a
    },
    async session(addr) {
      const stream = await libp2p.dialProtocol(multiaddr(addr), PROTOCOL, { signal: AbortSignal.timeout(10_000) })
      const target = addr.slice(addr.lastIndexOf('/p2p/') + 5)
      const s = rawSession(stream, target, () => handler)
      sessions.add(s)
      void s.ended.then(() => sessions.delete(s))
      return s
    },
    auth(serviceKey, thread, responder) {
      const bytes = threadIDToBytes(thread)
      return { thread: bytes, kid: keyID(serviceKey), auth: authProof(serviceKey, bytes, selfBytes, peerIdFromString(responder).toMultihash().bytes) }
    },
    async serve(h) {
      handler = h
      await libp2p.handle(PROTOCOL, (stream, connection) => {
        const s = rawSession(stream, connection.remotePeer.toString(), () => handler)
        sessions.add(s)
        void s.ended.then(() => sessions.delete(s))
      }, { runOnLimitedConnection: true, maxInboundStreams: 64 })
    },
    rotate: async () => await startAttacker(init),
    async stop() {
      live.delete(attacker)
      for (const s of sessions) s.abort()
      await libp2p.stop()
    }
  }
  for (const r of relays) {
    try { await libp2p.dial(multiaddr(r)) } catch { /* the circuit transport keeps trying */ }
  }
  live.add(attacker)
  return attacker
}

/**
 * A session over one stream: a reader loop hands answers to whoever asked, credit frames to the
 * server's streams, requests to the handler, and keeps anything else for `read()`.
 */
function rawSession(stream: Stream, peer: string, handler: () => RequestHandler | undefined): RawSession {
  const lp: LengthPrefixedStream<Stream> = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  let nextId = 1
  let closed = false
  const waiting = new Map<number, (f: Response | 'closed') => void>()
  const inbox: Array<Frame> = []
  const readers: Array<(f: Frame | 'closed') => void> = []
  const credits = new Map<number, { left: number; wake: Array<() => void> }>()
  let endedResolve!: () => void
  const ended = new Promise<void>((resolve) => { endedResolve = resolve })

  const creditOf = (id: number): { left: number; wake: Array<() => void> } => {
    let c = credits.get(id)
    if (c == null) credits.set(id, (c = { left: 0, wake: [] }))
    return c
  }

  function deliver(f: Frame): void {
    if ('re' in f) {
      const w = waiting.get(f.re)
      if (w != null) { w(f); return }
    }
    if (f.type === 'credit') {
      const c = creditOf(f.id)
      c.left += f.n
      for (const wake of c.wake.splice(0)) wake()
      return
    }
    if (f.type !== 'cancel' && !('re' in f)) {
      const h = handler()
      if (h != null) {
        if (f.type === 'getRecords') creditOf(f.id).left = f.credit
        void h(f as Request, session).catch(() => undefined)
        return
      }
    }
    const r = readers.shift()
    if (r != null) r(f)
    else inbox.push(f)
  }

  function finish(): void {
    if (closed) return
    closed = true
    for (const w of waiting.values()) w('closed')
    waiting.clear()
    for (const r of readers.splice(0)) r('closed')
    for (const c of credits.values()) for (const wake of c.wake.splice(0)) wake()
    endedResolve()
  }

  void (async () => {
    try {
      while (true) {
        const bytes = await lp.read()
        let f: Frame
        try { f = decodeFrame(bytes.subarray()) } catch { continue }
        deliver(f)
      }
    } catch {
      // the stream ended or was reset
    } finally {
      finish()
    }
  })()

  async function waitFor(id: number, timeoutMs: number, each: (f: Response) => boolean): Promise<'closed' | undefined> {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => { waiting.delete(id); resolve('closed') }, timeoutMs)
      waiting.set(id, (f) => {
        if (f === 'closed') { clearTimeout(timer); waiting.delete(id); resolve('closed'); return }
        if (!each(f)) { clearTimeout(timer); waiting.delete(id); resolve(undefined) }
      })
    })
  }

  const session: RawSession = {
    stream,
    peer,
    ended,
    async send(frame) {
      if (closed) throw new Error('the session is closed')
      await lp.write(encodeFrame(frame as Frame))
    },
    async sendRaw(bytes) {
      await lp.write(bytes)
    },
    sendBytes(bytes) {
      stream.send(bytes)
    },
    async read(timeoutMs = 5_000) {
      const f = inbox.shift()
      if (f != null) return f
      if (closed) return 'closed'
      return await new Promise((resolve) => {
        const timer = setTimeout(() => {
          const i = readers.indexOf(got)
          if (i >= 0) readers.splice(i, 1)
          resolve('closed')
        }, timeoutMs)
        const got = (x: Frame | 'closed'): void => { clearTimeout(timer); resolve(x) }
        readers.push(got)
      })
    },
    async ask(req, timeoutMs = 10_000) {
      const id = nextId++
      let answer: Response | 'closed' = 'closed'
      const done = waitFor(id, timeoutMs, (f) => { answer = f; return false })
      try { await session.send({ ...req, id }) } catch { waiting.get(id)?.('closed') }
      const r = await done
      return r === 'closed' && answer === 'closed' ? 'closed' : answer
    },
    async askAll(req, timeoutMs = 10_000) {
      const id = nextId++
      const out: Response[] = []
      const done = waitFor(id, timeoutMs, (f) => { out.push(f); return f.type === 'record' })
      try { await session.send({ ...req, id }) } catch { waiting.get(id)?.('closed') }
      return (await done) === 'closed' ? 'closed' : out
    },
    credit(id) {
      const c = creditOf(id)
      return {
        get left() { return c.left },
        set left(v: number) { c.left = v },
        more: async () => { if (!closed) await new Promise<void>((resolve) => { c.wake.push(resolve) }) }
      }
    },
    async close() {
      await stream.close().catch(() => { stream.abort(new Error('close failed')) })
    },
    abort() {
      stream.abort(new Error('the attacker hung up'))
      finish()
    }
  }
  return session
}

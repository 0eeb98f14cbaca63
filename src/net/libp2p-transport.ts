/**
 * The transport seam over a libp2p node: a channel is a stream of `/weft/net/2.0.0` on a
 * connection (TCP, WebSocket, a circuit through a relay, WebRTC — where a stream is a data
 * channel, so one per peer matters), framed by unsigned-varint length prefixes; a prefix over
 * `MAX_FRAME_BYTES` (or longer than a varint may be) closes the channel with an
 * `InvalidMessageError` before any of the frame is read. Dial failures come out as named
 * `PeerUnreachableError`s with a readable cause, never as raw events.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { describeError, InvalidMessageError, PeerUnreachableError, SessionClosedError } from './errors.js'
import { MAX_FRAME_BYTES, PROTOCOL } from './messages.js'
import type { Channel, ChannelHandlers, ConnectionFacts, Transport, TransportEvents, Via } from './transport.js'

export interface Libp2pTransportInit {
  /** Channels a connection may open to us at once (sessions, one per peer pair in steady state). @default 8 */
  maxInboundChannels?: number
  /** Channels we may open on one connection. @default 8 */
  maxOutboundChannels?: number
}

/** A connection's path: WebRTC and plain connections are direct, circuits and limited ones relayed. */
export function connectionVia(c: Connection): Via {
  const addr = c.remoteAddr.toString()
  // A WebRTC connection's address keeps its /p2p-circuit prefix on the dialling side: it is direct.
  if (addr.includes('/webrtc')) return 'direct'
  return c.limits == null && !addr.includes('/p2p-circuit') ? 'direct' : 'relayed'
}

function varint(n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Uint8Array.from(out)
}

/** Most bytes of frames written to a stream at once (frames larger than this go alone). */
const WRITE_BYTES = 16 * 1024

/**
 * Run `fn` once what this turn of the event loop queues is done: `setImmediate` where there is one
 * (Node: frames a handler queues over several microtask hops leave together), else a microtask.
 */
const nextTurn: (fn: () => void) => void = typeof (globalThis as { setImmediate?: unknown }).setImmediate === 'function'
  ? (fn) => { (globalThis as unknown as { setImmediate: (fn: () => void) => void }).setImmediate(fn) }
  : queueMicrotask

/** Bytes as a libp2p stream delivers them: one array, or a list of them. */
type Chunk = Uint8Array | { subarray(): Uint8Array }

/** Frames of a stream, one by one: length prefix, then the frame. */
function frameReader(onFrame: (frame: Uint8Array) => void, onError: (err: InvalidMessageError) => void): { push(data: Chunk): void; pending(): boolean } {
  let chunks: Uint8Array[] = []
  let total = 0
  let failed = false
  /** The first `n` buffered bytes as one array (joining chunks only when a frame spans them). */
  const head = (n: number): Uint8Array => {
    if (chunks[0]!.byteLength >= n) return chunks[0]!
    const joined = new Uint8Array(total)
    let at = 0
    for (const c of chunks) { joined.set(c, at); at += c.byteLength }
    chunks = [joined]
    return joined
  }
  const consume = (n: number): void => {
    total -= n
    while (n > 0) {
      const c = chunks[0]!
      if (c.byteLength <= n) { chunks.shift(); n -= c.byteLength } else { chunks[0] = c.subarray(n); n = 0 }
    }
  }
  return {
    pending: () => total > 0,
    push(data) {
      if (failed) return
      const bytes = data instanceof Uint8Array ? data : data.subarray()
      if (bytes.byteLength === 0) return
      chunks.push(bytes)
      total += bytes.byteLength
      while (total > 0) {
        const prefix = head(Math.min(total, 4))
        let length = 0
        let shift = 1
        let size = 0
        for (let i = 0; i < prefix.byteLength && i < 4; i++) {
          const b = prefix[i]!
          length += (b & 0x7f) * shift
          shift *= 128
          if ((b & 0x80) === 0) { size = i + 1; break }
        }
        if (size === 0) {
          if (total >= 4) {
            failed = true
            onError(new InvalidMessageError('frame length prefix over the size limit'))
          }
          return
        }
        if (length > MAX_FRAME_BYTES) {
          failed = true
          onError(new InvalidMessageError(`frame of ${length} bytes is over the limit of ${MAX_FRAME_BYTES}`))
          return
        }
        if (total < size + length) return
        const frame = head(size + length).slice(size, size + length)
        consume(size + length)
        onFrame(frame)
      }
    }
  }
}

function channelOf(stream: Stream, connection: Connection, direction: 'inbound' | 'outbound'): Channel {
  let handlers: ChannelHandlers | undefined
  let done = false
  const finish = (err?: Error): void => {
    if (done) return
    done = true
    handlers?.onClose(err)
  }
  const reader = frameReader((frame) => { handlers?.onFrame(frame) }, (err) => {
    finish(err)
    stream.abort(err)
  })
  /** Frames (with their prefixes) sent this turn, written together at its end. */
  let outbox: Uint8Array[] = []
  let flushed: Promise<void> | undefined
  const flush = async (): Promise<void> => {
    const parts = outbox
    outbox = []
    flushed = undefined
    if (done) throw new SessionClosedError('the stream is closed')
    // In writes of at most WRITE_BYTES (a frame and its prefix never split): a connection that
    // drops mid-write loses at most that much, and the frames of the writes before it arrive.
    for (let i = 0; i < parts.length;) {
      let size = 0
      let j = i
      while (j < parts.length && (j === i || size + parts[j]!.byteLength + parts[j + 1]!.byteLength <= WRITE_BYTES)) {
        size += parts[j]!.byteLength + parts[j + 1]!.byteLength
        j += 2
      }
      const bytes = new Uint8Array(size)
      let at = 0
      for (let k = i; k < j; k++) { bytes.set(parts[k]!, at); at += parts[k]!.byteLength }
      i = j
      if (!stream.send(bytes)) await stream.onDrain()
    }
  }
  return {
    peer: connection.remotePeer.toString(),
    direction,
    remoteAddr: connection.remoteAddr.toString(),
    via: connectionVia(connection),
    start(h) {
      handlers = h
      stream.addEventListener('message', (evt) => { reader.push(evt.data) })
      stream.addEventListener('remoteCloseWrite', () => {
        // The peer is done: close our end too.
        void stream.close().catch(() => { stream.abort(new SessionClosedError('closing after the peer closed failed')) })
        finish(reader.pending() ? new SessionClosedError('the stream ended in the middle of a frame') : undefined)
      })
      stream.addEventListener('close', (evt) => {
        finish(evt.error != null ? new SessionClosedError(describeError(evt.error), { cause: evt.error }) : undefined)
      })
      if (stream.status !== 'open') finish(new SessionClosedError(`the stream is ${stream.status}`))
    },
    async send(frame) {
      if (done) throw new SessionClosedError('the stream is closed')
      // Frames sent in one turn leave together: one muxer frame, one encryption, one write.
      const prefix = varint(frame.byteLength)
      outbox.push(prefix, frame)
      flushed ??= new Promise<void>((resolve) => { nextTurn(resolve) }).then(flush)
      await flushed
    },
    close() {
      void stream.close().catch((err) => { stream.abort(err as Error) })
    },
    abort(err) {
      finish(err)
      stream.abort(err)
    }
  }
}

/** Addresses remembered per peer (the newest). */
const MAX_REMEMBERED_ADDRS = 32

/** The transport seam over a started libp2p node. */
export function libp2pTransport(libp2p: Libp2p, init: Libp2pTransportInit = {}): Transport {
  let events: TransportEvents | undefined
  /** Parsed peer IDs (parsing base58 on every question about a thread's peers adds up). */
  const ids = new Map<string, PeerId>()
  const idOf = (peer: string): PeerId => {
    let id = ids.get(peer)
    if (id == null) {
      id = peerIdFromString(peer)
      if (ids.size >= 10_000) ids.clear()
      ids.set(peer, id)
    }
    return id
  }
  const openConns = (peer: PeerId | string): Connection[] =>
    libp2p.getConnections(typeof peer === 'string' ? idOf(peer) : peer).filter((c) => c.status === 'open')

  const onOpen = (evt: CustomEvent<Connection>): void => { events?.onConnect(evt.detail.remotePeer.toString()) }
  const onDisconnect = (evt: CustomEvent<PeerId>): void => { events?.onDisconnect(evt.detail.toString()) }
  const onSelf = (): void => { events?.onAddressesChanged() }

  return {
    get peerId() { return libp2p.peerId.toString() },

    async start(e) {
      events = e
      await libp2p.handle(PROTOCOL, (stream, connection) => {
        if (events == null) {
          stream.abort(new SessionClosedError('not accepting sessions'))
          return
        }
        events.onChannel(channelOf(stream, connection, 'inbound'))
      }, {
        runOnLimitedConnection: true,
        maxInboundStreams: init.maxInboundChannels ?? 8,
        maxOutboundStreams: init.maxOutboundChannels ?? 8
      })
      libp2p.addEventListener('connection:open', onOpen)
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      libp2p.addEventListener('self:peer:update', onSelf)
    },

    async stop() {
      events = undefined
      libp2p.removeEventListener('connection:open', onOpen)
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      libp2p.removeEventListener('self:peer:update', onSelf)
      await libp2p.unhandle(PROTOCOL)
    },

    async open(peer, { signal }) {
      let id: PeerId
      try { id = peerIdFromString(peer) } catch (err) { throw new PeerUnreachableError(`${peer} is not a peer ID`, { cause: err }) }
      try {
        const open = openConns(id)
        // The best path we have (direct first), else a new connection.
        const connection = open.find((c) => connectionVia(c) === 'direct') ?? open[0] ?? await libp2p.dial(id, { signal })
        const stream = await connection.newStream(PROTOCOL, { signal, runOnLimitedConnection: true })
        return channelOf(stream, connection, 'outbound')
      } catch (err) {
        if (signal.aborted && (signal.reason as Error | undefined)?.name !== 'TimeoutError') throw signal.reason as Error
        throw new PeerUnreachableError(`could not reach ${peer}: ${describeError(err)}`, { cause: err })
      }
    },

    addresses() {
      const self = libp2p.peerId.toString()
      return libp2p.getMultiaddrs().map((a) => {
        const s = a.toString()
        return s.endsWith(`/p2p/${self}`) ? s : `${s}/p2p/${self}`
      })
    },

    async rememberAddrs(peer, addrs) {
      if (peer === libp2p.peerId.toString()) return
      const list: Multiaddr[] = []
      for (const a of addrs) {
        try { list.push(multiaddr(a)) } catch { /* not a multiaddr: skip */ }
      }
      if (list.length === 0) return
      const id = peerIdFromString(peer)
      let known: Array<{ multiaddr: Multiaddr; isCertified: boolean }> = []
      try { known = (await libp2p.peerStore.get(id)).addresses } catch { /* a peer new to us */ }
      // Anyone may name a peer in many address lists: keep what the peer itself certified (its
      // signed peer record) and the newest of the others, a bounded number of each.
      const fresh = new Set(list.map((a) => a.toString()))
      const certified = known.filter((a) => a.isCertified).map((a) => a.multiaddr).slice(0, MAX_REMEMBERED_ADDRS)
      const told = [...known.filter((a) => !a.isCertified && !fresh.has(a.multiaddr.toString())).map((a) => a.multiaddr), ...list]
      const kept = [...certified, ...told.filter((a) => !certified.some((c) => c.equals(a))).slice(-MAX_REMEMBERED_ADDRS)]
      if (kept.length === known.length && kept.every((a, i) => a.equals(known[i]!.multiaddr))) return
      await libp2p.peerStore.patch(id, { multiaddrs: kept })
    },

    connection(peer): ConnectionFacts {
      let conns: Connection[]
      try { conns = openConns(peer) } catch { return { connected: false, via: 'none' } }
      if (conns.length === 0) return { connected: false, via: 'none' }
      const direct = conns.find((c) => connectionVia(c) === 'direct')
      const best = direct ?? conns[0]!
      return { connected: true, via: connectionVia(best), remoteAddr: best.remoteAddr.toString() }
    },

    async hangUp(peer) {
      await libp2p.hangUp(peerIdFromString(peer))
    }
  }
}

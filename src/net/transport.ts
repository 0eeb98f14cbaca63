/**
 * The transport seam: all the net layer needs from a network. A transport opens and accepts
 * channels (one bidirectional, ordered, reliable stream of frames between two authenticated
 * peers, carrying one session of the protocol), reports peers connecting and disconnecting and
 * our own addresses changing, remembers peers' addresses, hangs up, and tells how a peer is
 * reached. `libp2pTransport()` adapts a libp2p node; the test suite's simulation implements it in
 * memory on virtual time.
 *
 * Frames are whole protocol messages: a transport that works on bytes (libp2p streams) does the
 * length-prefix framing, refuses frames over `MAX_FRAME_BYTES` (messages.ts) without reading them, and
 * closes the channel with an `InvalidMessageError` when the framing is broken, so the session
 * can tell a malformed stream (proof against the peer) from a network failure (no proof).
 */
/** How a peer is reached: over a direct connection, or through a relay. */
export type Via = 'direct' | 'relayed'

/** What the transport knows of our link to a peer right now. */
export interface ConnectionFacts {
  connected: boolean
  /** 'none' when not connected. */
  via: Via | 'none'
  /** The remote address of the best open connection (a multiaddr string). */
  remoteAddr?: string
}

export interface ChannelHandlers {
  /** One complete frame from the peer. */
  onFrame(frame: Uint8Array): void
  /**
   * The channel is finished (called once). `err` is absent for a clean end, an
   * `InvalidMessageError` when the peer broke the framing, anything else for network failures.
   */
  onClose(err?: Error): void
}

/** One session's stream between two peers. */
export interface Channel {
  /** The remote peer ID. */
  readonly peer: string
  /** Who opened it: 'outbound' when we did. */
  readonly direction: 'inbound' | 'outbound'
  /** The remote address of the connection carrying it (a multiaddr string), for per-IP limits. */
  readonly remoteAddr: string
  readonly via: Via
  /** Start delivering frames to `handlers` (call once, at once after receiving the channel). */
  start(handlers: ChannelHandlers): void
  /** Send one frame; resolves when the transport can take more (back-pressure), rejects once closed. */
  send(frame: Uint8Array): Promise<void>
  /** Close our end after what was sent (graceful). */
  close(): void
  /** Tear the channel down at once. */
  abort(err: Error): void
}

/** What a started transport reports to the net layer. */
export interface TransportEvents {
  /** A connection to `peer` opened (for every new connection, so a better path can be taken). */
  onConnect(peer: string): void
  /** The last connection to `peer` closed. */
  onDisconnect(peer: string): void
  /** Our own addresses changed (a new listener, a relay reservation). */
  onAddressesChanged(): void
  /** A peer opened a channel of our protocol. */
  onChannel(channel: Channel): void
}

export interface Transport {
  /** Our peer ID. */
  readonly peerId: string
  /** Accept channels and report events until `stop()`. */
  start(events: TransportEvents): Promise<void>
  stop(): Promise<void>
  /** Open a channel to `peer` (dialling it when not connected). Rejects with `PeerUnreachableError`. */
  open(peer: string, options: { signal: AbortSignal }): Promise<Channel>
  /** Our addresses, each ending in `/p2p/<our peer ID>`. */
  addresses(): string[]
  /** Remember where a peer can be dialled (multiaddr strings). */
  rememberAddrs(peer: string, addrs: readonly string[]): Promise<void>
  connection(peer: string): ConnectionFacts
  /** Close every connection to `peer`. */
  hangUp(peer: string): Promise<void>
}

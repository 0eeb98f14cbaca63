/**
 * The client's public shapes: what `connect()` takes and returns.
 */
import type { DBClient } from './db-types.js'
import type { CallOptions } from './rpc.js'
import type { Subscription } from './stream.js'
import type { ClientRecord, ClientSyncStatus, ClientThreadInfo, LogMessage, PeerInfo, TokenClaims } from './protocol.js'

export type { CallOptions, Subscription }

export interface ConnectOptions {
  /** Relay multiaddrs (ending in /p2p/<id>) the peer dials and holds a reservation on. */
  relays: string[]
  /** Name of the peer (IndexedDB databases, worker scope). @default 'weft' */
  name?: string
  /** Script of the SharedWorker; the bundled worker/shared-worker.ts when absent. */
  workerUrl?: string | URL
  /** Script of the dedicated Worker of the fallback; the bundled worker/dedicated-worker.ts when absent. */
  dedicatedWorkerUrl?: string | URL
  /** Use a SharedWorker where one exists. False forces the fallback (tests). @default true */
  sharedWorker?: boolean
  /** Default deadline of every call (ms). @default 15000 */
  timeoutMs?: number
  /** Deadline for reaching the worker and starting the peer (ms). @default 30000 */
  connectTimeoutMs?: number
  /** Dial and give out loopback/private addresses and plain ws:// (tests, LANs). @default false */
  allowPrivate?: boolean
  /** Direct WebRTC between browsers. @default true */
  webrtc?: boolean
  /** This tab may host WebRTC for the worker. @default true */
  hostWebRTC?: boolean
  /** Heads exchange interval of the worker's net (ms). @default 10000 */
  syncIntervalMs?: number
  /**
   * Logging namespaces enabled in the worker (e.g. `weft:*`, `weft:net:*,-weft:net:push`); its
   * lines are written to this tab's console (or given to `onLog`). @default this tab's
   * `localStorage.debug`
   */
  debug?: string
  /** Receives the worker's log lines instead of the console. */
  onLog?: (line: LogMessage) => void
  /** WebRTC stand-ins throw on unknown members (tests). */
  rtcStrict?: boolean
  signal?: AbortSignal
}

export interface CreateThreadOptions extends CallOptions {
  /** Thread key as a multibase string; a new random key by default. */
  threadKey?: string
}

export interface AddThreadOptions extends CallOptions {
  threadKey: string
}

export interface SubscribeOptions {
  /** Only records of these threads. */
  threads?: string[]
  signal?: AbortSignal
}

/** The Net API as the client sees it: IDs and CIDs are strings, events are async iterables. */
export interface NetClient {
  createThread(id?: string, options?: CreateThreadOptions): Promise<ClientThreadInfo>
  addThread(address: string, options: AddThreadOptions): Promise<ClientThreadInfo>
  getThread(id: string, options?: CallOptions): Promise<ClientThreadInfo>
  listThreads(options?: CallOptions): Promise<string[]>
  pullThread(id: string, options?: CallOptions): Promise<void>
  deleteThread(id: string, options?: CallOptions): Promise<void>
  /** Hands the thread to a replicator (service key only); resolves to its peer ID. */
  addReplicator(id: string, peerAddress: string, options?: CallOptions): Promise<string>
  createRecord(id: string, body: unknown, options?: CallOptions): Promise<ClientRecord>
  getRecord(id: string, cid: string, options?: CallOptions): Promise<ClientRecord>
  subscribe(options?: SubscribeOptions): Subscription<ClientRecord>
  syncStatus(id: string, options?: CallOptions): Promise<ClientSyncStatus>
  /** The status now, then every change. */
  watchSyncStatus(id: string, options?: { signal?: AbortSignal }): Subscription<ClientSyncStatus>
  stats(options?: CallOptions): Promise<Record<string, number>>
}

/** Raw `db.<method>` calls and streams (the typed {@link DBClient} is built on them). */
export interface DBSeam {
  call<T = unknown>(method: string, args: unknown[], options?: CallOptions): Promise<T>
  stream<T = unknown>(method: string, args: unknown[], options?: { signal?: AbortSignal }): Subscription<T>
}

/** Something that signs as an identity (e.g. a core `PrivateKey`): its key never leaves the tab. */
export interface TokenSigner {
  publicKey: { toString(): string }
  sign(data: Uint8Array): Promise<Uint8Array>
}

export interface WeftClient {
  /** This peer's libp2p peer ID (stable across reloads). */
  readonly peerId: string
  /** The peer's default user identity (stable across reloads). */
  readonly identity: string
  /** How the worker runs, and how this tab reaches it. */
  readonly mode: 'shared-worker' | 'dedicated-owner' | 'dedicated-bridged'
  /** This tab hosts WebRTC for the worker right now. */
  readonly hostingWebRTC: boolean
  readonly net: NetClient
  /** The document database: DBs, collections, instances, queries, transactions, listeners. */
  readonly db: DBClient
  info(options?: CallOptions): Promise<PeerInfo>
  /** Resolves when a relay reservation is held (others can reach us). */
  relayReady(options?: CallOptions): Promise<PeerInfo>
  /**
   * A token naming `identity` (the default identity when absent), after `identity` signs the
   * worker's challenge. Expires after `ttlMs` (default 1 h).
   */
  getToken(identity?: TokenSigner, options?: CallOptions & { ttlMs?: number }): Promise<string>
  /** The claims of a valid token; InvalidTokenError / TokenExpiredError otherwise. */
  verifyToken(token: string, options?: CallOptions): Promise<TokenClaims>
  /**
   * Re-dial the relays and meet the thread peers now. The client does it by itself when its
   * tab hears the platform's `online` event; call it when the app learns otherwise that the
   * network is back.
   */
  reconnect(options?: CallOptions): Promise<void>
  /** A raw call (tests, extensions). */
  call<T = unknown>(method: string, args: unknown[], options?: CallOptions): Promise<T>
  /** Detach this tab (its subscriptions end; other tabs keep the worker). */
  close(): void
}

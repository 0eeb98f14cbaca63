/**
 * What crosses the port between a tab and the worker. One link per tab (a MessagePort, or a
 * BroadcastChannel bridge in the fallback without SharedWorker) carries tagged messages:
 *
 * - `rpc`: Comlink messages of the worker's {@link WorkerApi} (request/response);
 * - `sub`: items of a subscription, pulled by credit (the tab grants, the worker spends);
 * - `rtc`: the WebRTC host bridge (src/platform/rtc-protocol.browser.ts);
 * - `log`: worker log lines forwarded to the tabs (Playwright cannot see a SharedWorker console).
 *
 * Everything here is structured-cloneable: no class instances, no CIDs (strings instead), no
 * functions. Nothing is transferred, so a link can be bridged through a BroadcastChannel.
 */

/** Configuration of the browser peer, sent by the first tab that starts it (and `debug` by every tab). */
export interface PeerConfig {
  /** Name of the peer: its IndexedDB databases and worker scope. @default 'weft' */
  name: string
  /** Relay multiaddrs (ending in /p2p/<id>) to dial and hold a reservation on. */
  relays: string[]
  /** Dial and give out loopback/private addresses and plain ws:// to them (tests, LANs). @default false */
  allowPrivate?: boolean
  /** Direct WebRTC between browsers through a host tab. @default true */
  webrtc?: boolean
  /** Exchange heads with connected thread peers this often (ms). @default 10000 */
  syncIntervalMs?: number
  /**
   * The attaching tab's logging setting (`weft:*`): the worker logs the namespaces any attached
   * tab asked for and sends each tab the lines its own setting matches. Sent on every attach.
   */
  debug?: string
  /** WebRTC stand-ins throw on members they do not implement (tests). @default false */
  rtcStrict?: boolean
}

/** An error as it crosses the port: the name survives, so callers can branch on it. */
export interface WireError {
  name: string
  message: string
  code?: string
  stack?: string
  /** The error's cause, when it has one (e.g. IndexedDB's QuotaExceededError under a store error). */
  cause?: WireError
}

/** A read filter failure, as src/db reports it (the instance was hidden from the read). */
export interface FilterFailureWire {
  collection: string
  instanceID: string
  error: { name: string; message: string }
}

/**
 * An answer. A transaction operation's answer also carries the read filter failures it caused,
 * when the transaction asked for them.
 */
export type Envelope = ({ ok: true; value: unknown } | { ok: false; error: WireError }) & { filterErrors?: FilterFailureWire[] }

/** The answer of a read that asked for its read filter failures (`reportFilterErrors`). */
export interface Reported<T> {
  result: T
  filterErrors: FilterFailureWire[]
}

/** An item of a listener that asked for its read filter failures, between its events. */
export interface FilterErrorNote {
  type: 'filterError'
  failure: FilterFailureWire
}

/** What a tab learns when it attaches. */
export interface AttachInfo {
  peerId: string
  /** The peer's default user identity (multibase public key). */
  identity: string
  /** Lock the worker holds for its lifetime: granted to a tab when the worker is gone. */
  workerLock: string
  /** Lock name of the WebRTC host election among the tabs of this worker. */
  hostLock: string
  /** How this worker runs. */
  kind: 'shared-worker' | 'dedicated-worker'
}

/** The API the worker exposes to each tab through Comlink. Every call answers with an envelope. */
export interface WorkerApi {
  invoke(callId: number, method: string, args: unknown[], timeoutMs: number): Promise<Envelope>
  cancel(callId: number): void
}

export type SubMessage =
  /** tab → worker: may send `n` more items. */
  | { c: 'sub'; id: number; credit: number }
  /** tab → worker: stop. */
  | { c: 'sub'; id: number; close: true }
  /** worker → tab: items. */
  | { c: 'sub'; id: number; items: unknown[] }
  /** worker → tab: the stream ended (with an error, or normally). */
  | { c: 'sub'; id: number; end: true; error?: WireError }

export interface LogMessage {
  c: 'log'
  namespace: string
  level: 'log' | 'error' | 'trace'
  text: string
}

export interface RpcMessage {
  c: 'rpc'
  m: unknown
}

/** `rtc` messages: see src/platform/rtc-protocol.browser.ts. */
export interface RtcEnvelope {
  c: 'rtc'
  m: unknown
}

export type LinkMessage = RpcMessage | SubMessage | LogMessage | RtcEnvelope

/** Items per credit grant of a subscription. */
export const SUB_WINDOW = 64

/** A record as the client sees it: the CID as a string, no blocks. */
export interface ClientRecord {
  thread: string
  log: string
  cid: string
  counter: number
  origin: 'local' | 'remote'
  time?: { wall: number; counter: number }
  author?: string
  body?: unknown
}

export interface ClientLogInfo {
  id: string
  publicKey: Uint8Array
  addrs: string[]
  head: { cid: string | undefined; counter: number }
  managed: boolean
}

export interface ClientThreadInfo {
  id: string
  key: string
  readable: boolean
  logs: ClientLogInfo[]
  addrs: string[]
}

/** How a thread peer is reached right now. */
export type ConnectionKind = 'webrtc' | 'relayed' | 'relay-replicator' | 'direct' | 'none'

/** A sync failure as the client reports it: a named error with a readable message. */
export interface SyncError {
  /** The error's class name (`PeerUnreachableError`, `SessionClosedError`, …): branch on it. */
  name: string
  /** What happened, in words (never a stringified object). */
  message: string
  /** When it happened (ms since the epoch). */
  at: number
}

/** One thread peer as this peer sees it now. */
export interface PeerStatus {
  peer: string
  /** Some connection to the peer is open. */
  connected: boolean
  /** How the peer is reached right now (the best open connection). */
  via: ConnectionKind
  /** The peer is one of our relays (it keeps an encrypted copy of the thread). */
  relay: boolean
  /** Proven protocol violations counted against the peer (they decay). */
  strikes: number
  /** Until when the peer is banned (ms since the epoch), while it is. */
  bannedUntil?: number
  /** Syncs with the peer that failed in a row (0: the last one succeeded). */
  failures: number
  /** When the next attempt is due (ms since the epoch), while backing off after a failure. */
  nextAttemptAt?: number
  /** Records of our own log the peer is known to hold. */
  holds: number
  /** Why the last sync with the peer failed, while it keeps failing (cleared by a success). */
  lastError?: SyncError
}

/** What the peer can reach right now: the facts `online` is made of. */
export interface Connectivity {
  /** Relays configured. */
  relays: number
  /** Relays connected now. */
  relaysConnected: number
  /** A relay reservation is held: other browsers can reach this one. */
  reserved: boolean
  /** Thread peers (relays aside) connected now, and how many of them directly (WebRTC or direct). */
  peersConnected: number
  direct: number
  /** The platform's own network flag (`navigator.onLine` in the worker): a hint, not the truth. */
  platformOnline: boolean
}

export interface ClientSyncStatus {
  thread: string
  /**
   * A working path exists: a relay or a thread peer is connected right now. From real
   * connections, not from the platform's network flag (see `connectivity`).
   */
  online: boolean
  connectivity: Connectivity
  peers: PeerStatus[]
  /** Records created here not yet acknowledged by any thread peer. */
  pendingPush: number
  catchUp?: { peer: string; fetched: number; expected: number }
  /** The latest failure of a peer whose syncs still fail; absent once every peer syncs again. */
  lastError?: SyncError
}

export interface PeerInfo {
  peerId: string
  identity: string
  /** Our multiaddrs (relay circuits included once the reservation is held). */
  addrs: string[]
  relays: Array<{ addr: string; peer: string; connected: boolean; reserved: boolean }>
  /** A tab hosts WebRTC for the worker right now. */
  rtcHost: boolean
  /** Open connections, with when each opened (ms since the epoch). */
  connections: Array<{ peer: string; addr: string; via: ConnectionKind; openedAt: number }>
  tabs: number
  kind: 'shared-worker' | 'dedicated-worker'
  /** ms from worker start to peer ready / to the first relay reservation. */
  timings: { startMs: number; reservationMs?: number }
}

export interface TokenClaims {
  /** The identity the token names. */
  sub: string
  /** Peer ID of the worker that issued it. */
  iss: string
  /** Issued / expires, ms since the epoch. */
  iat: number
  exp: number
}

/** Bytes an identity signs to get a token: this prefix, then the challenge. */
export const TOKEN_CHALLENGE_PREFIX = 'weft/token-challenge/1\n'

/** Operations of a transaction the tab runs in the worker (`db.txn`). */
export type TxnOpName = 'start' | 'end' | 'discard' | 'create' | 'save' | 'delete' | 'verify' | 'has' | 'find' | 'findByID' | 'explain'

export interface TxnOp {
  op: TxnOpName
  /** The collection the operation is on (a transaction may span collections). */
  collection: string
  args: unknown[]
}

/** Opens the transaction in the worker; sent with its first batch. */
export interface TxnBegin {
  thread: string
  collection: string
  kind: 'read' | 'write'
  /** A token from `getToken()`: its identity is the reader of read filters. */
  token?: string
  /** Discard the transaction after this long without a call (ms). */
  idleMs?: number
  /** Answer each operation with the read filter failures it caused. */
  reportFilterErrors?: boolean
}

/**
 * A batch of a transaction's operations, run in order in the worker (one answer each). The tab
 * names the transaction (an id unique within the tab), so its first batch can open it.
 */
export interface TxnBatch {
  txn: string
  begin?: TxnBegin
  ops: TxnOp[]
}

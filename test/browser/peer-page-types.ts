/** The test page's global surface (test/browser/peer-page.ts), shared with the specs. */
import type { ClientRecord, ClientSyncStatus, ConnectOptions, ListenEvent, ListenFilter, LogMessage, WeftClient } from '../../src/client/index.js'
import type * as Client from '../../src/client/index.js'
import type { PrivateKey } from '../../src/core/identity.js'

export interface PeerPage {
  /** The client module (connect, toInvite, fromInvite, errors). */
  sdk: typeof Client
  /** A new Ed25519 identity held by the tab (core's key pair). */
  newIdentity(): Promise<PrivateKey>
  /** connect() with the page's relay and test defaults, merged with `options`. */
  connect(options?: Partial<ConnectOptions>): Promise<{ peerId: string; identity: string; mode: string }>
  client(): WeftClient
  /** Start collecting records of `thread` (resolves once the subscription is registered). */
  collect(thread?: string): Promise<void>
  records: ClientRecord[]
  /** Start collecting sync status changes of `thread`. */
  watch(thread: string): Promise<void>
  statuses: ClientSyncStatus[]
  /** Start collecting the DB events of `thread` matching `filters` (resolves once the listener is registered). */
  listenDB(thread: string, filters?: ListenFilter[]): Promise<void>
  dbEvents: ListenEvent[]
  logs: LogMessage[]
  /** Start measuring, for records of `thread` carrying `sentAt` (ms, epoch-based high resolution), the delay until they arrive here. */
  measure(thread: string): Promise<void>
  latencies: number[]
  /** Write `count` records `{ sentAt, i }` to `thread`, one every `intervalMs`. */
  writeTimed(thread: string, count: number, intervalMs: number): Promise<void>
  /** Run `fn` with the client and rethrow errors as `{ name, message }` (names survive evaluate). */
  run<T>(fn: (client: WeftClient) => Promise<T>): Promise<T>
  /** This tab's direct paths (test/browser/rtc-cut.ts): cut, heal, count. */
  rtc: { cut(): number; heal(): void; readonly live: number }
  /** Create a note `<prefix>-<n>` in `thread`'s `notes` every `intervalMs` until `stopWriting()`. */
  startWriting(thread: string, prefix: string, intervalMs: number): void
  /** Stop writing; the notes whose create resolved (acknowledged) and those that failed (with why). */
  stopWriting(): Promise<{ acked: string[]; failed: string[] }>
}

declare global {
  var weftPeer: PeerPage | undefined
}

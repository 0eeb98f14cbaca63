/**
 * The options of `createNet`, with their defaults.
 */
import type { Admission } from './admission.js'

export interface NetInit {
  /** Sync with every thread peer this often (dialling those not connected); 0 turns the interval off. @default 10000 */
  syncIntervalMs?: number
  /** Deadline of one request to a peer (for a stream of records: of each next frame). @default 10000 */
  requestTimeoutMs?: number
  /** Longest a peer may keep a session from taking our frames, or a stream of ours waiting for credit. @default 10000 */
  streamTimeoutMs?: number
  /** Records asked for per `getRecords` request while catching up. @default 1000 */
  pullBatchSize?: number
  /** Records verified and appended together while catching up (more holds more garbage alive, for no speed). @default 64 */
  ingestBatchSize?: number
  /** Bytes of records a peer may stream to us ahead of what we have taken (what arrives ahead lives long enough to reach the old generation of the heap: more costs memory, not speed). @default 131072 */
  windowBytes?: number
  /** Accept threads pushed to us with their service key (the replicator role). @default false */
  replicator?: boolean
  /** Include loopback and private addresses in addresses given out for joining. @default false */
  allowPrivateAddrs?: boolean
  /** Proven violations (forged records, malformed frames) that ban a peer. @default 3 */
  maxStrikes?: number
  /** One strike is forgiven per this many ms without a new one. @default 60000 */
  strikeDecayMs?: number
  /** Length of a first ban; each further one lasts four times longer. @default 30000 */
  banMs?: number
  /** Longest ban. @default 3600000 */
  maxBanMs?: number
  /** Concurrent outgoing requests in total / per peer. @default 16 / 4 */
  maxConcurrent?: number
  maxConcurrentPerPeer?: number
  /** Requests of one peer served at once on its session; more are answered `BUSY`. @default 64 */
  maxInboundRequests?: number
  /** Record streams (`getRecords`) of one peer served at once. @default 4 */
  maxInboundStreams?: number
  /** First retry delay after a failed sync or dial. @default 1000 */
  minBackoffMs?: number
  /** Longest retry delay (the delay doubles per failure, with ±20 % jitter). @default 300000 */
  maxBackoffMs?: number
  /** Prefix for this peer's log lines (multi-peer tests). */
  logPrefix?: string
  /**
   * Policy asked before adopting a thread a peer hands over and before storing records from a
   * peer (a public relay's quotas and allow-lists). @default admit everything
   */
  admission?: Admission
  /**
   * Told of every strike (a proven violation) against a peer, with why — for monitoring and
   * alerting; the penalties themselves are the net's. @default nothing
   */
  onStrike?: (peer: string, reason: string) => void
}

export type ResolvedNetInit = Required<Omit<NetInit, 'logPrefix' | 'admission' | 'onStrike'>>

export function resolveNetInit(init: NetInit): ResolvedNetInit {
  return {
    syncIntervalMs: init.syncIntervalMs ?? 10_000,
    requestTimeoutMs: init.requestTimeoutMs ?? 10_000,
    streamTimeoutMs: init.streamTimeoutMs ?? 10_000,
    pullBatchSize: init.pullBatchSize ?? 1000,
    ingestBatchSize: init.ingestBatchSize ?? 64,
    windowBytes: init.windowBytes ?? 128 * 1024,
    replicator: init.replicator ?? false,
    allowPrivateAddrs: init.allowPrivateAddrs ?? false,
    maxStrikes: init.maxStrikes ?? 3,
    strikeDecayMs: init.strikeDecayMs ?? 60_000,
    banMs: init.banMs ?? 30_000,
    maxBanMs: init.maxBanMs ?? 3_600_000,
    maxConcurrent: init.maxConcurrent ?? 16,
    maxConcurrentPerPeer: init.maxConcurrentPerPeer ?? 4,
    maxInboundRequests: init.maxInboundRequests ?? 64,
    maxInboundStreams: init.maxInboundStreams ?? 4,
    minBackoffMs: init.minBackoffMs ?? 1000,
    maxBackoffMs: init.maxBackoffMs ?? 300_000
  }
}

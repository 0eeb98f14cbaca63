/**
 * The relay's admission policy, the {@link Admission} the net layer asks before it adopts a
 * thread a peer hands over and before it stores records in a thread the relay replicates:
 *
 * - **allow-lists**: open by default; when thread IDs or peer IDs are listed, a hand-over must
 *   name a listed thread or come from a listed peer (refused as `UNAUTHORIZED`, like a wrong key);
 * - **quotas** (refused with `QUOTA_EXCEEDED`): threads handed over per peer and per IP, records
 *   and record bytes per thread, record bytes in all (the store's budget).
 *
 * Every refusal is counted by kind for /metrics. Accounting (who handed each thread over, what
 * each thread stores) lives in the relay's ledger (relay/ledger.ts), so it survives restarts; the
 * policy keeps it in memory and the ledger writes it behind. Checks and updates happen without an
 * await between them, so concurrent hand-overs cannot both take the last slot. Records admitted
 * are reserved at once and counted with what is stored until `recordsStored` confirms them, so
 * concurrent pushes (many logs, many sessions) cannot take a thread or the store past its quota
 * together; a reservation the net never confirms (its append failed) lapses after a minute.
 */
import { AdmissionRefusedError, QuotaExceededError, type Admission, type AdmissionRequest } from '../src/net/index.js'
import { logger } from '../src/core/logger.js'
import { ipKeyOfMultiaddr } from './ip.js'
import type { KVStore } from '../src/store/kv.js'
import { kvLedger, type Ledger, type LedgerEntry } from './ledger.js'

const log = logger('weft:relay:policy')

/** Every kind of refusal the relay counts (the `kind` label of `weft_relay_refused_total`). */
export const REFUSAL_KINDS = [
  'not_allowed',
  'threads_per_peer',
  'threads_per_ip',
  'thread_records',
  'thread_bytes',
  'store_bytes',
  'reservations_per_ip',
  'connections_per_ip',
  'pending_connections'
] as const
export type RefusalKind = typeof REFUSAL_KINDS[number]

export interface PolicyInit {
  /** Threads that may be handed over. @default [] (any, unless `allowPeers` lists some) */
  allowThreads?: readonly string[]
  /** Peers that may hand threads over. @default [] (any, unless `allowThreads` lists some) */
  allowPeers?: readonly string[]
  /** Threads one peer may hand over. @default 64 */
  maxThreadsPerPeer?: number
  /** Threads peers from one IP key may hand over. @default 256 */
  maxThreadsPerIp?: number
  /** Records stored per thread. @default 100_000 */
  maxThreadRecords?: number
  /** Record bytes stored per thread. @default 64 MiB */
  maxThreadBytes?: number
  /** Record bytes stored in all threads. @default 4 GiB */
  maxStoreBytes?: number
  /** An admitted batch not confirmed stored within this long stops counting (its append failed). @default 60_000 */
  reservationTtlMs?: number
  /** The clock, ms. @default Date.now */
  now?: () => number
}

/** Records admitted and not yet confirmed stored. */
interface Reservation { records: number; bytes: number; at: number }

export interface Usage {
  threads: number
  records: number
  bytes: number
}

export interface RelayPolicy extends Admission {
  recordsStored(account: string, records: number, bytes: number): void
  /**
   * Load the accounting from the relay's key space of `kv` and start answering (requests wait
   * until then). `held` are the threads the store holds, as it holds them (a thread ID, or
   * `<thread ID>:<key ID hex>` for a further key: the `account` of requests): entries of others
   * are dropped.
   */
  open(kv: KVStore, held: readonly string[]): Promise<void>
  /** Refusals since the process started, by kind. */
  refusals(): Record<RefusalKind, number>
  /** Count a refusal made outside the policy (reservations). */
  countRefusal(kind: RefusalKind): void
  /** What the relay holds, as accounted. */
  usage(): Usage
  /** Resolves when the accounting is written. */
  flush(): Promise<void>
}

export function createRelayPolicy(init: PolicyInit = {}): RelayPolicy {
  const allowThreads = new Set(init.allowThreads ?? [])
  const allowPeers = new Set(init.allowPeers ?? [])
  const maxThreadsPerPeer = init.maxThreadsPerPeer ?? 64
  const maxThreadsPerIp = init.maxThreadsPerIp ?? 256
  const maxThreadRecords = init.maxThreadRecords ?? 100_000
  const maxThreadBytes = init.maxThreadBytes ?? 64 * 1024 * 1024
  const maxStoreBytes = init.maxStoreBytes ?? 4 * 1024 * 1024 * 1024
  const reservationTtlMs = init.reservationTtlMs ?? 60_000
  const now = init.now ?? Date.now

  const entries = new Map<string, LedgerEntry>()
  const perPeer = new Map<string, number>()
  const perIp = new Map<string, number>()
  const refused = Object.fromEntries(REFUSAL_KINDS.map((k) => [k, 0])) as Record<RefusalKind, number>
  let totalBytes = 0
  let totalRecords = 0
  /** Admitted batches per thread, not yet confirmed stored; and their sums. */
  const reserved = new Map<string, Reservation[]>()
  let reservedBytes = 0

  const sum = (list: Reservation[] | undefined, k: 'records' | 'bytes'): number => (list ?? []).reduce((n, r) => n + r[k], 0)

  function release(thread: string, r: Reservation): void {
    const list = reserved.get(thread)
    const i = list?.indexOf(r) ?? -1
    if (list == null || i < 0) return
    list.splice(i, 1)
    if (list.length === 0) reserved.delete(thread)
    reservedBytes -= r.bytes
  }

  /** Drop reservations whose append never came (they would hold quota for nothing). */
  function lapse(): void {
    const cutoff = now() - reservationTtlMs
    for (const [thread, list] of reserved) {
      for (const r of list.filter((x) => x.at < cutoff)) {
        log('a reservation of %d records in %s was never confirmed: released', r.records, thread)
        release(thread, r)
      }
    }
  }
  let ledger: Ledger | undefined
  let ready!: () => void
  const opened = new Promise<void>((resolve) => { ready = resolve })

  const bump = (m: Map<string, number>, key: string, by: number): void => {
    if (key === '') return
    const n = (m.get(key) ?? 0) + by
    if (n <= 0) m.delete(key)
    else m.set(key, n)
  }

  function add(thread: string, e: LedgerEntry): void {
    entries.set(thread, e)
    bump(perPeer, e.peer, 1)
    bump(perIp, e.ip, 1)
    totalBytes += e.bytes
    totalRecords += e.records
  }

  function refuse(kind: RefusalKind, err: Error): never {
    refused[kind]++
    log('refused (%s): %s', kind, err.message)
    throw err
  }

  /** The entry of a thread the net holds; one is made for a thread held before accounting existed. */
  function entryOf(thread: string): LedgerEntry {
    let e = entries.get(thread)
    if (e == null) {
      e = { peer: '', ip: '', records: 0, bytes: 0 }
      add(thread, e)
      ledger?.touch(thread)
    }
    return e
  }

  return {
    async open(kv, held) {
      const l = kvLedger(kv, (thread) => entries.get(thread))
      const loaded = await l.load()
      ledger = l
      const holding = new Set(held)
      for (const [thread, e] of loaded) {
        // An entry for a thread the store does not hold (adoption failed after admission): forget it.
        if (!holding.has(thread)) l.remove(thread)
        else add(thread, e)
      }
      log('accounting: %d threads, %d records, %d bytes', entries.size, totalRecords, totalBytes)
      ready()
    },

    async adoptThread(req: AdmissionRequest) {
      await opened
      // Accounted per (thread, key): a stranger's hand-over under its own key has an entry of its own.
      const account = req.account ?? req.thread
      if (entries.has(account)) return
      if ((allowThreads.size > 0 || allowPeers.size > 0) && !allowThreads.has(req.thread) && !allowPeers.has(req.peer)) {
        refuse('not_allowed', new AdmissionRefusedError(`neither the thread nor the peer ${req.peer} is on the relay's allow-lists`))
      }
      const ip = ipKeyOfMultiaddr(req.remoteAddr)
      if ((perPeer.get(req.peer) ?? 0) >= maxThreadsPerPeer) {
        refuse('threads_per_peer', new QuotaExceededError(`peer ${req.peer} has handed over ${maxThreadsPerPeer} threads, the most one peer may`))
      }
      if (ip !== '' && (perIp.get(ip) ?? 0) >= maxThreadsPerIp) {
        refuse('threads_per_ip', new QuotaExceededError(`peers from ${ip} have handed over ${maxThreadsPerIp} threads, the most one IP may`))
      }
      if (totalBytes + reservedBytes >= maxStoreBytes) {
        refuse('store_bytes', new QuotaExceededError(`the relay's store is full (${maxStoreBytes} bytes)`))
      }
      add(account, { peer: req.peer, ip, records: 0, bytes: 0 })
      ledger?.touch(account)
    },

    async admitRecords(req) {
      await opened
      lapse()
      const account = req.account ?? req.thread
      const e = entryOf(account)
      const pending = reserved.get(account)
      if (e.records + sum(pending, 'records') + req.records > maxThreadRecords) {
        refuse('thread_records', new QuotaExceededError(`thread ${req.thread} would store more than ${maxThreadRecords} records`))
      }
      if (e.bytes + sum(pending, 'bytes') + req.bytes > maxThreadBytes) {
        refuse('thread_bytes', new QuotaExceededError(`thread ${req.thread} would store more than ${maxThreadBytes} bytes`))
      }
      if (totalBytes + reservedBytes + req.bytes > maxStoreBytes) {
        refuse('store_bytes', new QuotaExceededError(`the relay's store would hold more than ${maxStoreBytes} bytes`))
      }
      const r: Reservation = { records: req.records, bytes: req.bytes, at: now() }
      reserved.set(account, [...(pending ?? []), r])
      reservedBytes += r.bytes
    },

    recordsStored(account: string, records: number, bytes: number) {
      // The batch admitted for these records is stored now: it counts as stored, not reserved.
      const match = reserved.get(account)?.find((r) => r.records === records && r.bytes === bytes)
      if (match != null) release(account, match)
      const e = entryOf(account)
      e.records += records
      e.bytes += bytes
      totalRecords += records
      totalBytes += bytes
      ledger?.touch(account)
    },

    refusals: () => ({ ...refused }),
    countRefusal(kind) { refused[kind]++ },
    usage: () => ({ threads: entries.size, records: totalRecords, bytes: totalBytes }),
    async flush() { await ledger?.flush() }
  }
}

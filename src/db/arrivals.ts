/**
 * The records of a thread that arrive while a peer joins it. Joining pulls the whole thread before
 * the DB opens; the net hands every record it stores to its subscribers as it goes, already
 * verified and decrypted. Keeping them (without their blocks) lets the new DB fold them as they
 * are instead of reading them back from the log store and decrypting them a second time. The
 * copies are only a shortcut: whatever is missing (past the bound, or dropped by a subscription
 * that fell behind) is read from the log store, as on every open.
 */
import { parseThreadID } from '../core/index.js'
import { logger } from '../core/logger.js'
import type { ThreadID } from '../core/types.js'
import type { DBRecord } from './admit.js'
import type { DBNet } from './net.js'

const log = logger('weft:db:arrivals')

/** Most records kept while joining (the rest are read from the log store). */
export const MAX_ARRIVALS = 50_000
/** Most bytes of event text kept while joining (a record's body may be close to a megabyte). */
export const MAX_ARRIVAL_BYTES = 64 * 1024 * 1024

/** What the DB needs of a record the net delivered: its event, not the blocks it came in. */
export function eventOf(r: DBRecord): DBRecord {
  const copy: DBRecord = { thread: r.thread, log: r.log, counter: r.counter }
  if (r.time !== undefined) copy.time = r.time
  if (r.author !== undefined) copy.author = r.author
  if (r.body !== undefined) copy.body = r.body
  if (r.error !== undefined) copy.error = r.error
  return copy
}

/** About how much memory a kept record holds: its ops text, plus its other fields. */
function weight(r: DBRecord): number {
  const ops = (r.body as { ops?: unknown } | null | undefined)?.ops
  return 256 + (typeof ops === 'string' ? ops.length * 2 : 1024)
}

export interface Arrivals {
  /**
   * The records kept so far, each log's in order, once those the net already handed out are in
   * (taking them empties the list).
   */
  take(): Promise<DBRecord[]>
  /** Stop listening (idempotent). */
  stop(): void
}

/** The thread ID at the end of a thread address (`…/thread/<id>` or `…/<id>`), if it reads as one. */
export function threadOfAddress(address: string): ThreadID | undefined {
  if (typeof address !== 'string') return undefined
  const at = address.lastIndexOf('/')
  try {
    return parseThreadID(address.slice(at + 1))
  } catch {
    return undefined
  }
}

/** Start keeping the records of `id` the net delivers. */
export function watchArrivals(net: DBNet, id: ThreadID, max = MAX_ARRIVALS, maxBytes = MAX_ARRIVAL_BYTES): Arrivals {
  const controller = new AbortController()
  let kept: DBRecord[] = []
  let bytes = 0
  let full = false
  const listening = (async () => {
    for await (const r of net.subscribe({ threads: [id], signal: controller.signal })) {
      if (r.thread !== id || full) continue
      bytes += weight(r)
      if (kept.length >= max || bytes > maxBytes) {
        log('more than %d records or %d bytes while joining %s: the rest are read from the log store', max, maxBytes, id)
        full = true
        continue
      }
      kept.push(eventOf(r))
    }
  })()
  // A subscription that ends early (fell behind, net stopped) only means more is read back.
  void listening.catch((err: Error) => { log('stopped keeping records of %s: %s', id, err.message) })
  return {
    async take() {
      // The subscription hands out what it holds in microtasks: one macrotask later all of it is here.
      await new Promise((resolve) => setTimeout(resolve, 0))
      const out = kept
      kept = []
      return out
    },
    stop() { controller.abort() }
  }
}

/** A DB opened as soon as the thread it joins exists, while the pull goes on (see {@link earlyOpen}). */
export interface EarlyOpen<T extends { close(): Promise<void> }> {
  /** For the pull's progress: the first report of the thread joined starts the open. */
  onProgress(progress: { thread: ThreadID }): void
  /**
   * The DB opened early, handed over to the caller, or undefined when it was never started or
   * failed to open (the caller opens it the usual way, after the pull).
   */
  take(): Promise<T | undefined>
  /** Close the DB opened early unless it was taken (idempotent). */
  abandon(): Promise<void>
}

/**
 * Open a joined DB once its thread exists rather than after the whole pull, so that it folds the
 * records as they arrive: a join then takes about as long as the longer of its pull and its fold,
 * not their sum. `open` runs at most once, on the first progress report for `id`.
 */
export function earlyOpen<T extends { close(): Promise<void> }>(id: ThreadID, open: () => Promise<T>): EarlyOpen<T> {
  let opening: Promise<T | undefined> | undefined
  let taken = false
  return {
    onProgress(progress) {
      if (opening !== undefined || progress.thread !== id) return
      opening = open().catch((err: Error) => {
        log('opening %s while it is pulled failed (it opens after the pull): %s', id, err.message)
        return undefined
      })
    },
    async take() {
      taken = true
      return await opening
    },
    async abandon() {
      if (taken || opening === undefined) return
      taken = true
      const db = await opening
      await db?.close()
    }
  }
}

/**
 * Taking records into a log: verify (CIDs, service-key layer, prev link, signature, author), ask
 * the admission policy, append in one store batch, then tell subscribers. Records of one log are
 * appended in order under the log's lock; a first record past our head is a gap (the caller pulls
 * what is missing).
 *
 * What verifies with the service key is part of a valid log, whatever its event: a record whose
 * header or body does not decrypt with the read key, or does not decode, is stored, served and
 * passed on like any other, and handed to subscribers with `error` instead of `time` and `body`
 * (docs/PROTOCOL.md, "Unreadable records"). It never stops a pull and never counts against anyone.
 *
 * Forks: a record at a counter we hold that is not our record there is checked against the record
 * before it; if it follows the same record as ours, the two are a proof and the log is frozen there
 * (forks.ts). A record that does not follow our record before it (at our head or below) says the
 * sender's copy of the log diverged earlier: the result says where to search back from
 * (fork-search.ts). Neither counts against the sender — it may pass on a branch in good faith.
 *
 * When a record fails its envelope (what the service key checks: forged or garbled), the records
 * before it are still appended and {@link RecordRejectedError.proof} says the sender is to blame;
 * a record of a newer format version (`UnsupportedRecordVersionError`) is refused without blame.
 */
import type { CID } from 'multiformats/cid'
import type { Broadcast } from '../core/channel.js'
import { blockOf } from '../core/index.js'
import type { Clock } from '../core/hlc.js'
import { identityToString } from '../core/index.js'
import type { Logger } from '../core/logger.js'
import { openRecord, openRecordEnvelope, type OpenedRecord, type RecordBlocks, type RecordEnvelope } from '../core/index.js'
import { canRead } from '../core/index.js'
import type { LogID } from '../core/types.js'
import type { LogEntry, LogStore, ReadLogOptions } from '../store/logstore-types.js'
import { admit, type Admission } from './admission.js'
import { describeError, GapError, LogUnknownError, RecordRejectedError } from './errors.js'
import type { ForkBook } from './forks.js'
import type { KeyedMutex } from './limiter.js'
import type { WireBlocks } from './messages.js'
import type { ThreadState } from './registry.js'
import type { NetRecord, NetStats } from './types.js'

/** Turn the four wire blocks into blocks with their CIDs, hashed once (openRecord does not again). */
export async function blocksFromWire(wire: WireBlocks): Promise<RecordBlocks> {
  const [record, event, header, body] = await Promise.all([blockOf(wire[0]), blockOf(wire[1]), blockOf(wire[2]), blockOf(wire[3])])
  return { record, event, header, body }
}

export function blocksToWire(blocks: RecordBlocks): WireBlocks {
  return [blocks.record.bytes, blocks.event.bytes, blocks.header.bytes, blocks.body.bytes]
}

export function recordBytes(blocks: RecordBlocks): number {
  return blocks.record.bytes.byteLength + blocks.event.bytes.byteLength + blocks.header.bytes.byteLength + blocks.body.bytes.byteLength
}

/** What a record's event says, or why it cannot be read. */
export type Reading = { opened: OpenedRecord } | { envelope: RecordEnvelope; error: { name: string; message: string } }

export function toNetRecord(thread: ThreadState, log: LogID, counter: number, blocks: RecordBlocks, reading: Reading | undefined, origin: 'local' | 'remote'): NetRecord {
  const rec: NetRecord = { thread: thread.id, log, cid: blocks.record.cid, counter, blocks, origin }
  if (reading == null) return rec
  if ('error' in reading) {
    rec.author = identityToString(reading.envelope.author)
    rec.error = reading.error
    return rec
  }
  if (reading.opened.event != null) {
    rec.time = reading.opened.event.time
    rec.body = reading.opened.event.body
    rec.author = identityToString(reading.opened.author)
  }
  return rec
}

/** Error names that mean the service layer (envelope) failed, as opposed to the event. */
const UNSUPPORTED = 'UnsupportedRecordVersionError'

/**
 * Open a record we verified or are verifying: its event with the read key when we hold it. A record
 * whose envelope verifies but whose event cannot be read comes back with the event's error.
 * Envelope failures throw.
 */
export async function readRecord(thread: ThreadState, log: LogID, blocks: RecordBlocks, expectedPrev?: CID | null, verified = false): Promise<Reading> {
  const base = { serviceKey: thread.key.service, logPublicKey: thread.logKeys.get(log)!, ...(expectedPrev !== undefined ? { expectedPrev } : {}), verified }
  if (!canRead(thread.key)) return { opened: await openRecord(blocks, base) }
  try {
    return { opened: await openRecord(blocks, { ...base, readKey: thread.key.read }) }
  } catch (err) {
    // Which layer failed? The envelope alone tells: if it verifies, the event is unreadable.
    const envelope = await openRecordEnvelope(blocks, base)
    return { envelope, error: { name: (err as Error).name ?? 'Error', message: describeError(err).slice(0, 1000) } }
  }
}

export interface IngestResult {
  /** Records newly appended. */
  appended: number
  /** Records we already had. */
  duplicates: number
  /** Our head counter for the log afterwards. */
  counter: number
  /** Records not taken because the log is frozen at or before them. */
  dropped: number
  /** The records proved a fork: the log is now frozen at this counter. */
  forked?: number
  /**
   * The sender's copy of the log is not ours at this counter (its next record follows another
   * one), and the records sent do not show where the copies part: search back from here.
   */
  diverged?: number
}

/** Who sent the records (for the admission policy). */
export interface Sender { peer: string; remoteAddr: string }

export interface IngestInit {
  store: LogStore
  clock: Clock
  admission: Admission
  records: Broadcast<NetRecord>
  stats: NetStats
  forks: ForkBook
  /** Per-log serialisation of appends (key: `${storeId}/${log}`). */
  logLock: KeyedMutex
  /** Records were appended to the thread. */
  appended(thread: ThreadState): void
  log: Logger
}

export interface Ingest {
  /**
   * Verify and append consecutive records of one log, oldest first; `first` is the counter of
   * `records[0]`. GapError when the first new record does not follow our head; RecordRejectedError
   * for a record that does not verify (those before it are appended).
   */
  append(thread: ThreadState, log: LogID, first: number, records: RecordBlocks[], from?: Sender): Promise<IngestResult>
  /** The records of a log, in order. */
  read(thread: ThreadState, log: LogID, options?: ReadLogOptions): AsyncIterable<LogEntry>
}

function isPrevMismatch(err: unknown): boolean {
  return (err as Error).name === 'PrevLinkMismatchError'
}

export function createIngest(init: IngestInit): Ingest {
  const { store, stats, forks } = init

  /** Our records at `counter - 1` and `counter`. */
  async function oursAround(thread: ThreadState, log: LogID, counter: number): Promise<{ prev: LogEntry | undefined; at: LogEntry | undefined }> {
    const out: { prev: LogEntry | undefined; at: LogEntry | undefined } = { prev: undefined, at: undefined }
    for await (const e of store.readLog(thread.storeId, log, { after: Math.max(0, counter - 2), limit: 2 })) {
      if (e.counter === counter - 1) out.prev = e
      if (e.counter === counter) out.at = e
    }
    return out
  }

  /**
   * A record at `counter` (which we hold) that is not ours: a proof of a fork when it follows the
   * same record as ours, else a sign the copies diverged earlier. Called with the log's lock held.
   */
  async function conflict(thread: ThreadState, log: LogID, counter: number, blocks: RecordBlocks, base: IngestResult): Promise<IngestResult> {
    const ours = await oursAround(thread, log, counter)
    if (ours.at == null) return base
    try {
      await openRecordEnvelope(blocks, { serviceKey: thread.key.service, logPublicKey: thread.logKeys.get(log)!, expectedPrev: ours.prev?.cid ?? null })
    } catch (err) {
      if (isPrevMismatch(err)) return counter > 1 ? { ...base, diverged: counter - 1 } : base
      if ((err as Error).name === UNSUPPORTED) throw new RecordRejectedError(false, `record ${blocks.record.cid.toString()} of log ${log} has a newer format: ${describeError(err)}`, { cause: err })
      throw new RecordRejectedError(true, `record ${blocks.record.cid.toString()} of log ${log} is invalid: ${describeError(err)}`, { cause: err })
    }
    await forks.freeze(thread, log, { counter, records: [ours.at.blocks.record.bytes, blocks.record.bytes] }, true)
    return { ...base, forked: counter, counter: Math.min(base.counter, counter - 1) }
  }

  return {
    read: (thread, log, options) => store.readLog(thread.storeId, log, options),
    async append(thread, logId, first, records, from) {
      if (!thread.logKeys.has(logId)) throw new LogUnknownError(`log ${logId} is not part of thread ${thread.id}`)
      return await init.logLock.run(`${thread.storeId}/${logId}`, async () => {
        // A frozen log takes nothing at or past its fork.
        const frozenAt = thread.frozen.get(logId)
        const keep = frozenAt === undefined ? records.length : Math.max(0, Math.min(records.length, frozenAt - first))
        const dropped = records.length - keep
        const offered = records.slice(0, keep)
        const log = await store.getLog(thread.storeId, logId)
        const headCounter = log.head.counter
        const skip = Math.max(0, headCounter - first + 1)
        const base: IngestResult = { appended: 0, duplicates: Math.min(skip, offered.length), counter: headCounter, dropped }
        // Records at counters we hold: duplicates, unless one is not ours there.
        for (let i = 0; i < Math.min(skip, offered.length); i++) {
          if (await store.hasRecord(thread.storeId, offered[i]!.record.cid)) continue
          return await conflict(thread, logId, first + i, offered[i]!, base)
        }
        if (skip >= offered.length) return base
        if (first + skip !== headCounter + 1) {
          throw new GapError(`log ${logId} is at ${headCounter}; record ${first + skip} leaves a gap`)
        }
        let todo = offered.slice(skip)
        // Each record's expected prev is the CID before it: verify them all at once.
        const prevs: Array<CID | null> = todo.map((_, i) => i === 0 ? (log.head.cid ?? null) : todo[i - 1]!.record.cid)
        const results = await Promise.allSettled(todo.map(async (blocks, i) => await readRecord(thread, logId, blocks, prevs[i]!)))
        const bad = results.findIndex((r) => r.status === 'rejected')
        let failure: RecordRejectedError | undefined
        let diverged: number | undefined
        if (bad >= 0) {
          const err = (results[bad] as PromiseRejectedResult).reason as Error
          const cid = todo[bad]!.record.cid.toString()
          if (isPrevMismatch(err)) diverged = headCounter + bad
          else if (err.name === UNSUPPORTED) failure = new RecordRejectedError(false, `record ${cid} of log ${logId} has a newer format: ${describeError(err)}`, { cause: err })
          else failure = new RecordRejectedError(true, `record ${cid} of log ${logId} is invalid: ${describeError(err)}`, { cause: err })
          todo = todo.slice(0, bad)
        }
        // A proof waits for the record it follows: take records up to that one, then freeze after it.
        const waitsFor = forks.waitingFor(thread, logId)
        const reach = waitsFor == null ? -1 : todo.findIndex((b) => b.record.cid.equals(waitsFor))
        if (reach >= 0) todo = todo.slice(0, reach + 1)
        const good = todo
        if (good.length > 0) {
          const bytes = good.reduce((n, b) => n + recordBytes(b), 0)
          if (from != null) {
            await admit(() => init.admission.admitRecords({ thread: thread.id, account: thread.storeId, peer: from.peer, remoteAddr: from.remoteAddr, records: good.length, bytes }))
          }
          await store.appendRecords(thread.storeId, logId, good.map((blocks, i) => ({
            cid: blocks.record.cid,
            prev: prevs[i] ?? undefined,
            blocks: [blocks.record, blocks.event, blocks.header, blocks.body]
          })))
          init.appended(thread)
          if (from != null) init.admission.recordsStored?.(thread.storeId, good.length, bytes)
          stats.bytesReceived += bytes
        }
        let counter = headCounter
        for (let i = 0; i < good.length; i++) {
          counter++
          const reading = (results[i] as PromiseFulfilledResult<Reading>).value
          if ('opened' in reading && reading.opened.event != null) {
            try { init.clock.receive(reading.opened.event.time) } catch (err) { init.log('clock not moved by record %s: %s', good[i]!.record.cid, (err as Error).message) }
          } else if ('error' in reading) {
            init.log('record %d of log %s is unreadable (%s): kept and passed on', counter, logId, reading.error.name)
          }
          stats.recordsReceived++
          init.records.publish(toNetRecord(thread, logId, counter, good[i]!, reading, 'remote'))
        }
        const result: IngestResult = { ...base, appended: good.length, counter }
        if (reach >= 0) {
          await forks.reached(thread, logId, counter)
          const at = thread.frozen.get(logId)
          if (at !== undefined) result.forked = at
        }
        if (failure != null) {
          failure.appended = good.length
          throw failure
        }
        if (diverged !== undefined && reach < 0) result.diverged = diverged
        return result
      })
    }
  }
}

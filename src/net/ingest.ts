/**
 * Taking records into a log: verify (CIDs, service-key layer, prev link, signature, and the event
 * when we hold the read key), ask the admission policy, append in one store batch, then tell
 * subscribers. Records of one log are appended in order under the log's lock; records we already
 * hold are skipped, a first record past our head is a gap (the caller pulls what is missing).
 *
 * When a record fails, the records before it are still appended, and the failure says whether it
 * proves the sender sent forged or corrupt data ({@link RecordRejectedError.proof}): a record
 * whose envelope (what the service key checks) fails is proof; a record whose envelope verifies
 * but whose prev does not follow our head (the log's owner forked it) or whose event does not
 * decrypt (the writer sealed it so) is not — the sender may have passed it on in good faith.
 * This is the place where fork detection and poison-proof ingest hook in.
 */
import type { CID } from 'multiformats/cid'
import type { Broadcast } from '../core/channel.js'
import { cidOf } from '../core/block.js'
import type { Clock } from '../core/hlc.js'
import { identityToString } from '../core/identity.js'
import type { Logger } from '../core/logger.js'
import { openRecord, openRecordEnvelope, type OpenedRecord, type RecordBlocks } from '../core/record.js'
import { canRead } from '../core/thread-key.js'
import type { LogID } from '../core/types.js'
import type { LogEntry, LogStore, ReadLogOptions } from '../store/logstore-types.js'
import { admit, type Admission } from './admission.js'
import { describeError, GapError, LogUnknownError, RecordRejectedError } from './errors.js'
import type { KeyedMutex } from './limiter.js'
import type { WireBlocks } from './messages.js'
import type { ThreadState } from './registry.js'
import type { NetRecord, NetStats } from './types.js'

/** Turn the four wire blocks into blocks with their CIDs (the CIDs are checked by openRecord). */
export async function blocksFromWire(wire: WireBlocks): Promise<RecordBlocks> {
  const [record, event, header, body] = await Promise.all(wire.map(async (bytes) => ({ cid: await cidOf(bytes), bytes })))
  return { record: record!, event: event!, header: header!, body: body! }
}

export function blocksToWire(blocks: RecordBlocks): WireBlocks {
  return [blocks.record.bytes, blocks.event.bytes, blocks.header.bytes, blocks.body.bytes]
}

export function recordBytes(blocks: RecordBlocks): number {
  return blocks.record.bytes.byteLength + blocks.event.bytes.byteLength + blocks.header.bytes.byteLength + blocks.body.bytes.byteLength
}

export function toNetRecord(thread: ThreadState, log: LogID, counter: number, blocks: RecordBlocks, opened: OpenedRecord | undefined, origin: 'local' | 'remote'): NetRecord {
  const rec: NetRecord = { thread: thread.id, log, cid: blocks.record.cid, counter, blocks, origin }
  if (opened?.event != null) {
    rec.time = opened.event.time
    rec.body = opened.event.body
    rec.author = identityToString(opened.author)
  }
  return rec
}

export interface IngestResult {
  /** Records newly appended. */
  appended: number
  /** Records we already had. */
  duplicates: number
  /** Our head counter for the log afterwards. */
  counter: number
}

/** Who sent the records (for the admission policy). */
export interface Sender { peer: string; remoteAddr: string }

export interface IngestInit {
  store: LogStore
  clock: Clock
  admission: Admission
  records: Broadcast<NetRecord>
  stats: NetStats
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

export function createIngest(init: IngestInit): Ingest {
  const { store, stats } = init

  async function reject(thread: ThreadState, log: LogID, blocks: RecordBlocks, expectedPrev: CID | null, err: unknown): Promise<RecordRejectedError> {
    const name = (err as Error).name
    if (name === 'PrevLinkMismatchError') {
      return new RecordRejectedError(false, `record ${blocks.record.cid.toString()} does not follow our head of log ${log}: ${describeError(err)}`, { cause: err })
    }
    // Whatever the service key can check is the sender's to check too: a failure there is proof.
    try {
      await openRecordEnvelope(blocks, { serviceKey: thread.key.service, logPublicKey: thread.logKeys.get(log)!, expectedPrev })
    } catch (envelopeErr) {
      const proof = (envelopeErr as Error).name !== 'PrevLinkMismatchError'
      return new RecordRejectedError(proof, `record ${blocks.record.cid.toString()} of log ${log} is invalid: ${describeError(envelopeErr)}`, { cause: envelopeErr })
    }
    return new RecordRejectedError(false, `the event of record ${blocks.record.cid.toString()} cannot be read: ${describeError(err)}`, { cause: err })
  }

  return {
    read: (thread, log, options) => store.readLog(thread.storeId, log, options),
    async append(thread, logId, first, records, from) {
      const publicKey = thread.logKeys.get(logId)
      if (publicKey == null) throw new LogUnknownError(`log ${logId} is not part of thread ${thread.id}`)
      return await init.logLock.run(`${thread.storeId}/${logId}`, async () => {
        const log = await store.getLog(thread.storeId, logId)
        const headCounter = log.head.counter
        const skip = Math.max(0, headCounter - first + 1)
        if (skip >= records.length) return { appended: 0, duplicates: records.length, counter: headCounter }
        if (first + skip !== headCounter + 1) {
          throw new GapError(`log ${logId} is at ${headCounter}; record ${first + skip} leaves a gap`)
        }
        const todo = records.slice(skip)
        // Each record's expected prev is the CID before it: verify them all at once.
        const prevs: Array<CID | null> = todo.map((_, i) => i === 0 ? (log.head.cid ?? null) : todo[i - 1]!.record.cid)
        const readKey = canRead(thread.key) ? thread.key.read : undefined
        const results = await Promise.allSettled(todo.map(async (blocks, i) => await openRecord(blocks, {
          serviceKey: thread.key.service,
          logPublicKey: publicKey,
          expectedPrev: prevs[i]!,
          ...(readKey != null ? { readKey } : {})
        })))
        const bad = results.findIndex((r) => r.status === 'rejected')
        const good = bad < 0 ? todo : todo.slice(0, bad)
        const failure = bad < 0 ? undefined : await reject(thread, logId, todo[bad]!, prevs[bad]!, (results[bad] as PromiseRejectedResult).reason)
        if (good.length > 0) {
          const bytes = good.reduce((n, b) => n + recordBytes(b), 0)
          if (from != null) {
            await admit(() => init.admission.admitRecords({ thread: thread.id, peer: from.peer, remoteAddr: from.remoteAddr, records: good.length, bytes }))
          }
          await store.appendRecords(thread.storeId, logId, good.map((blocks, i) => ({
            cid: blocks.record.cid,
            prev: prevs[i] ?? undefined,
            blocks: [blocks.record, blocks.event, blocks.header, blocks.body]
          })))
          init.appended(thread)
          if (from != null) init.admission.recordsStored?.(thread.id, good.length, bytes)
          stats.bytesReceived += bytes
        }
        let counter = headCounter
        for (let i = 0; i < good.length; i++) {
          counter++
          const opened = (results[i] as PromiseFulfilledResult<OpenedRecord>).value
          if (opened.event != null) {
            try { init.clock.receive(opened.event.time) } catch (err) { init.log('clock not moved by record %s: %s', good[i]!.record.cid, (err as Error).message) }
          }
          stats.recordsReceived++
          init.records.publish(toNetRecord(thread, logId, counter, good[i]!, opened, 'remote'))
        }
        if (failure != null) {
          failure.appended = good.length
          throw failure
        }
        return { appended: good.length, duplicates: skip, counter }
      })
    }
  }
}

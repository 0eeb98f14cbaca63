/**
 * Taking records into a log: verify (CIDs, service-key layer, prev link, signature), then append
 * in one store batch, then tell subscribers. Records of one log are appended in order under the
 * log's lock; a record we already hold is acknowledged and ignored, a record past our head is a
 * gap (the caller pulls the missing ones).
 */
import type { CID } from 'multiformats/cid'
import { openRecord, type RecordBlocks, type OpenedRecord } from '../core/record.js'
import { cidOf } from '../core/block.js'
import { identityToString } from '../core/identity.js'
import { canRead } from '../core/thread-key.js'
import type { LogID } from '../core/types.js'
import type { NetContext, ThreadState } from './context.js'
import type { NetRecord } from './types.js'
import type { WireBlocks } from './messages.js'
import { GapError, LogUnknownError } from './errors.js'
import { admit } from './admission.js'

/** Turn the four wire blocks into blocks with their CIDs (the CIDs are checked by openRecord). */
export async function blocksFromWire(wire: WireBlocks): Promise<RecordBlocks> {
  const [record, event, header, body] = await Promise.all(wire.map(async (bytes) => ({ cid: await cidOf(bytes), bytes })))
  return { record: record!, event: event!, header: header!, body: body! }
}

export function blocksToWire(blocks: RecordBlocks): WireBlocks {
  return [blocks.record.bytes, blocks.event.bytes, blocks.header.bytes, blocks.body.bytes]
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

/**
 * Verify and append consecutive records of one log, oldest first. `first` is the counter of
 * `records[0]`. Records at or below our head are skipped; a first record past head+1 is a gap.
 */
export async function ingestRecords(ctx: NetContext, thread: ThreadState, logId: LogID, first: number, records: RecordBlocks[], from?: { peer: string; remoteAddr: string }): Promise<IngestResult> {
  const publicKey = thread.logKeys.get(logId)
  if (publicKey == null) throw new LogUnknownError(`log ${logId} is not part of thread ${thread.id}`)
  return await ctx.logLock.run(`${thread.id}/${logId}`, async () => {
    const log = await ctx.store.getLog(thread.id, logId)
    const headCounter = log.head.counter
    const skip = Math.max(0, headCounter - first + 1)
    if (skip >= records.length) return { appended: 0, duplicates: records.length, counter: headCounter }
    if (first + skip !== headCounter + 1) {
      throw new GapError(`log ${logId} is at ${headCounter}; record ${first} leaves a gap`)
    }
    const todo = records.slice(skip)
    // Each record's expected prev is the CID before it: verify them all at once.
    const prevs: Array<CID | null> = todo.map((_, i) => i === 0 ? (log.head.cid ?? null) : todo[i - 1]!.record.cid)
    const readKey = canRead(thread.key) ? thread.key.read : undefined
    const bytes = todo.reduce((n, b) => n + b.record.bytes.byteLength + b.event.bytes.byteLength + b.header.bytes.byteLength + b.body.bytes.byteLength, 0)
    if (from != null) await admit(() => ctx.admission.admitRecords({ thread: thread.id, peer: from.peer, remoteAddr: from.remoteAddr, records: todo.length, bytes }))
    const opened = await Promise.all(todo.map(async (blocks, i) => await openRecord(blocks, {
      serviceKey: thread.key.service,
      logPublicKey: publicKey,
      expectedPrev: prevs[i]!,
      ...(readKey != null ? { readKey } : {})
    })))
    await ctx.store.appendRecords(thread.id, logId, todo.map((blocks, i) => ({
      cid: blocks.record.cid,
      prev: prevs[i] ?? undefined,
      blocks: [blocks.record, blocks.event, blocks.header, blocks.body]
    })))
    if (from != null) ctx.admission.recordsStored?.(thread.id, todo.length, bytes)
    let counter = headCounter
    for (let i = 0; i < todo.length; i++) {
      counter++
      const o = opened[i]!
      if (o.event != null) {
        try { ctx.clock.receive(o.event.time) } catch (err) { ctx.log('clock not moved by record %s: %s', todo[i]!.record.cid, (err as Error).message) }
      }
      ctx.stats.recordsReceived++
      for (const b of [todo[i]!.record, todo[i]!.event, todo[i]!.header, todo[i]!.body]) ctx.stats.bytesReceived += b.bytes.byteLength
      ctx.records.publish(toNetRecord(thread, logId, counter, todo[i]!, o, 'remote'))
    }
    return { appended: todo.length, duplicates: skip, counter }
  })
}

/**
 * Reading a log back from this peer's own store as opened records, for the layers above (the DB
 * catching up on what the log store holds). Every stored record verified before it was stored —
 * ingest opens each one before appending it, and our own records are signed here — so they are
 * decrypted again but their signatures are not verified a second time. Reading the store, opening
 * and handing records over are pipelined: the next page opens while the caller takes this one.
 */
import type { LogID } from '../core/index.js'
import type { ReadLogOptions } from '../store/index.js'
import type { Ingest } from './ingest.js'
import { readRecord, toNetRecord } from './ingest.js'
import type { ThreadState } from './registry.js'
import type { NetRecord } from './types.js'

/** Records opened at once (and read ahead of the caller). */
const OPEN_PAGE = 64

export async function * readStoredLog(thread: ThreadState, ingest: Ingest, log: LogID, options: ReadLogOptions = {}): AsyncGenerator<NetRecord> {
  const open = async (page: Array<{ counter: number; blocks: NetRecord['blocks'] }>): Promise<NetRecord[]> =>
    await Promise.all(page.map(async (e) => toNetRecord(thread, log, e.counter, e.blocks, await readRecord(thread, log, e.blocks, undefined, true), 'local')))
  let page: Array<{ counter: number; blocks: NetRecord['blocks'] }> = []
  let ahead: Promise<NetRecord[]> | undefined
  try {
    for await (const e of ingest.read(thread, log, options)) {
      page.push({ counter: e.counter, blocks: e.blocks })
      if (page.length < OPEN_PAGE) continue
      const done = ahead
      ahead = open(page)
      void ahead.catch(() => {})
      page = []
      if (done !== undefined) yield * await done
    }
    if (ahead !== undefined) yield * await ahead
    ahead = undefined
    if (page.length > 0) yield * await open(page)
  } finally {
    // A caller that stops early leaves no promise unhandled.
    void ahead?.catch(() => {})
  }
}

/**
 * The log store, written once against {@link KVStore}: threads, logs, heads, blocks and the
 * per-log record index (layout in `log-layout.ts` and docs/STORAGE.md).
 *
 * Concurrency: every write to a log runs under that log's exclusive lock and a shared lock of its
 * thread; thread-level writes (add, re-key, delete) take the thread's exclusive lock. Heads are
 * cached in memory; only lock holders fill or change the cache, after their batch succeeded
 * (a failed batch drops the entry, so the next writer reads the head from disk again).
 */
import type { CID } from 'multiformats/cid'
import { logger } from '../core/logger.js'
import type { Block, LogID, ThreadID } from '../core/types.js'
import { checkBlockShape, defaultSha256, toCID, verifyBlocks } from './blocks.js'
import {
  BlockNotFoundError,
  CorruptStoreError,
  HeadMismatchError,
  InvalidBlockError,
  InvalidStoreInputError,
  LogExistsError,
  LogNotFoundError,
  ThreadExistsError,
  ThreadNotFoundError,
  UnsupportedStoreFormatError
} from './errors.js'
import { checkSignal } from './kv-base.js'
import { decodeUint64, encodeUint64, utf8 } from './keys.js'
import type { AbortOptions, BatchOp, KVStore } from './kv.js'
import * as layout from './log-layout.js'
import { keyedLocks, type LockMode } from './lock.js'
import type {
  AddLogInit,
  Head,
  LogEntry,
  LogInfo,
  LogStore,
  LogStoreInit,
  ReadLogOptions,
  RecordBlocks,
  ThreadInfo
} from './logstore-types.js'

const log = logger('weft:store:logstore')

export type { LogStore, LogStoreInit } from './logstore-types.js'

/** Cached state of one log: its head and the keys its appends write. */
interface LogState {
  head: Head
  headKey: Uint8Array
  entryPrefix: Uint8Array
  recordPrefix: Uint8Array
  logIdBytes: Uint8Array
}

function checkId(id: unknown, what: string): void {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidStoreInputError(`${what} must be a non-empty string`)
}

function checkBytes(value: unknown, what: string): void {
  if (!(value instanceof Uint8Array)) throw new InvalidStoreInputError(`${what} must be a Uint8Array`)
}

function checkAddrs(addrs: unknown): asserts addrs is readonly string[] {
  if (!Array.isArray(addrs) || !addrs.every((a) => typeof a === 'string')) throw new InvalidStoreInputError('addrs must be an array of strings')
}

function sameCid(a: CID | undefined, b: CID | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b)
}

function describe(cid: CID | undefined): string {
  return cid === undefined ? 'none' : cid.toString()
}

/** Validate an append input; returns it with CIDs normalised. */
function checkRecord(input: unknown, index: number): { cid: CID; prev: CID | undefined; blocks: RecordBlocks } {
  const what = `record ${index}`
  if (input == null || typeof input !== 'object') throw new InvalidStoreInputError(`${what} is not an object`)
  const { cid, prev, blocks } = input as { cid?: unknown; prev?: unknown; blocks?: unknown }
  if (blocks == null || typeof blocks !== 'object') throw new InvalidBlockError(`${what} has no blocks`)
  let b: Record<string, unknown>
  if (Array.isArray(blocks)) {
    if (blocks.length !== 4) throw new InvalidBlockError(`${what} must have 4 blocks (record, event, header, body)`)
    const [record, event, header, body] = blocks as unknown[]
    b = { record, event, header, body }
  } else {
    b = blocks as Record<string, unknown>
  }
  const checked: RecordBlocks = {
    record: checkBlockShape(b.record, `${what} record block`),
    event: checkBlockShape(b.event, `${what} event block`),
    header: checkBlockShape(b.header, `${what} header block`),
    body: checkBlockShape(b.body, `${what} body block`)
  }
  const recordCid = toCID(cid, `${what} CID`)
  if (!recordCid.equals(checked.record.cid)) throw new InvalidBlockError(`${what} CID is not the CID of its record block`)
  return { cid: recordCid, prev: prev === undefined ? undefined : toCID(prev, `${what} prev`), blocks: checked }
}

function checkCounter(n: unknown, what: string, allowInfinity: boolean): number {
  if (typeof n !== 'number' || n < 0 || !(Number.isSafeInteger(n) || (allowInfinity && n === Infinity))) {
    throw new InvalidStoreInputError(`${what} must be a non-negative integer`)
  }
  return n
}

/**
 * Create a log store over `kv`. Checks (and on a fresh store writes) the storage format version;
 * UnsupportedStoreFormatError for data of another version. The caller keeps ownership of `kv`.
 */
export async function createLogStore(kv: KVStore, init: LogStoreInit = {}): Promise<LogStore> {
  const verify = init.verifyBlocks ?? true
  const hash = init.sha256 ?? defaultSha256
  const readPageSize = init.readPageSize ?? 64
  const deleteChunkSize = init.deleteChunkSize ?? 1024

  const stored = await kv.get(layout.versionKey)
  if (stored === undefined) {
    await kv.put(layout.versionKey, encodeUint64(layout.FORMAT_VERSION))
  } else {
    let version: number
    try {
      version = decodeUint64(stored)
    } catch (err) {
      throw new UnsupportedStoreFormatError('unreadable log store format version', { cause: err })
    }
    if (version !== layout.FORMAT_VERSION) {
      throw new UnsupportedStoreFormatError(`log store format version ${version} is not supported (expected ${layout.FORMAT_VERSION})`)
    }
  }

  const locks = keyedLocks()
  const threadLock = (t: ThreadID): string => `t\0${t}`
  /** Writes to a log: the thread shared, the log exclusive. */
  const logLocks = (t: ThreadID, l: LogID): Array<[string, LockMode]> => [[threadLock(t), 'shared'], [`l\0${t}\0${l}`, 'exclusive']]
  /** Heads of logs, per thread; written only by lock holders. */
  const cache = new Map<ThreadID, Map<LogID, LogState>>()

  const newState = (t: ThreadID, l: LogID, head: Head): LogState => ({
    head,
    headKey: layout.headKey(t, l),
    entryPrefix: layout.entriesPrefix(t, l),
    recordPrefix: layout.recordsPrefix(t),
    logIdBytes: utf8(l)
  })

  const cached = (t: ThreadID, l: LogID): LogState | undefined => cache.get(t)?.get(l)

  const remember = (t: ThreadID, l: LogID, state: LogState): void => {
    let logs = cache.get(t)
    if (logs === undefined) cache.set(t, (logs = new Map()))
    logs.set(l, state)
  }

  const forget = (t: ThreadID, l: LogID): void => {
    cache.get(t)?.delete(l)
  }

  const notFound = async (t: ThreadID, l: LogID, options?: AbortOptions): Promise<Error> =>
    (await kv.get(layout.threadKey(t), options)) === undefined
      ? new ThreadNotFoundError(`thread ${t} not found`)
      : new LogNotFoundError(`log ${l} not found in thread ${t}`)

  /** The head from the cache or from disk (without filling the cache). */
  const readHead = async (t: ThreadID, l: LogID, options?: AbortOptions): Promise<Head> => {
    const hit = cached(t, l)
    if (hit !== undefined) return { ...hit.head }
    const bytes = await kv.get(layout.headKey(t, l), options)
    if (bytes === undefined) throw await notFound(t, l, options)
    return layout.decodeHead(bytes)
  }

  /** The cached state, read through on a miss. Call only while holding the log's lock. */
  const loadState = async (t: ThreadID, l: LogID, options?: AbortOptions): Promise<LogState> => {
    const hit = cached(t, l)
    if (hit !== undefined) return hit
    const bytes = await kv.get(layout.headKey(t, l), options)
    if (bytes === undefined) throw await notFound(t, l, options)
    const state = newState(t, l, layout.decodeHead(bytes))
    remember(t, l, state)
    return state
  }

  const requireThread = async (t: ThreadID, options?: AbortOptions): Promise<Uint8Array> => {
    checkId(t, 'thread ID')
    const bytes = await kv.get(layout.threadKey(t), options)
    if (bytes === undefined) throw new ThreadNotFoundError(`thread ${t} not found`)
    return bytes
  }

  const fetchBlocks = async (entries: Array<{ counter: number; cids: layout.EntryCIDs }>, options?: AbortOptions): Promise<LogEntry[]> => {
    const keys: Uint8Array[] = []
    for (const { cids } of entries) {
      keys.push(layout.blockKey(cids.record), layout.blockKey(cids.event), layout.blockKey(cids.header), layout.blockKey(cids.body))
    }
    const values = await kv.getMany(keys, options)
    const block = (cid: CID, i: number): Block => {
      const bytes = values[i]
      if (bytes === undefined) throw new BlockNotFoundError(`block ${cid.toString()} is missing`)
      return { cid, bytes }
    }
    return entries.map(({ counter, cids }, n) => ({
      counter,
      cid: cids.record,
      blocks: {
        record: block(cids.record, 4 * n),
        event: block(cids.event, 4 * n + 1),
        header: block(cids.header, 4 * n + 2),
        body: block(cids.body, 4 * n + 3)
      }
    }))
  }

  const toLogInfo = (l: LogID, bytes: Uint8Array, head: Head): LogInfo => {
    const stored = layout.decodeLog(bytes)
    return {
      id: l,
      publicKey: stored.publicKey,
      ...(stored.privateKey === undefined ? {} : { privateKey: stored.privateKey }),
      addrs: stored.addrs,
      head
    }
  }

  async function * readLogEntries(t: ThreadID, l: LogID, options: ReadLogOptions): AsyncGenerator<LogEntry> {
    checkId(t, 'thread ID')
    checkId(l, 'log ID')
    const after = checkCounter(options.after ?? 0, 'after', false)
    const limit = checkCounter(options.limit ?? Infinity, 'limit', true)
    const signal = options.signal
    const abort = signal === undefined ? {} : { signal }
    await readHead(t, l, abort)
    const prefix = layout.entriesPrefix(t, l)
    let page: Array<{ counter: number; cids: layout.EntryCIDs }> = []
    for await (const [key, value] of kv.range({ prefix, gt: layout.entryKey(prefix, after), limit, ...abort })) {
      page.push({ counter: layout.counterFromEntryKey(key), cids: layout.decodeEntry(value) })
      if (page.length >= readPageSize) {
        for (const entry of await fetchBlocks(page, abort)) yield entry
        page = []
      }
    }
    if (page.length > 0) for (const entry of await fetchBlocks(page, abort)) yield entry
  }

  const store: LogStore = {
    async addThread(id, { key }, options) {
      checkId(id, 'thread ID')
      checkBytes(key, 'thread key')
      return locks.run([[threadLock(id), 'exclusive']], async () => {
        if ((await kv.get(layout.threadKey(id), options)) !== undefined) throw new ThreadExistsError(`thread ${id} already exists`)
        await kv.put(layout.threadKey(id), layout.encodeThread(key), options)
        log('added thread %s', id)
        return { id, key }
      })
    },

    async getThread(id, options) {
      return { id, key: layout.decodeThread(await requireThread(id, options)) }
    },

    async hasThread(id, options) {
      checkId(id, 'thread ID')
      return (await kv.get(layout.threadKey(id), options)) !== undefined
    },

    async listThreads(options) {
      const out: ThreadInfo[] = []
      for await (const [k, v] of kv.range({ prefix: layout.threadsPrefix, ...options })) {
        out.push({ id: layout.idFromKey(k, 3) as ThreadID, key: layout.decodeThread(v) })
      }
      return out
    },

    async setThreadKey(id, key, options) {
      checkId(id, 'thread ID')
      checkBytes(key, 'thread key')
      await locks.run([[threadLock(id), 'exclusive']], async () => {
        await requireThread(id, options)
        await kv.put(layout.threadKey(id), layout.encodeThread(key), options)
      })
    },

    async deleteThread(id, options = {}) {
      checkId(id, 'thread ID')
      await locks.run([[threadLock(id), 'exclusive']], async () => {
        await requireThread(id, options)
        let ops: BatchOp[] = []
        const flush = async (): Promise<void> => {
          if (ops.length === 0) return
          const chunk = ops
          ops = []
          await kv.batch(chunk, options)
        }
        try {
          for await (const [key, value] of kv.range({ prefix: layout.threadEntriesPrefix(id), ...options })) {
            const cids = layout.decodeEntry(value)
            ops.push({ type: 'del', key })
            for (const cid of [cids.record, cids.event, cids.header, cids.body]) ops.push({ type: 'del', key: layout.blockKey(cid) })
            if (ops.length >= deleteChunkSize) await flush()
          }
          for (const prefix of [layout.recordsPrefix(id), layout.logsPrefix(id), layout.headsPrefix(id)]) {
            for await (const [key] of kv.range({ prefix, ...options })) {
              ops.push({ type: 'del', key })
              if (ops.length >= deleteChunkSize) await flush()
            }
          }
          ops.push({ type: 'del', key: layout.threadKey(id) })
          await flush()
        } finally {
          cache.delete(id)
        }
        log('deleted thread %s', id)
      })
    },

    async addLog(t, init, options) {
      checkId(t, 'thread ID')
      if (init == null || typeof init !== 'object') throw new InvalidStoreInputError('log init must be an object')
      const { id: l, publicKey, privateKey, addrs = [] } = init as AddLogInit
      checkId(l, 'log ID')
      checkBytes(publicKey, 'public key')
      if (privateKey !== undefined) checkBytes(privateKey, 'private key')
      checkAddrs(addrs)
      return locks.run(logLocks(t, l), async () => {
        await requireThread(t, options)
        if ((await kv.get(layout.headKey(t, l), options)) !== undefined) throw new LogExistsError(`log ${l} already exists in thread ${t}`)
        const unique = [...new Set(addrs)]
        const head: Head = { cid: undefined, counter: 0 }
        const state = newState(t, l, head)
        await kv.batch([
          { type: 'put', key: layout.logKey(t, l), value: layout.encodeLog({ publicKey, privateKey, addrs: unique }) },
          { type: 'put', key: state.headKey, value: layout.encodeHead(head) }
        ], options)
        remember(t, l, state)
        return { id: l, publicKey, ...(privateKey === undefined ? {} : { privateKey }), addrs: unique, head: { ...head } }
      })
    },

    async getLog(t, l, options) {
      checkId(t, 'thread ID')
      checkId(l, 'log ID')
      const head = await readHead(t, l, options)
      const bytes = await kv.get(layout.logKey(t, l), options)
      if (bytes === undefined) throw await notFound(t, l, options)
      return toLogInfo(l, bytes, head)
    },

    async listLogs(t, options) {
      await requireThread(t, options)
      const out: LogInfo[] = []
      for await (const [k, v] of kv.range({ prefix: layout.logsPrefix(t), ...options })) {
        const l = layout.idFromKey(k, 4) as LogID
        out.push(toLogInfo(l, v, await readHead(t, l, options)))
      }
      return out
    },

    async addAddrs(t, l, addrs, options) {
      checkId(t, 'thread ID')
      checkId(l, 'log ID')
      checkAddrs(addrs)
      return locks.run(logLocks(t, l), async () => {
        const bytes = await kv.get(layout.logKey(t, l), options)
        if (bytes === undefined) throw await notFound(t, l, options)
        const stored = layout.decodeLog(bytes)
        const merged = [...new Set([...stored.addrs, ...addrs])]
        if (merged.length !== stored.addrs.length) {
          await kv.put(layout.logKey(t, l), layout.encodeLog({ ...stored, addrs: merged }), options)
        }
        return merged
      })
    },

    async getHead(t, l, options) {
      checkId(t, 'thread ID')
      checkId(l, 'log ID')
      return readHead(t, l, options)
    },

    async getHeads(t, options) {
      await requireThread(t, options)
      const out: Array<{ id: LogID; head: Head }> = []
      for await (const [k, v] of kv.range({ prefix: layout.headsPrefix(t), ...options })) {
        const id = layout.idFromKey(k, 4) as LogID
        const hit = cached(t, id)
        out.push({ id, head: hit === undefined ? layout.decodeHead(v) : { ...hit.head } })
      }
      return out
    },

    async putBlocks(blocks, options) {
      if (!Array.isArray(blocks)) throw new InvalidStoreInputError('blocks must be an array')
      const checked = blocks.map((b: unknown, i) => checkBlockShape(b, `block ${i}`))
      if (verify) await verifyBlocks(checked, hash)
      await kv.batch(checked.map((b) => ({ type: 'put', key: layout.blockKey(b.cid), value: b.bytes })), options)
    },

    async getBlock(cid, options) {
      return kv.get(layout.blockKey(toCID(cid, 'CID')), options)
    },

    async hasBlock(cid, options) {
      return (await kv.get(layout.blockKey(toCID(cid, 'CID')), options)) !== undefined
    },

    appendRecord(t, l, record, options) {
      return store.appendRecords(t, l, [record], options)
    },

    async appendRecords(t, l, records, options = {}) {
      checkId(t, 'thread ID')
      checkId(l, 'log ID')
      checkSignal(options.signal)
      if (!Array.isArray(records)) throw new InvalidStoreInputError('records must be an array')
      const inputs = records.map((r: unknown, i) => checkRecord(r, i))
      // Hash outside the lock (in parallel with earlier appends), but queue for the lock now, so
      // appends to a log are applied in call order.
      const verified = verify ? verifyBlocks(inputs.flatMap((r) => [r.blocks.record, r.blocks.event, r.blocks.header, r.blocks.body]), hash) : undefined
      void verified?.catch(() => undefined)
      return locks.run(logLocks(t, l), async () => {
        await verified
        checkSignal(options.signal)
        const state = await loadState(t, l, options)
        let head = state.head
        if (inputs.length === 0) return { ...head }
        const ops: BatchOp[] = []
        for (const [i, rec] of inputs.entries()) {
          if (!sameCid(rec.prev, head.cid)) {
            throw new HeadMismatchError(
              `record ${i} (${rec.cid.toString()}) has prev ${describe(rec.prev)} but the head of log ${l} is ${describe(head.cid)}`
            )
          }
          const counter = head.counter + 1
          const { record, event, header, body } = rec.blocks
          for (const b of [record, event, header, body]) ops.push({ type: 'put', key: layout.blockKey(b.cid), value: b.bytes })
          ops.push({
            type: 'put',
            key: layout.entryKey(state.entryPrefix, counter),
            value: layout.encodeEntry({ record: record.cid, event: event.cid, header: header.cid, body: body.cid })
          })
          ops.push({ type: 'put', key: layout.cidKey(state.recordPrefix, rec.cid), value: layout.encodeRecordRef(counter, state.logIdBytes) })
          head = { cid: rec.cid, counter }
        }
        ops.push({ type: 'put', key: state.headKey, value: layout.encodeHead(head) })
        try {
          await kv.batch(ops, options)
        } catch (err) {
          forget(t, l)
          throw err
        }
        state.head = head
        return { ...head }
      })
    },

    readLog(t, l, options = {}) {
      return { [Symbol.asyncIterator]: () => readLogEntries(t, l, options) }
    },

    async getRecordBlocks(t, cid, options) {
      checkId(t, 'thread ID')
      const recordCid = toCID(cid, 'record CID')
      const ref = await kv.get(layout.cidKey(layout.recordsPrefix(t), recordCid), options)
      if (ref === undefined) return undefined
      const { counter, logId } = layout.decodeRecordRef(ref)
      const entry = await kv.get(layout.entryKey(layout.entriesPrefix(t, logId), counter), options)
      if (entry === undefined) throw new CorruptStoreError(`record ${recordCid.toString()} has no index entry`)
      const [found] = await fetchBlocks([{ counter, cids: layout.decodeEntry(entry) }], options)
      return { ...(found as LogEntry), logId }
    },

    async hasRecord(t, cid, options) {
      checkId(t, 'thread ID')
      return (await kv.get(layout.cidKey(layout.recordsPrefix(t), toCID(cid, 'record CID')), options)) !== undefined
    }
  }
  return store
}

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
import { isHashedBlock } from '../core/index.js'
import { logger } from '../core/logger.js'
import type { Block, LogID, ThreadID } from '../core/types.js'
import { checkBlockShape, defaultSha256, toCID, verifyBlocks } from './blocks.js'
import { allAddrs, checkAddrs, checkAlso, checkBytes, checkCounter, checkId, checkRecord, checkSigned, describe, sameCid } from './logstore-checks.js'
import {
  BlockNotFoundError,
  CorruptStoreError,
  HeadMismatchError,
  InvalidStoreInputError,
  LimitExceededError,
  LogExistsError,
  LogFrozenError,
  LogNotFoundError,
  ThreadExistsError,
  ThreadNotFoundError
} from './errors.js'
import { checkSignal } from './kv-base.js'
import { utf8 } from './keys.js'
import type { AbortOptions, BatchOp, KVStore } from './kv.js'
import * as layout from './log-layout.js'
import { openFormat } from './log-migrate.js'
import { keyedLocks, type LockMode } from './lock.js'
import type {
  AddLogInit,
  Head,
  LogEntry,
  LogFork,
  LogInfo,
  LogStore,
  LogStoreInit,
  ReadLogOptions,
  ThreadInfo
} from './logstore-types.js'

const log = logger('weft:store:logstore')

export type { LogStore, LogStoreInit } from './logstore-types.js'

/** Cached state of one log: its head, where it is frozen, and the keys its appends write. */
interface LogState {
  head: Head
  /** The counter of its fork: no record at or past it is stored. */
  frozenAt: number | undefined
  headKey: Uint8Array
  entryPrefix: Uint8Array
  recordPrefix: Uint8Array
  logIdBytes: Uint8Array
}

/**
 * Create a log store over `kv`. Checks (and on a fresh store writes) the storage format version,
 * migrating a version 1 store in place; UnsupportedStoreFormatError for data of another version.
 * The caller keeps ownership of `kv`.
 */
export async function createLogStore(kv: KVStore, init: LogStoreInit = {}): Promise<LogStore> {
  const verify = init.verifyBlocks ?? true
  const hash = init.sha256 ?? defaultSha256
  const readPageSize = init.readPageSize ?? 64
  const deleteChunkSize = init.deleteChunkSize ?? 1024

  await openFormat(kv)

  const locks = keyedLocks()
  const threadLock = (t: ThreadID): string => `t\0${t}`
  /** Adding logs to a thread (they are counted against the limit one at a time). */
  const countLock = (t: ThreadID): string => `n\0${t}`
  /** Logs per thread, counted once from the store and kept while the thread's logs are added under `countLock`. */
  const logCounts = new Map<ThreadID, number>()
  /** Writes to a log: the thread shared, the log exclusive. */
  const logLocks = (t: ThreadID, l: LogID): Array<[string, LockMode]> => [[threadLock(t), 'shared'], [`l\0${t}\0${l}`, 'exclusive']]
  /** Heads of logs, per thread; written only by lock holders. */
  const cache = new Map<ThreadID, Map<LogID, LogState>>()

  const newState = (t: ThreadID, l: LogID, head: Head, frozenAt: number | undefined): LogState => ({
    head,
    frozenAt,
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
    const [bytes, value] = await kv.getMany([layout.headKey(t, l), layout.logKey(t, l)], options)
    if (bytes === undefined || value === undefined) throw await notFound(t, l, options)
    const state = newState(t, l, layout.decodeHead(bytes), layout.decodeLog(value).fork?.counter)
    remember(t, l, state)
    return state
  }

  /** Read a log value and write it back changed, under the log's lock; `change` returns undefined to write nothing. */
  const updateLog = async <T>(t: ThreadID, l: LogID, options: AbortOptions | undefined,
    change: (stored: layout.StoredLog) => { value: layout.StoredLog; result: T } | { result: T }): Promise<T> =>
    locks.run(logLocks(t, l), async () => {
      const bytes = await kv.get(layout.logKey(t, l), options)
      if (bytes === undefined) throw await notFound(t, l, options)
      const out = change(layout.decodeLog(bytes))
      if ('value' in out) await kv.put(layout.logKey(t, l), layout.encodeLog(out.value), options)
      return out.result
    })

  /** The number of logs of a thread; call under its `countLock`. */
  const countLogs = async (t: ThreadID, options?: AbortOptions): Promise<number> => {
    const known = logCounts.get(t)
    if (known !== undefined) return known
    let n = 0
    for await (const _ of kv.range({ prefix: layout.headsPrefix(t), ...options })) n++
    logCounts.set(t, n)
    return n
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
      ...(stored.own === undefined || stored.own === 0 ? {} : { own: stored.own }),
      ...(stored.author === undefined ? {} : { author: stored.author }),
      ...(stored.certificate === undefined ? {} : { certificate: stored.certificate }),
      addrs: allAddrs(stored),
      ...(stored.signed === undefined ? {} : { signedAddrs: stored.signed }),
      ...(stored.fork === undefined ? {} : { fork: stored.fork }),
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
    const head = await readHead(t, l, abort)
    if (head.counter <= after || limit === 0) return
    const prefix = layout.entriesPrefix(t, l)
    let page: Array<{ counter: number; cids: layout.EntryCIDs }> = []
    // Up to the head: entries past it (left by a truncation cut short) are not part of the log.
    for await (const [key, value] of kv.range({ prefix, gt: layout.entryKey(prefix, after), lte: layout.entryKey(prefix, head.counter), limit, ...abort })) {
      page.push({ counter: layout.counterFromEntryKey(key), cids: layout.decodeEntry(value) })
      if (page.length >= readPageSize) {
        for (const entry of await fetchBlocks(page, abort)) yield entry
        page = []
      }
    }
    if (page.length > 0) for (const entry of await fetchBlocks(page, abort)) yield entry
  }

  /**
   * Freeze a log at `fork`: in one batch, the proof and the head moved back to the record before
   * the fork, with the first records past it; then the rest of those records, in chunks (reads
   * stop at the head, so a deletion cut short leaves nothing readable).
   */
  async function truncate(t: ThreadID, l: LogID, fork: LogFork, options?: AbortOptions): Promise<LogFork> {
    return locks.run(logLocks(t, l), async () => {
      const state = await loadState(t, l, options)
      const bytes = await kv.get(layout.logKey(t, l), options)
      if (bytes === undefined) throw await notFound(t, l, options)
      const stored = layout.decodeLog(bytes)
      if (stored.fork !== undefined && stored.fork.counter <= fork.counter) return stored.fork
      const old = state.head
      let head: Head = old
      if (old.counter >= fork.counter) {
        if (fork.counter === 1) {
          head = { cid: undefined, counter: 0 }
        } else {
          const entry = await kv.get(layout.entryKey(state.entryPrefix, fork.counter - 1), options)
          if (entry === undefined) throw new CorruptStoreError(`log ${l} has no record ${fork.counter - 1} below its head`)
          head = { cid: layout.decodeEntry(entry).record, counter: fork.counter - 1 }
        }
      }
      const first: BatchOp[] = [
        { type: 'put', key: layout.logKey(t, l), value: layout.encodeLog({ ...stored, fork }) },
        { type: 'put', key: state.headKey, value: layout.encodeHead(head) }
      ]
      let ops: BatchOp[] = first
      const flush = async (): Promise<void> => {
        const chunk = ops
        ops = []
        await kv.batch(chunk, options)
        if (chunk === first) {
          state.head = head
          state.frozenAt = fork.counter
        }
      }
      try {
        if (head.counter < old.counter) {
          const range = { prefix: state.entryPrefix, gt: layout.entryKey(state.entryPrefix, head.counter), lte: layout.entryKey(state.entryPrefix, old.counter) }
          for await (const [key, value] of kv.range({ ...range, ...(options?.signal === undefined ? {} : { signal: options.signal }) })) {
            const cids = layout.decodeEntry(value)
            ops.push({ type: 'del', key }, { type: 'del', key: layout.cidKey(state.recordPrefix, cids.record) })
            for (const cid of [cids.record, cids.event, cids.header, cids.body]) ops.push({ type: 'del', key: layout.blockKey(cid) })
            if (ops.length >= deleteChunkSize) await flush()
          }
        }
        if (ops.length > 0 || ops === first) await flush()
      } catch (err) {
        forget(t, l)
        throw err
      }
      log('log %s of thread %s frozen at record %d (%d records dropped)', l, t, fork.counter, old.counter - head.counter)
      return fork
    })
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
          logCounts.delete(id)
        }
        log('deleted thread %s', id)
      })
    },

    async addLog(t, init, options) {
      checkId(t, 'thread ID')
      if (init == null || typeof init !== 'object') throw new InvalidStoreInputError('log init must be an object')
      const { id: l, publicKey, privateKey, addrs = [], signedAddrs, own, author, certificate } = init as AddLogInit
      checkId(l, 'log ID')
      checkBytes(publicKey, 'public key')
      if (privateKey !== undefined) checkBytes(privateKey, 'private key')
      if (author !== undefined) checkBytes(author, 'author')
      if (certificate !== undefined) {
        checkBytes(certificate?.nonce, 'certificate nonce')
        checkBytes(certificate?.signature, 'certificate signature')
      }
      if (own !== undefined && (!Number.isSafeInteger(own) || own < 0)) throw new InvalidStoreInputError('own must be a non-negative integer')
      checkAddrs(addrs)
      const signed = signedAddrs === undefined ? undefined : checkSigned(signedAddrs)
      return locks.run([[countLock(t), 'exclusive'], ...logLocks(t, l)], async () => {
        await requireThread(t, options)
        if ((await kv.get(layout.headKey(t, l), options)) !== undefined) throw new LogExistsError(`log ${l} already exists in thread ${t}`)
        const count = await countLogs(t, options)
        if (count >= layout.MAX_LOGS_PER_THREAD) {
          throw new LimitExceededError(`thread ${t} holds ${count} logs, the most a thread may`)
        }
        const stored: layout.StoredLog = {
          publicKey,
          privateKey,
          own,
          author,
          certificate: certificate === undefined ? undefined : { nonce: certificate.nonce, signature: certificate.signature },
          signed,
          addrs: layout.newestAddrs(addrs),
          fork: undefined
        }
        const head: Head = { cid: undefined, counter: 0 }
        const state = newState(t, l, head, undefined)
        const value = layout.encodeLog(stored)
        await kv.batch([
          { type: 'put', key: layout.logKey(t, l), value },
          { type: 'put', key: state.headKey, value: layout.encodeHead(head) }
        ], options)
        logCounts.set(t, count + 1)
        remember(t, l, state)
        return toLogInfo(l, value, { ...head })
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
      return updateLog(t, l, options, (stored) => {
        const fresh = addrs.filter((a) => !stored.addrs.includes(a))
        if (fresh.length === 0) return { result: stored.addrs }
        const merged = layout.newestAddrs([...stored.addrs, ...fresh])
        return { value: { ...stored, addrs: merged }, result: merged }
      })
    },

    async setSignedAddrs(t, l, signed, options) {
      checkId(t, 'thread ID')
      checkId(l, 'log ID')
      const list = checkSigned(signed)
      return updateLog(t, l, options, (stored) => {
        if (stored.signed !== undefined && stored.signed.seq >= list.seq) return { result: false }
        return { value: { ...stored, signed: list }, result: true }
      })
    },

    async freezeLog(t, l, fork, options) {
      checkId(t, 'thread ID')
      checkId(l, 'log ID')
      if (fork == null || typeof fork !== 'object') throw new InvalidStoreInputError('a fork must be an object')
      const counter = checkCounter(fork.counter, 'fork counter', false)
      if (counter < 1) throw new InvalidStoreInputError('a fork is at counter 1 or later')
      if (!Array.isArray(fork.records) || fork.records.length !== 2) throw new InvalidStoreInputError('a fork holds two record blocks')
      for (const r of fork.records) {
        checkBytes(r, 'fork record')
        if (r.byteLength > layout.MAX_NODE_BLOCK_BYTES) throw new LimitExceededError(`a record block of ${r.byteLength} bytes is over ${layout.MAX_NODE_BLOCK_BYTES}`)
      }
      const proof: LogFork = { counter, records: [fork.records[0], fork.records[1]] }
      return truncate(t, l, proof, options)
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
      const also = checkAlso(options.with)
      // Hash outside the lock (in parallel with earlier appends), but queue for the lock now, so
      // appends to a log are applied in call order.
      // Blocks whose CIDs core computed from their bytes (records just sealed here) are not hashed again.
      const unchecked = verify ? inputs.flatMap((r) => [r.blocks.record, r.blocks.event, r.blocks.header, r.blocks.body]).filter((b) => !isHashedBlock(b)) : []
      const verified = unchecked.length > 0 ? verifyBlocks(unchecked, hash) : undefined
      void verified?.catch(() => undefined)
      return locks.run(logLocks(t, l), async () => {
        await verified
        checkSignal(options.signal)
        const state = await loadState(t, l, options)
        let head = state.head
        if (inputs.length === 0) return { ...head }
        if (state.frozenAt !== undefined && head.counter + inputs.length >= state.frozenAt) {
          throw new LogFrozenError(`log ${l} is frozen at record ${state.frozenAt}: nothing at or past it is stored`)
        }
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
        for (const op of also) ops.push(op)
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

    writesTo(other) {
      return other === kv
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
      // A record past its log's head was dropped by a fork (its deletion was cut short).
      if (counter > (await readHead(t, logId, options)).counter) return undefined
      const entry = await kv.get(layout.entryKey(layout.entriesPrefix(t, logId), counter), options)
      if (entry === undefined) throw new CorruptStoreError(`record ${recordCid.toString()} has no index entry`)
      const [found] = await fetchBlocks([{ counter, cids: layout.decodeEntry(entry) }], options)
      return { ...(found as LogEntry), logId }
    },

    async hasRecord(t, cid, options) {
      checkId(t, 'thread ID')
      const ref = await kv.get(layout.cidKey(layout.recordsPrefix(t), toCID(cid, 'record CID')), options)
      if (ref === undefined) return false
      const { counter, logId } = layout.decodeRecordRef(ref)
      return counter <= (await readHead(t, logId, options)).counter
    }
  }
  return store
}

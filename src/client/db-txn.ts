/**
 * Transactions in the tab. The transaction itself lives in the worker (worker/db-txn.ts), where
 * src/db runs it against one overlay, so reads see the transaction's own writes exactly as they
 * would in-process. The tab object queues operations and sends them in batches: operations issued
 * in the same tick (not awaiting each other) travel in one message, a batch goes only after the
 * previous one answered, and each operation's promise settles with its own answer (a failed
 * operation leaves the transaction as it was, as in src/db). The first batch opens the
 * transaction in the worker, so a transaction that is never started costs no call.
 *
 * A batch that fails as a whole by abort, timeout or loss of the worker leaves the transaction's
 * state unknown: the worker discards it, and later operations fail with TransactionDiscardedError.
 */
import { fromWireError } from './errors.js'
import type { ClientReadTransaction, ClientWriteTransaction, TxnOptions } from './db-types.js'
import type { Envelope, TxnBatch, TxnBegin, TxnOp, TxnOpName } from './protocol.js'
import type { CallOptions } from './rpc.js'

type Call = <T>(method: string, args: unknown[], options?: CallOptions) => Promise<T>

interface Pending {
  op: TxnOp
  resolve(value: unknown): void
  reject(err: Error): void
}

let nextTxn = 1
const tabTag = Math.random().toString(36).slice(2, 10)

/** An error as src/db names it (the tab does not carry src/db's classes). */
function dbError(name: string, message: string, cause?: unknown): Error {
  const err = fromWireError({ name, message })
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, configurable: true, writable: true })
  return err
}

function discarded(lost: Error): Error {
  return dbError('TransactionDiscardedError', `the transaction was discarded: ${lost.message}`, lost)
}

/** Errors after which the tab cannot know what the worker did with the batch. */
const LOST = new Set(['AbortError', 'CallTimeoutError', 'WorkerGoneError', 'ClientClosedError'])

export function openTransaction(call: Call, kind: 'read', begin: Omit<TxnBegin, 'kind'>, options: TxnOptions): ClientReadTransaction
export function openTransaction(call: Call, kind: 'write', begin: Omit<TxnBegin, 'kind'>, options: TxnOptions): ClientWriteTransaction
export function openTransaction(call: Call, kind: 'read' | 'write', begin: Omit<TxnBegin, 'kind'>, options: TxnOptions): ClientWriteTransaction | ClientReadTransaction {
  const id = `${tabTag}-${nextTxn++}`
  const beginMsg: TxnBegin = { ...begin, kind, ...(options.idleTimeoutMs !== undefined ? { idleMs: options.idleTimeoutMs } : {}) }
  const callOptions: CallOptions = {
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {})
  }
  let state: 'new' | 'active' | 'ended' | 'discarded' = 'new'
  let begun = false
  let lost: Error | undefined
  let running = false
  const queue: Pending[] = []

  async function pump(): Promise<void> {
    // Gather what is issued in this tick.
    await Promise.resolve()
    while (queue.length > 0) {
      const pending = queue.splice(0)
      if (lost !== undefined) {
        for (const p of pending) p.reject(discarded(lost))
        continue
      }
      const batch: TxnBatch = { txn: id, ops: pending.map((p) => p.op) }
      if (!begun) batch.begin = beginMsg
      begun = true
      let answers: Envelope[]
      try {
        answers = await call<Envelope[]>('db.txn', [batch], callOptions)
      } catch (err) {
        const e = err as Error
        if (LOST.has(e.name)) abandon(e)
        else if (batch.begin !== undefined) begun = false // not opened: the next batch opens it again
        for (const p of pending) p.reject(e)
        continue
      }
      pending.forEach((p, i) => {
        const a = answers[i]
        for (const f of a?.filterErrors ?? []) {
          try { options.onFilterError?.(f) } catch { /* the caller's callback: its failure is not the read's */ }
        }
        if (a?.ok === true) p.resolve(a.value)
        else p.reject(a === undefined ? dbError('RemoteWorkerError', 'no answer for the operation') : fromWireError(a.error))
      })
    }
    running = false
  }

  /**
   * Give the transaction up (its state is unknown here): later operations fail, and the worker is
   * told to discard it at once (it may not have heard of the abort) so what it staged is dropped.
   */
  function abandon(reason: Error): void {
    if (lost !== undefined) return
    lost = reason
    options.signal?.removeEventListener('abort', onAbort)
    if (!begun || state === 'discarded') return
    const discard: TxnBatch = { txn: id, ops: [{ op: 'discard', collection: begin.collection, args: [] }] }
    void call('db.txn', [discard], options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}).catch(() => undefined)
  }

  const onAbort = (): void => {
    if (state === 'active') abandon(dbError('AbortError', 'the transaction was aborted', options.signal?.reason))
  }
  options.signal?.addEventListener('abort', onAbort, { once: true })

  function send(op: TxnOpName, collection: string, args: unknown[]): Promise<unknown> {
    if (lost !== undefined) return Promise.reject(discarded(lost))
    return new Promise((resolve, reject) => {
      queue.push({ op: { op, collection, args }, resolve, reject })
      if (!running) {
        running = true
        void pump().catch((err: Error) => {
          running = false
          for (const p of queue.splice(0)) p.reject(err)
        })
      }
    })
  }

  /** An operation of an active transaction; rejected here, as src/db would, when it is not. */
  async function op(name: TxnOpName, collection: string, args: unknown[]): Promise<unknown> {
    if (state === 'discarded') throw dbError('TransactionDiscardedError', "can't commit discarded txn")
    if (state !== 'active') throw dbError('TransactionClosedError', state === 'new' ? 'call start() first' : 'the transaction has ended')
    return await send(name, collection, args)
  }

  async function end(): Promise<void> {
    options.signal?.removeEventListener('abort', onAbort)
    if (state !== 'active') { if (state === 'new') state = 'ended'; return }
    state = 'ended'
    await send('end', begin.collection, [])
  }

  async function discard(): Promise<void> {
    options.signal?.removeEventListener('abort', onAbort)
    const was = state
    state = 'discarded'
    // A lost transaction is discarded by the worker already.
    if (was === 'active' && lost === undefined) await send('discard', begin.collection, [])
  }

  async function start(): Promise<() => Promise<void>> {
    if (state !== 'new') throw dbError('TransactionClosedError', 'the transaction was already started')
    state = 'active'
    try {
      await send('start', begin.collection, [])
    } catch (err) {
      if (lost === undefined) state = 'new'
      throw err
    }
    return end
  }

  const toQuery = (q: unknown): unknown => {
    const j = q as { toJSON?: () => unknown } | null | undefined
    return typeof j?.toJSON === 'function' ? j.toJSON() : q ?? null
  }

  function view(collection: string): ClientWriteTransaction {
    return {
      start,
      end,
      discard,
      has: async (ids) => await op('has', collection, [ids]) as boolean,
      find: async (q) => await op('find', collection, [toQuery(q)]) as Awaited<ReturnType<ClientWriteTransaction['find']>>,
      findByID: async (instanceID) => await op('findByID', collection, [instanceID]) as Awaited<ReturnType<ClientWriteTransaction['findByID']>>,
      explain: async (q) => await op('explain', collection, [toQuery(q)]) as Awaited<ReturnType<ClientWriteTransaction['explain']>>,
      create: async (instances) => await op('create', collection, [instances]) as string[],
      save: async (instances) => { await op('save', collection, [instances]) },
      delete: async (ids) => { await op('delete', collection, [ids]) },
      verify: async (instances) => { await op('verify', collection, [instances]) },
      collection: (other) => view(other)
    }
  }

  if (kind === 'write') return view(begin.collection)
  const readView = (collection: string): ClientReadTransaction => {
    const { start: s, end: e, discard: d, has, find, findByID, explain } = view(collection)
    return { start: s, end: e, discard: d, has, find, findByID, explain, collection: readView }
  }
  return readView(begin.collection)
}

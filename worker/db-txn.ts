/**
 * Transactions of the tabs, run in the worker. A tab's transaction object (src/client/db-txn.ts)
 * sends its operations in batches; each batch runs, in order, against one src/db transaction that
 * lives here across calls, so a write transaction reads its own writes exactly as it would
 * in-process, and `end()` commits it as one event.
 *
 * An open transaction holds no lock between its calls (src/db transactions are optimistic: each
 * call takes the read lock for its own duration, `end()` takes the write lock to validate and
 * commit), so a slow or paused tab never blocks another tab's reads or the application of remote
 * events. It still holds memory (its staged writes), so the worker bounds how long it lives: a
 * transaction is discarded (its later operations fail with TransactionDiscardedError) when it goes
 * `idleMs` without a call, when one of its calls is aborted or times out (the tab no longer knows
 * its state), and when its tab is gone. Transactions are per tab: another tab cannot name them.
 */
import { ReadOnlyTransactionError, TransactionClosedError, TransactionDiscardedError } from '../src/db/index.js'
import type { FilterFailure, ReadTransaction, WriteTransaction, InstanceID, QueryJSON } from '../src/db/index.js'
import { toWireError } from '../src/contract/index.js'
import type { Envelope, TxnBatch, TxnBegin, TxnOp } from '../src/contract/index.js'
import type { CallContext } from './api.js'

type AnyTxn = ReadTransaction | WriteTransaction

interface Session {
  id: string
  kind: 'read' | 'write'
  collection: string
  opening: Promise<AnyTxn>
  views: Map<string, AnyTxn>
  /** Batches run one after the other. */
  tail: Promise<void>
  state: 'open' | 'done' | 'expired' | 'abandoned'
  idleMs: number
  /** Read filter failures not yet reported (when the tab asked for them). */
  failures?: FilterFailure[]
  timer?: ReturnType<typeof setTimeout>
  forget(): void
}

export interface TxnSessionsInit {
  /**
   * Make the (unstarted) src/db transaction a batch's `begin` names; with `failures`, its read
   * filter failures are pushed there (each operation's answer carries those it caused).
   */
  open(begin: TxnBegin, failures?: FilterFailure[]): Promise<AnyTxn>
  /** Default idle limit (ms). */
  idleMs: number
}

export interface TxnSessions {
  exec(batch: TxnBatch, ctx: CallContext): Promise<Envelope[]>
  /** Discard every open transaction (worker shutdown). */
  close(): void
}

const WRITES = new Set(['create', 'save', 'delete', 'verify'])
const OPS = new Set(['start', 'end', 'discard', 'create', 'save', 'delete', 'verify', 'has', 'find', 'findByID', 'explain'])
/** Longest idle limit a tab may ask for (ms). */
const MAX_IDLE_MS = 10 * 60_000

function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`${what} must be an array`)
  return v
}

function checkBatch(batch: unknown): TxnBatch {
  const b = batch as TxnBatch | null
  if (b == null || typeof b !== 'object' || typeof b.txn !== 'string' || !Array.isArray(b.ops)) throw new TypeError('malformed transaction batch')
  for (const op of b.ops) {
    if (op == null || typeof op !== 'object' || !OPS.has(op.op) || typeof op.collection !== 'string' || !Array.isArray(op.args)) throw new TypeError('malformed transaction operation')
  }
  if (b.begin != null && (typeof b.begin.thread !== 'string' || typeof b.begin.collection !== 'string' || (b.begin.kind !== 'read' && b.begin.kind !== 'write'))) {
    throw new TypeError('malformed transaction begin')
  }
  return b
}

export function createTxnSessions(init: TxnSessionsInit): TxnSessions {
  const byTab = new WeakMap<AbortSignal, Map<string, Session>>()
  const open = new Set<Session>()

  function kill(s: Session, state: 'expired' | 'abandoned'): void {
    if (s.state !== 'open') return
    s.state = state
    clearTimeout(s.timer)
    open.delete(s)
    // After the batch now running: drop what the transaction staged.
    s.tail = s.tail.then(async () => { await (await s.opening).discard() }).catch(() => undefined)
  }

  function tabSessions(tab: AbortSignal): Map<string, Session> {
    let sessions = byTab.get(tab)
    if (sessions === undefined) {
      const created = new Map<string, Session>()
      sessions = created
      byTab.set(tab, created)
      tab.addEventListener('abort', () => {
        for (const s of created.values()) kill(s, 'abandoned')
        created.clear()
      }, { once: true })
    }
    return sessions
  }

  function arm(s: Session): void {
    clearTimeout(s.timer)
    if (s.state === 'open') s.timer = setTimeout(() => { kill(s, 'expired') }, s.idleMs)
  }

  function view(s: Session, txn: AnyTxn, collection: string): AnyTxn {
    if (collection === s.collection) return txn
    let v = s.views.get(collection)
    if (v === undefined) {
      v = txn.collection(collection)
      s.views.set(collection, v)
    }
    return v
  }

  async function runOp(s: Session, op: TxnOp): Promise<unknown> {
    if (s.state === 'expired' || s.state === 'abandoned') {
      if (op.op === 'discard') { s.forget(); return undefined }
      throw new TransactionDiscardedError(s.state === 'expired'
        ? `the transaction was discarded after ${s.idleMs} ms without a call`
        : 'the transaction was discarded: one of its calls was aborted or timed out, or its tab is gone')
    }
    const txn = await s.opening
    if (s.state === 'done') {
      if (op.op === 'end' || op.op === 'discard') return undefined
      throw new TransactionClosedError('the transaction has ended')
    }
    if (s.kind === 'read' && WRITES.has(op.op)) throw new ReadOnlyTransactionError()
    const [a] = op.args
    switch (op.op) {
      case 'start': await txn.start(); return undefined
      case 'end': s.state = 'done'; s.forget(); await txn.end(); return undefined
      case 'discard': s.state = 'done'; s.forget(); await txn.discard(); return undefined
      case 'has': return await view(s, txn, op.collection).has(list(a, 'ids') as InstanceID[])
      case 'find': return await view(s, txn, op.collection).find((a ?? undefined) as QueryJSON | undefined)
      case 'findByID': return await view(s, txn, op.collection).findByID(a as InstanceID)
      case 'explain': return await view(s, txn, op.collection).explain((a ?? undefined) as QueryJSON | undefined)
      default: {
        const w = view(s, txn, op.collection) as WriteTransaction
        if (op.op === 'create') return await w.create(list(a, 'instances') as object[])
        if (op.op === 'save') { await w.save(list(a, 'instances') as object[]); return undefined }
        if (op.op === 'delete') { await w.delete(list(a, 'ids') as InstanceID[]); return undefined }
        await w.verify(list(a, 'instances') as object[])
        return undefined
      }
    }
  }

  return {
    async exec(raw, ctx) {
      const batch = checkBatch(raw)
      const sessions = tabSessions(ctx.session)
      let s = sessions.get(batch.txn)
      if (batch.begin != null) {
        if (s !== undefined) throw new TransactionClosedError('the transaction was already begun')
        const begin = batch.begin
        const idleMs = Math.min(MAX_IDLE_MS, Math.max(1, typeof begin.idleMs === 'number' && Number.isFinite(begin.idleMs) ? begin.idleMs : init.idleMs))
        const failures: FilterFailure[] | undefined = begin.reportFilterErrors === true ? [] : undefined
        const opening = init.open(begin, failures)
        const created: Session = {
          id: batch.txn,
          kind: begin.kind,
          collection: begin.collection,
          opening,
          views: new Map(),
          tail: opening.then(() => undefined, () => undefined),
          state: 'open',
          idleMs,
          ...(failures !== undefined ? { failures } : {}),
          forget: () => {
            clearTimeout(created.timer)
            open.delete(created)
            if (sessions.get(batch.txn) === created) sessions.delete(batch.txn)
          }
        }
        // A transaction that cannot be opened (unknown DB, bad token) is forgotten at once.
        opening.catch(() => { created.state = 'done'; created.forget() })
        s = created
        sessions.set(batch.txn, s)
        open.add(s)
      }
      if (s === undefined) throw new TransactionClosedError('unknown transaction: it has ended, or another tab opened it')
      const session = s
      const onAbort = (): void => { kill(session, 'abandoned') }
      ctx.signal.addEventListener('abort', onAbort, { once: true })
      const run = async (): Promise<Envelope[]> => {
        clearTimeout(session.timer)
        // An opening failure is every operation's answer.
        await session.opening
        const out: Envelope[] = []
        for (const op of batch.ops) {
          let answer: Envelope
          try {
            answer = { ok: true, value: await runOp(session, op) }
          } catch (err) {
            answer = { ok: false, error: toWireError(err) }
          }
          if (session.failures !== undefined && session.failures.length > 0) answer.filterErrors = session.failures.splice(0)
          out.push(answer)
        }
        arm(session)
        return out
      }
      const result = session.tail.then(run)
      session.tail = result.then(() => undefined, () => undefined)
      try {
        return await result
      } finally {
        ctx.signal.removeEventListener('abort', onAbort)
      }
    },

    close() {
      for (const s of [...open]) kill(s, 'abandoned')
    }
  }
}

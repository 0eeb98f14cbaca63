/**
 * The worker's transaction sessions (worker/db-txn.ts) against a recording stand-in for a src/db
 * transaction: batches run in order with one answer per operation, and a transaction is discarded
 * when idle, when one of its calls is aborted, and when its tab dies; and, against a real DB, an
 * open write transaction of one tab holds no lock, so another tab's reads answer meanwhile.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { CallContext } from '../../worker/api.js'
import { createTxnSessions } from '../../worker/db-txn.js'
import type { Envelope, TxnBatch, TxnBegin } from '../../src/client/protocol.js'
import type { WriteTransaction } from '../../src/db/index.js'
import { createFakeWorld, replica } from '../db/helpers.js'

function recorder(log: string[]): WriteTransaction {
  let started = false
  const t = {
    start: async () => { log.push('start'); started = true; return async () => { await t.end() } },
    end: async () => { log.push('end') },
    discard: async () => { log.push('discard') },
    create: async (xs: object[]) => {
      if (!started) throw Object.assign(new Error('call start() first'), { name: 'TransactionClosedError' })
      if (xs.some((x) => (x as { bad?: boolean }).bad === true)) throw Object.assign(new Error('nope'), { name: 'SchemaValidationError' })
      log.push(`create ${xs.length}`)
      return xs.map((_, i) => `id${i}`)
    },
    save: async () => { log.push('save') },
    delete: async () => { log.push('delete') },
    verify: async () => { log.push('verify') },
    has: async () => true,
    find: async () => [{ _id: 'x' }],
    findByID: async (id: string) => ({ _id: id }),
    explain: async () => ({ plan: 'scan' as const, docsRead: 0, indexEntriesRead: 0, returned: 0 }),
    collection: () => t
  }
  return t
}

const begin = (kind: 'read' | 'write' = 'write'): TxnBegin => ({ thread: 't', collection: 'C', kind })

function ctx(session = new AbortController().signal, signal = new AbortController().signal): CallContext {
  return { signal, session, tabs: () => 1, streams: () => 0 }
}

function names(answers: Envelope[]): string[] {
  return answers.map((a) => (a.ok ? 'ok' : a.error.name))
}

afterEach(() => { vi.useRealTimers() })

describe('worker transaction sessions', () => {
  it('runs a batch in order with one answer per operation, a failed one leaving the rest to run', async () => {
    const log: string[] = []
    const s = createTxnSessions({ idleMs: 30_000, open: async () => recorder(log) })
    const tab = ctx()
    const batch: TxnBatch = {
      txn: 'a', begin: begin(),
      ops: [
        { op: 'start', collection: 'C', args: [] },
        { op: 'create', collection: 'C', args: [[{}, {}]] },
        { op: 'create', collection: 'C', args: [[{ bad: true }]] },
        { op: 'find', collection: 'Other', args: [null] }
      ]
    }
    const answers = await s.exec(batch, tab)
    expect(names(answers)).toEqual(['ok', 'ok', 'SchemaValidationError', 'ok'])
    expect(answers[1]).toEqual({ ok: true, value: ['id0', 'id1'] })
    expect(names(await s.exec({ txn: 'a', ops: [{ op: 'end', collection: 'C', args: [] }] }, tab))).toEqual(['ok'])
    expect(log).toEqual(['start', 'create 2', 'end'])
    // Ended: forgotten.
    await expect(s.exec({ txn: 'a', ops: [{ op: 'find', collection: 'C', args: [] }] }, tab)).rejects.toMatchObject({ name: 'TransactionClosedError' })
  })

  it('fails the whole call when the transaction cannot be opened, and lets a retry open it', async () => {
    let fail = true
    const s = createTxnSessions({
      idleMs: 30_000,
      open: async () => {
        if (fail) throw Object.assign(new Error('no such DB'), { name: 'DBNotFoundError' })
        return recorder([])
      }
    })
    const tab = ctx()
    const batch: TxnBatch = { txn: 'a', begin: begin(), ops: [{ op: 'start', collection: 'C', args: [] }] }
    await expect(s.exec(batch, tab)).rejects.toMatchObject({ name: 'DBNotFoundError' })
    fail = false
    expect(names(await s.exec(batch, tab))).toEqual(['ok'])
  })

  it('keeps transactions per tab', async () => {
    const s = createTxnSessions({ idleMs: 30_000, open: async () => recorder([]) })
    await s.exec({ txn: 'a', begin: begin(), ops: [{ op: 'start', collection: 'C', args: [] }] }, ctx())
    await expect(s.exec({ txn: 'a', ops: [{ op: 'end', collection: 'C', args: [] }] }, ctx())).rejects.toMatchObject({ name: 'TransactionClosedError' })
  })

  it('refuses writes in a read transaction', async () => {
    const s = createTxnSessions({ idleMs: 30_000, open: async () => recorder([]) })
    const answers = await s.exec({
      txn: 'r', begin: begin('read'),
      ops: [{ op: 'start', collection: 'C', args: [] }, { op: 'create', collection: 'C', args: [[{}]] }, { op: 'has', collection: 'C', args: [['x']] }]
    }, ctx())
    expect(names(answers)).toEqual(['ok', 'ReadOnlyTransactionError', 'ok'])
  })

  it('discards a transaction left idle; its next operation says so and discard still answers', async () => {
    vi.useFakeTimers()
    const log: string[] = []
    const s = createTxnSessions({ idleMs: 30_000, open: async () => recorder(log) })
    const tab = ctx()
    await s.exec({ txn: 'a', begin: { ...begin(), idleMs: 500 }, ops: [{ op: 'start', collection: 'C', args: [] }] }, tab)
    await vi.advanceTimersByTimeAsync(499)
    expect(log).toEqual(['start'])
    await vi.advanceTimersByTimeAsync(2)
    expect(log).toEqual(['start', 'discard'])
    expect(names(await s.exec({ txn: 'a', ops: [{ op: 'create', collection: 'C', args: [[{}]] }, { op: 'end', collection: 'C', args: [] }] }, tab)))
      .toEqual(['TransactionDiscardedError', 'TransactionDiscardedError'])
    expect(names(await s.exec({ txn: 'a', ops: [{ op: 'discard', collection: 'C', args: [] }] }, tab))).toEqual(['ok'])
  })

  it('discards a transaction one of whose calls was aborted, after the operation running then', async () => {
    const log: string[] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const s = createTxnSessions({
      idleMs: 30_000,
      open: async () => ({ ...recorder(log), start: async () => { log.push('waiting'); await gate; log.push('start'); return async () => {} } })
    })
    const tab = ctx()
    const call = new AbortController()
    const running = s.exec({ txn: 'a', begin: begin(), ops: [{ op: 'start', collection: 'C', args: [] }, { op: 'save', collection: 'C', args: [[{}]] }] }, ctx(tab.session, call.signal))
    // Aborted while the start waits for the lock: once it has it, the lock goes straight back.
    await vi.waitFor(() => { expect(log).toEqual(['waiting']) })
    call.abort()
    release()
    expect(names(await running)).toEqual(['ok', 'TransactionDiscardedError'])
    await vi.waitFor(() => { expect(log).toEqual(['waiting', 'start', 'discard']) })
  })

  it('discards the open transactions of a tab that is gone', async () => {
    const log: string[] = []
    const s = createTxnSessions({ idleMs: 30_000, open: async () => recorder(log) })
    const tab = new AbortController()
    await s.exec({ txn: 'a', begin: begin(), ops: [{ op: 'start', collection: 'C', args: [] }] }, ctx(tab.signal))
    tab.abort()
    await vi.waitFor(() => { expect(log).toEqual(['start', 'discard']) })
  })

  it('answers another tab\'s find while a tab holds a write transaction open, and commits it afterwards', async () => {
    const r = await replica(createFakeWorld(), 'w')
    try {
      const db = await r.manager.newDB(undefined, { collections: [{ name: 'C' }] })
      await db.create('C', [{ _id: 'old' }])
      const s = createTxnSessions({
        idleMs: 30_000,
        open: async (b) => b.kind === 'write' ? db.writeTransaction(b.collection) : db.readTransaction(b.collection)
      })
      const writer = ctx()
      const reader = ctx()
      const opened = await s.exec({ txn: 'w', begin: begin(), ops: [{ op: 'start', collection: 'C', args: [] }, { op: 'create', collection: 'C', args: [[{ _id: 'new' }]] }] }, writer)
      expect(names(opened)).toEqual(['ok', 'ok'])
      // The write transaction stays open between calls; the other tab's reads do not wait for it.
      const read = await s.exec({ txn: 'r', begin: begin('read'), ops: [{ op: 'start', collection: 'C', args: [] }, { op: 'find', collection: 'C', args: [null] }, { op: 'end', collection: 'C', args: [] }] }, reader)
      expect(read[1]).toEqual({ ok: true, value: [{ _id: 'old' }] })
      expect(await db.find('C')).toEqual([{ _id: 'old' }])
      expect(names(await s.exec({ txn: 'w', ops: [{ op: 'end', collection: 'C', args: [] }] }, writer))).toEqual(['ok'])
      expect((await db.find('C')).map((d) => d._id)).toEqual(['new', 'old'])
      s.close()
    } finally {
      await r.manager.close()
    }
  })
})

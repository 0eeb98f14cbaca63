/**
 * The scripted workload of the crash tests, shared by the child that runs it (and is killed) and
 * the parent that checks what survived: rounds of write transactions, deterministic given a
 * prefix and a round number. The transactions of one round run side by side (group commit) and
 * touch disjoint documents; a round starts when every transaction of the one before was
 * acknowledged. So after a crash, every round before the first one not wholly acknowledged must be
 * there, and each transaction of that round is there whole or not at all.
 */
import type { CollectionConfig, Database } from '../../src/db/index.js'

export interface Doc {
  _id: string
  email: string
  group: string
  n: number
  text: string
}

export type TxnOp =
  | { t: 'create'; doc: Doc }
  | { t: 'save'; doc: Doc }
  | { t: 'delete'; id: string }

/** One write transaction: single-kind ones go through `create`/`save`/`delete`, mixed ones through a write transaction. */
export interface TxnSpec {
  kind: 'create' | 'save' | 'delete' | 'mixed'
  ops: TxnOp[]
}

export type Round = TxnSpec[]

export const COLLECTION_NAME = 'Items'

/** A unique and a non-unique index, so that commits move index entries. */
export const COLLECTION: CollectionConfig = {
  name: COLLECTION_NAME,
  indexes: [{ path: 'email', unique: true }, { path: 'group' }]
}

/** Bytes of ops per record: small, so that the larger transactions span several records. */
export const MAX_EVENT_BYTES = 400

/** Rounds of one cycle of the workload (every kind of transaction once). */
export const CYCLE = 6

function doc(id: string, group: string, n: number, text = ''): Doc {
  return { _id: id, email: `${id}@x`, group, n, text }
}

/** Round `i` of the workload of documents named `prefix…`. */
export function round(prefix: string, i: number): Round {
  const c = `${prefix}${Math.floor(i / CYCLE)}`
  switch (i % CYCLE) {
    case 0: // one create of three documents
      return [{ kind: 'create', ops: [0, 1, 2].map((j) => ({ t: 'create', doc: doc(`${c}a${j}`, `g${j % 2}`, j) })) }]
    case 1: // four creates side by side: a group commit
      return [0, 1, 2, 3].map((t) => ({ kind: 'create', ops: [0, 1].map((j) => ({ t: 'create', doc: doc(`${c}b${t}${j}`, `g${t}`, j) })) }))
    case 2: // one create too large for one record: a multi-record transaction
      return [{ kind: 'create', ops: [0, 1, 2, 3, 4, 5].map((j) => ({ t: 'create', doc: doc(`${c}m${j}`, 'gm', j, 'x'.repeat(150)) })) }]
    case 3: // saves that move both index entries of two documents
      return [{ kind: 'save', ops: [0, 1].map((j) => ({ t: 'save', doc: { ...doc(`${c}a${j}`, 'g9', 100 + j), email: `${c}a${j}.v2@x` } })) }]
    case 4: // a delete, a save and a create side by side
      return [
        { kind: 'delete', ops: [{ t: 'delete', id: `${c}a2` }] },
        { kind: 'save', ops: [{ t: 'save', doc: { ...doc(`${c}b00`, 'g7', 7), email: `${c}b00.v2@x` } }] },
        { kind: 'create', ops: [{ t: 'create', doc: doc(`${c}e0`, 'g1', 1) }] }
      ]
    default: // one write transaction of creates, a save and deletes, over several records
      return [{
        kind: 'mixed',
        ops: [
          ...[0, 1, 2, 3].map((j): TxnOp => ({ t: 'create', doc: doc(`${c}w${j}`, 'gw', j, 'w'.repeat(120)) })),
          { t: 'save', doc: { ...doc(`${c}m0`, 'g5', 50, 'y'.repeat(120)) } },
          { t: 'delete', id: `${c}m1` },
          { t: 'delete', id: `${c}b10` }
        ]
      }]
  }
}

/** The document IDs a transaction touches. */
export function touched(txn: TxnSpec): string[] {
  return [...new Set(txn.ops.map((op) => op.t === 'delete' ? op.id : op.doc._id))]
}

/** Apply a transaction to a model of the collection (saves replace every field: they give them all). */
export function fold(model: Map<string, Doc>, txn: TxnSpec): void {
  for (const op of txn.ops) {
    if (op.t === 'delete') model.delete(op.id)
    else model.set(op.doc._id, { ...op.doc })
  }
}

/** Run one transaction against the DB; resolves when it is acknowledged (durable). */
export async function runTxn(db: Database, txn: TxnSpec): Promise<void> {
  const docs = txn.ops.flatMap((op) => op.t === 'delete' ? [] : [op.doc])
  switch (txn.kind) {
    case 'create': await db.create(COLLECTION_NAME, docs); return
    case 'save': await db.save(COLLECTION_NAME, docs); return
    case 'delete': await db.delete(COLLECTION_NAME, touched(txn)); return
    case 'mixed': {
      const w = db.writeTransaction(COLLECTION_NAME)
      await w.start()
      for (const op of txn.ops) {
        if (op.t === 'create') await w.create([op.doc])
        else if (op.t === 'save') await w.save([op.doc])
        else await w.delete([op.id])
      }
      await w.end()
    }
  }
}

/**
 * An independent reference fold for the convergence test: it reads the event format as
 * docs/DB.md describes it and folds with plain maps — no overlays, undo records or store:
 *
 * - each log's records in counter order, cut at the earliest fork notice of the log; each record
 *   placed at its order time (its own time, or the previous record's when it does not increase —
 *   rejected — or when it could not be read — rejected with its error);
 * - every event sorted by (order time, log ID, record counter) and applied whole or not at all;
 * - owners (the genesis that matches the thread ID's commitment, then `owners` ops) and the writer
 *   list decide who may change collections, owners, writers and instances;
 * - the test collections' rules: Items (a schema, a unique `tag`, the validator below), Notes.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { parseIdentity, publicKeyToBytes } from '../../src/core/identity.js'
import type { DBRecord } from '../../src/db/engine.js'
import type { CollectionConfig } from '../../src/db/index.js'

export const ITEMS: CollectionConfig = {
  name: 'Items',
  schema: {
    type: 'object',
    properties: { _id: { type: 'string' }, n: { type: 'integer' }, tag: { type: 'string' }, color: { type: 'string' }, locked: { type: 'boolean' } },
    required: ['_id']
  },
  indexes: [{ path: 'tag', unique: true }, { path: 'n' }],
  writeValidator: `
    if (instance && instance.locked === true && event.patch.type !== 'delete') return 'locked'
    var p = event.patch.json_patch
    if (p && typeof p.n === 'number' && p.n < 0) return 'negative'
    return true`
}

export const NOTES: CollectionConfig = {
  name: 'Notes',
  schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' }, item: { type: 'string' } } }
}

type Doc = Record<string, unknown>

export interface ModelInput {
  /** Every record the replicas hold (the same for every replica below each log's first fork). */
  records: DBRecord[]
  /** Fork notices. */
  forks: Array<{ log: string; counter: number }>
  /** The random part of the thread ID. */
  commitment: Uint8Array
}

export interface ModelState {
  docs(collection: string): Doc[]
  collections: string[]
  /** null: ungoverned. */
  owners: string[] | null
  writers: string[] | null
  rejected: Array<{ log: string; counter: number; name: string }>
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch
  const out: Doc = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Doc) } : {}
  for (const [k, v] of Object.entries(patch as Doc)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

class Reject extends Error {
  constructor(readonly why: string) { super(why) }
}

const isWellFormed = (s: string): boolean => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)

/** The checks parsing applies to every value of an op. */
function checkValue(v: unknown): void {
  if (typeof v === 'string') { if (!isWellFormed(v)) throw new Reject('InvalidStringError'); return }
  if (typeof v === 'number') { if (!Number.isFinite(v)) throw new Reject('InvalidInstanceError'); return }
  if (v === null || typeof v !== 'object') return
  if (Array.isArray(v)) { v.forEach(checkValue); return }
  for (const k of Object.keys(v)) {
    if (k === '__proto__') throw new Reject('InvalidInstanceError')
    if (!isWellFormed(k)) throw new Reject('InvalidStringError')
    checkValue((v as Doc)[k])
  }
}

function commits(commitment: Uint8Array, owner: unknown, salt: unknown): boolean {
  if (typeof owner !== 'string' || typeof salt !== 'string' || !/^[0-9a-f]{32}$/.test(salt)) return false
  let key: Uint8Array
  try { key = publicKeyToBytes(parseIdentity(owner)) } catch { return false }
  const saltBytes = Uint8Array.from(salt.match(/../g)!.map((h) => parseInt(h, 16)))
  const h = sha256(new Uint8Array([...new TextEncoder().encode('weft-db-owner-v1'), ...key, ...saltBytes]))
  return h.every((b, i) => b === commitment[i])
}

type Op = { t: string; c?: string; id?: string; doc?: Doc; patch?: Doc; owner?: string; salt?: string; add?: string[]; remove?: string[]; set?: string[] | null; config?: Doc }
type Body = { weftdb: number; ops: string; txn?: { id: string; part: number; parts: number } }

function parse(body: unknown, committed: boolean): { ops: Op[]; txn: Body['txn']; version: number } {
  const b = body as Body | null
  if (b === null || typeof b !== 'object' || (b.weftdb !== 1 && b.weftdb !== 2) || typeof b.ops !== 'string') throw new Reject('InvalidEventError')
  let ops: Op[]
  try { ops = JSON.parse(b.ops) as Op[] } catch { throw new Reject('InvalidEventError') }
  if (!Array.isArray(ops) || ops.length === 0) throw new Reject('InvalidEventError')
  for (const op of ops) {
    if (['genesis', 'owners', 'writers'].includes(op.t) && b.weftdb === 1) throw new Reject('InvalidEventError')
    if (op.t === 'create' && (op.doc as Doc | undefined)?._id !== op.id) throw new Reject('InvalidEventError')
    for (const v of [op.doc, op.patch, op.config]) if (v !== undefined) checkValue(v)
    if (typeof op.id === 'string' && !isWellFormed(op.id)) throw new Reject('InvalidStringError')
  }
  if (b.weftdb === 1 && committed) throw new Reject('InvalidEventError')
  return { ops, txn: b.txn, version: b.weftdb }
}

const ITEM_TYPES: Record<string, string> = { _id: 'string', n: 'integer', tag: 'string', color: 'string', locked: 'boolean' }
const NOTE_TYPES: Record<string, string> = { _id: 'string', text: 'string', item: 'string' }

function schemaOK(collection: string, doc: Doc): boolean {
  const types = collection === 'Items' ? ITEM_TYPES : collection === 'Notes' ? NOTE_TYPES : { _id: 'string' }
  return Object.entries(types).every(([k, t]) => doc[k] === undefined || (t === 'integer' ? Number.isInteger(doc[k]) : typeof doc[k] === t))
}

interface State { colls: Map<string, Map<string, Doc>>; owners: string[] | null; writers: string[] | null }

function copy(s: State): State {
  return { colls: new Map([...s.colls].map(([c, m]) => [c, new Map(m)])), owners: s.owners === null ? null : [...s.owners], writers: s.writers === null ? null : [...s.writers] }
}

export function foldEvents(input: ModelInput): ModelState {
  const rejected: ModelState['rejected'] = []
  // Does the thread ID commit (a matching genesis anywhere, whoever wrote it)?
  const committed = input.records.some((r) => {
    if (r.error !== undefined || r.time === undefined) return false
    try {
      const b = r.body as Body
      return b.weftdb === 2 && (JSON.parse(b.ops) as Op[]).some((op) => op.t === 'genesis' && commits(input.commitment, op.owner, op.salt))
    } catch { return false }
  })
  // Admission: order times, cut at forks.
  const freeze = new Map<string, number>()
  for (const f of input.forks) freeze.set(f.log, Math.min(freeze.get(f.log) ?? Infinity, f.counter))
  const byLog = new Map<string, DBRecord[]>()
  for (const r of input.records) byLog.set(r.log, [...(byLog.get(r.log) ?? []), r])
  type Ev = { r: DBRecord; wall: number; hlc: number; fixed?: string }
  const events: Ev[] = []
  for (const [log, list] of byLog) {
    list.sort((a, b) => a.counter - b.counter)
    let last: { wall: number; counter: number } | undefined
    for (const r of list) {
      if (r.counter >= (freeze.get(log) ?? Infinity)) break
      let time: { wall: number; counter: number }
      let fixed: string | undefined
      if (r.time === undefined || r.error !== undefined) { time = last ?? { wall: 0, counter: 0 }; fixed = r.error?.name ?? 'UnreadableEventError' }
      else if (last !== undefined && (r.time.wall < last.wall || (r.time.wall === last.wall && r.time.counter <= last.counter))) { time = last; fixed = 'ClockRegressionError' }
      else time = r.time
      last = time
      events.push({ r, wall: time.wall, hlc: time.counter, ...(fixed !== undefined ? { fixed } : {}) })
    }
  }
  events.sort((a, b) => a.wall - b.wall || a.hlc - b.hlc || (a.r.log < b.r.log ? -1 : a.r.log > b.r.log ? 1 : 0) || a.r.counter - b.r.counter)

  let state: State = { colls: new Map(), owners: null, writers: null }
  const owners = (s: State): string[] | null => s.owners ?? (committed ? [] : null)
  const parts = new Map<string, Op[]>()
  for (const { r, fixed } of events) {
    const next = copy(state)
    const author = r.author ?? ''
    try {
      if (fixed !== undefined) throw new Reject(fixed)
      const body = parse(r.body, committed)
      let ops = body.ops
      if (body.txn !== undefined) {
        if (body.txn.part < body.txn.parts - 1) {
          parts.set(`${r.log}/${r.counter}`, ops)
          continue
        }
        const all: Op[] = []
        for (let k = 0; k < body.txn.parts - 1; k++) {
          const part = parts.get(`${r.log}/${r.counter - body.txn.parts + 1 + k}`)
          const partBody = input.records.find((x) => x.log === r.log && x.counter === r.counter - body.txn!.parts + 1 + k)?.body as Body | undefined
          if (part === undefined || partBody?.txn?.id !== body.txn.id || partBody.txn.part !== k) throw new Reject('InvalidEventError')
          all.push(...part)
        }
        ops = [...all, ...ops]
      }
      const requireOwner = (): void => {
        const o = owners(next)
        if (o !== null && !o.includes(author)) throw new Reject('NotAnOwnerError')
      }
      for (const op of ops) {
        switch (op.t) {
          case 'genesis':
            if (!committed || next.owners !== null || !commits(input.commitment, op.owner, op.salt) || author !== op.owner) throw new Reject('InvalidGenesisError')
            next.owners = [op.owner!]
            continue
          case 'owners': {
            requireOwner()
            const o = owners(next)
            if (o === null) throw new Reject('NotAnOwnerError')
            const set = [...new Set([...o, ...(op.add ?? [])])].filter((x) => !(op.remove ?? []).includes(x)).sort()
            if (set.length === 0) throw new Reject('LastOwnerError')
            next.owners = set
            continue
          }
          case 'writers':
            requireOwner()
            if (owners(next) === null) throw new Reject('NotAnOwnerError')
            next.writers = op.set === null || op.set === undefined ? null : [...new Set(op.set)].sort()
            continue
          case 'newCollection':
            requireOwner()
            if (next.colls.has(op.c!)) throw new Reject('CollectionExistsError')
            next.colls.set(op.c!, new Map())
            continue
          case 'updateCollection':
            requireOwner()
            if (!next.colls.has(op.c!)) throw new Reject('CollectionNotFoundError')
            continue
          case 'deleteCollection':
            requireOwner()
            if (!next.colls.delete(op.c!)) throw new Reject('CollectionNotFoundError')
            continue
        }
        const o = owners(next)
        if (next.writers !== null && !next.writers.includes(author) && !(o?.includes(author) ?? false)) throw new Reject('NotAWriterError')
        const coll = next.colls.get(op.c!)
        if (coll === undefined) throw new Reject('CollectionNotFoundError')
        const id = op.id!
        const prev = coll.get(id)
        if (op.t === 'delete') { coll.delete(id); continue }
        let doc: Doc
        let patch: Doc
        if (op.t === 'create') {
          if (prev !== undefined) throw new Reject('InstanceExistsError')
          doc = structuredClone(op.doc!)
          patch = doc
        } else {
          patch = op.patch!
          doc = mergePatch(prev ?? {}, patch) as Doc
          doc._id = id
        }
        if (!schemaOK(op.c!, doc)) throw new Reject('SchemaValidationError')
        if (op.c === 'Items') {
          if (typeof doc.tag === 'string' && [...coll].some(([other, d]) => other !== id && d.tag === doc.tag)) throw new Reject('UniqueConstraintError')
          if (prev?.locked === true) throw new Reject('ValidatorRejectedError')
          if (typeof patch.n === 'number' && patch.n < 0) throw new Reject('ValidatorRejectedError')
        }
        coll.set(id, doc)
      }
      state = next
    } catch (err) {
      if (!(err instanceof Reject)) throw err
      rejected.push({ log: r.log, counter: r.counter, name: err.why })
    }
  }
  const notices = new Set(input.forks.map((f) => `${f.log}/${f.counter}`))
  for (const n of notices) {
    const [log, counter] = n.split('/')
    rejected.push({ log: log!, counter: Number(counter), name: 'EquivocationError' })
  }
  return {
    docs: (c) => [...(state.colls.get(c) ?? new Map<string, Doc>()).values()].sort((a, b) => (a._id as string) < (b._id as string) ? -1 : 1),
    collections: [...state.colls.keys()].sort(),
    owners: owners(state),
    writers: state.writers,
    rejected
  }
}

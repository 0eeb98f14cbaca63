/**
 * An independent reference fold for the convergence test: it reads the event format as
 * docs/DB.md describes it, sorts every event by (HLC wall, HLC counter, log ID, record counter)
 * and applies the test collections' rules (unique `tag`, the validator below) with plain maps —
 * no overlays, undo records or store.
 */
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

export interface ModelState {
  docs(collection: string): Doc[]
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

class Reject extends Error {}

export function foldEvents(records: DBRecord[]): ModelState {
  const sorted = [...records].sort((a, b) =>
    a.time!.wall - b.time!.wall || a.time!.counter - b.time!.counter || (a.log < b.log ? -1 : a.log > b.log ? 1 : 0) || a.counter - b.counter)
  let state = new Map<string, Map<string, Doc>>()
  const rejected: ModelState['rejected'] = []
  type Op = { t: string; c: string; id?: string; doc?: Doc; patch?: Doc }
  type Body = { weftdb: number; ops: string; txn?: { id: string; part: number; parts: number } }
  // Leading parts of multi-record transactions, by log and counter: they change nothing.
  const parts = new Map<string, Body>()
  for (const r of sorted) {
    const next = new Map([...state].map(([c, m]) => [c, new Map(m)]))
    try {
      const body = r.body as Body
      let ops = JSON.parse(body.ops) as Op[]
      if (body.txn !== undefined) {
        if (body.txn.part < body.txn.parts - 1) {
          parts.set(`${r.log}/${r.counter}`, body)
          continue
        }
        const all: Op[] = []
        for (let k = 0; k < body.txn.parts - 1; k++) {
          const part = parts.get(`${r.log}/${r.counter - body.txn.parts + 1 + k}`)
          if (part?.txn?.id !== body.txn.id || part.txn.part !== k) throw Object.assign(new Reject(), { name: 'InvalidEventError' })
          all.push(...(JSON.parse(part.ops) as Op[]))
        }
        ops = [...all, ...ops]
      }
      for (const op of ops) {
        if (op.t === 'newCollection') {
          if (next.has(op.c!)) throw Object.assign(new Reject(), { name: 'CollectionExistsError' })
          next.set(op.c!, new Map())
          continue
        }
        const coll = next.get(op.c!)
        if (coll === undefined) throw Object.assign(new Reject(), { name: 'CollectionNotFoundError' })
        const id = op.id!
        const prev = coll.get(id)
        if (op.t === 'delete') { coll.delete(id); continue }
        let doc: Doc
        let patch: Doc
        if (op.t === 'create') {
          if (prev !== undefined) throw Object.assign(new Reject(), { name: 'InstanceExistsError' })
          doc = structuredClone(op.doc!)
          patch = doc
        } else {
          patch = op.patch!
          doc = mergePatch(prev ?? {}, patch) as Doc
          doc._id = id
        }
        if (op.c === 'Items') {
          if (typeof doc.tag === 'string' && [...coll].some(([other, d]) => other !== id && d.tag === doc.tag)) {
            throw Object.assign(new Reject(), { name: 'UniqueConstraintError' })
          }
          if (prev?.locked === true) throw Object.assign(new Reject(), { name: 'ValidatorRejectedError' })
          if (typeof patch.n === 'number' && patch.n < 0) throw Object.assign(new Reject(), { name: 'ValidatorRejectedError' })
        }
        coll.set(id, doc)
      }
      state = next
    } catch (err) {
      if (!(err instanceof Reject)) throw err
      rejected.push({ log: r.log, counter: r.counter, name: err.name })
    }
  }
  return {
    docs: (c) => [...(state.get(c) ?? new Map<string, Doc>()).values()].sort((a, b) => (a._id as string) < (b._id as string) ? -1 : 1),
    rejected
  }
}

/**
 * The DAG-CBOR bytes of a stored event (fold.ts), written directly for the shapes the DB writes —
 * an author, a body `{ ops, txn?, weftdb }`, a status, an undo record or a rejection — so that
 * folding thousands of events does not spend its time in a general encoder. The bytes are exactly
 * those `@ipld/dag-cbor` writes (map keys by length, then bytewise; shortest integer heads; UTF-8
 * text); anything else — another body shape, a string that is not well-formed UTF-16, a number
 * that is not a small non-negative integer — returns undefined, and the caller uses the general
 * encoder. Test vectors in test/db/stored-cbor.test.ts compare both.
 */
import { CborWriter } from '../core/index.js'

const LONE_SURROGATE = /\p{Surrogate}/u

function wellFormed(s: unknown): s is string {
  if (typeof s !== 'string') return false
  const check = (s as { isWellFormed?: () => boolean }).isWellFormed
  return check !== undefined ? check.call(s) : !LONE_SURROGATE.test(s)
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

function plain(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

/** Whether `o` has exactly the own enumerable keys `keys` (and, optionally, `maybe`). */
function keysAre(o: Record<string, unknown>, keys: readonly string[], maybe?: string): boolean {
  let n = 0
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) return false
    if (!keys.includes(k) && k !== maybe) return false
    if (o[k] === undefined) return false
    n++
  }
  return n === keys.length + (maybe !== undefined && maybe in o ? 1 : 0)
}

function body(out: CborWriter, b: unknown): boolean {
  if (!plain(b) || !keysAre(b, ['ops', 'weftdb'], 'txn') || !wellFormed(b.ops) || !isCount(b.weftdb)) return false
  const txn = b.txn
  if (txn !== undefined && (!plain(txn) || !keysAre(txn, ['id', 'part', 'parts']) || !wellFormed(txn.id) || !isCount(txn.part) || !isCount(txn.parts))) return false
  out.head(5, txn === undefined ? 2 : 3)
  out.text('ops'); out.text(b.ops)
  if (txn !== undefined) {
    const t = txn as { id: string; part: number; parts: number }
    out.text('txn'); out.head(5, 3)
    out.text('id'); out.text(t.id)
    out.text('part'); out.head(0, t.part)
    out.text('parts'); out.head(0, t.parts)
  }
  out.text('weftdb'); out.head(0, b.weftdb)
  return true
}

/** What fold.ts stores (see StoredEvent there). */
export interface StoredShape { a: string | null; b: unknown; s?: 0 | 1; u?: string; r?: { name: string; message: string }; f?: 1 }

/** The DAG-CBOR bytes of `e`, or undefined when it is not of the shapes written here. */
export function encodeStoredFast(e: StoredShape): Uint8Array | undefined {
  if (e.a !== null && !wellFormed(e.a)) return undefined
  if (e.u !== undefined && !wellFormed(e.u)) return undefined
  if (e.s !== undefined && e.s !== 0 && e.s !== 1) return undefined
  if (e.f !== undefined && e.f !== 1) return undefined
  const r = e.r
  if (r !== undefined && (!plain(r) || !keysAre(r, ['name', 'message']) || !wellFormed(r.name) || !wellFormed(r.message))) return undefined
  const out = new CborWriter()
  out.head(5, 2 + (e.f !== undefined ? 1 : 0) + (r !== undefined ? 1 : 0) + (e.s !== undefined ? 1 : 0) + (e.u !== undefined ? 1 : 0))
  out.text('a')
  if (e.a === null) out.byte(0xf6)
  else out.text(e.a)
  out.text('b')
  if (!body(out, e.b)) return undefined
  if (e.f !== undefined) { out.text('f'); out.head(0, e.f) }
  if (r !== undefined) {
    out.text('r'); out.head(5, 2)
    out.text('name'); out.text(r.name)
    out.text('message'); out.text(r.message)
  }
  if (e.s !== undefined) { out.text('s'); out.head(0, e.s) }
  if (e.u !== undefined) { out.text('u'); out.text(e.u) }
  return out.bytes()
}

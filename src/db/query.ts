/**
 * Queries: the original's JSON form (`ands`, `ors`, `sort`, `seek`, `limit`, `skip`, `index`;
 * criteria `{ fieldPath, operation, value: { string | bool | float } }`), checked and normalised,
 * and matched against instances. A query matches when all its `ands` hold, or else when any of
 * its `ors` matches; an empty query matches everything.
 *
 * Comparisons are within one type: `eq`, `gt`, `ge`, `lt`, `le` hold only when the field has the
 * value's type (strings by code point, numbers numerically, false < true); `ne` holds whenever
 * `eq` does not (a missing field is "not equal").
 */
import { InvalidQueryError } from './errors.js'
import { checkString, compareStrings, getPath, parsePath } from './json.js'
import { Operation, type CriterionJSON, type JSONValue, type OperationName, type QueryJSON, type QueryValue } from './types.js'

export type Scalar = string | number | boolean

export interface Cond {
  path: string
  parts: string[]
  op: OperationName
  value: Scalar
}

export interface QueryNode {
  ands: Cond[]
  ors: QueryNode[]
}

export interface NormalQuery {
  root: QueryNode
  sort?: { path: string; parts: string[]; desc: boolean }
  seek?: string
  /** 0: no limit. */
  limit: number
  skip: number
  index?: string
}

const OPS_BY_CODE: Record<number, OperationName> = {
  [Operation.Eq]: 'eq', [Operation.Ne]: 'ne', [Operation.Gt]: 'gt', [Operation.Lt]: 'lt', [Operation.Ge]: 'ge', [Operation.Le]: 'le'
}
const OP_NAMES = new Set<string>(['eq', 'ne', 'gt', 'lt', 'ge', 'le'])
const QUERY_KEYS = new Set(['ands', 'ors', 'sort', 'seek', 'limit', 'skip', 'index'])
const MAX_DEPTH = 32
const MAX_CRITERIA = 1000

function path(value: unknown, what: string): { path: string; parts: string[] } {
  const parts = parsePath(value)
  if (parts === undefined) throw new InvalidQueryError(`${what} must be a non-empty dot path`)
  return { path: parts.join('.'), parts }
}

function scalar(value: unknown): Scalar {
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidQueryError('a query value must be a finite number')
    return value === 0 ? 0 : value
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as { string?: unknown; bool?: unknown; float?: unknown }
    const set = (['string', 'bool', 'float'] as const).filter((k) => v[k] !== undefined && v[k] !== null)
    if (set.length !== 1 || Object.keys(v).some((k) => !['string', 'bool', 'float'].includes(k) && (v as Record<string, unknown>)[k] !== undefined)) {
      throw new InvalidQueryError('a query value must set exactly one of string, bool, float')
    }
    const k = set[0]!
    const inner = v[k]
    if (k === 'string' && typeof inner === 'string') return inner
    if (k === 'bool' && typeof inner === 'boolean') return inner
    if (k === 'float' && typeof inner === 'number' && Number.isFinite(inner)) return inner === 0 ? 0 : inner
    throw new InvalidQueryError(`a query value's ${k} has the wrong type`)
  }
  throw new InvalidQueryError('a query value must be a string, number or boolean')
}

function criterion(raw: unknown, counter: { n: number }): Cond {
  if (raw === null || typeof raw !== 'object') throw new InvalidQueryError('a criterion must be an object')
  if (++counter.n > MAX_CRITERIA) throw new InvalidQueryError(`a query may have at most ${MAX_CRITERIA} criteria`)
  const c = raw as Partial<CriterionJSON>
  const p = path(c.fieldPath, 'a criterion fieldPath')
  const opRaw = c.operation as unknown
  const op = typeof opRaw === 'number' ? OPS_BY_CODE[opRaw] : typeof opRaw === 'string' && OP_NAMES.has(opRaw.toLowerCase()) ? opRaw.toLowerCase() as OperationName : undefined
  if (op === undefined) throw new InvalidQueryError(`unknown operation ${String(opRaw)}`)
  const value = scalar(c.value as QueryValue)
  if (typeof value === 'string') checkString(value, 'a query value')
  return { ...p, op, value }
}

function node(raw: unknown, depth: number, counter: { n: number }): QueryNode {
  if (depth > MAX_DEPTH) throw new InvalidQueryError(`queries nest at most ${MAX_DEPTH} deep`)
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidQueryError('a query must be an object')
  const q = raw as { ands?: unknown; ors?: unknown }
  const ands = q.ands ?? []
  const ors = q.ors ?? []
  if (!Array.isArray(ands)) throw new InvalidQueryError('ands must be an array')
  if (!Array.isArray(ors)) throw new InvalidQueryError('ors must be an array')
  return { ands: ands.map((a) => criterion(a, counter)), ors: ors.map((o) => node(o, depth + 1, counter)) }
}

function count(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidQueryError(`${what} must be a non-negative integer`)
  return v
}

/** Check and normalise a query (JSON form, or anything with `toJSON()` giving it). */
export function normalizeQuery(input: unknown): NormalQuery {
  let raw: unknown = input ?? {}
  if (typeof (raw as { toJSON?: unknown }).toJSON === 'function') raw = (raw as { toJSON(): unknown }).toJSON()
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidQueryError('a query must be an object')
  for (const k of Object.keys(raw)) {
    if (!QUERY_KEYS.has(k) && (raw as Record<string, unknown>)[k] !== undefined) throw new InvalidQueryError(`unknown query field ${k}`)
  }
  const q = raw as QueryJSON
  const out: NormalQuery = { root: node(q, 0, { n: 0 }), limit: count(q.limit, 'limit'), skip: count(q.skip, 'skip') }
  if (q.sort !== undefined && q.sort !== null) {
    if (typeof q.sort !== 'object') throw new InvalidQueryError('sort must be { fieldPath, desc }')
    if (q.sort.desc !== undefined && typeof q.sort.desc !== 'boolean') throw new InvalidQueryError('sort.desc must be a boolean')
    out.sort = { ...path(q.sort.fieldPath, 'sort fieldPath'), desc: q.sort.desc === true }
  }
  if (q.seek !== undefined && q.seek !== null && q.seek !== '') {
    if (typeof q.seek !== 'string') throw new InvalidQueryError('seek must be an instance ID')
    if (out.sort !== undefined && out.sort.path !== '_id') throw new InvalidQueryError('seek needs _id order')
    out.seek = checkString(q.seek, 'seek')
  }
  if (q.index !== undefined && q.index !== null && q.index !== '') out.index = path(q.index, 'index').path
  return out
}

/** Compare a field value with a criterion value of the same type (undefined if the types differ). */
function compareSame(field: JSONValue | undefined, value: Scalar): number | undefined {
  if (typeof field !== typeof value || field === undefined || field === null) return undefined
  if (typeof value === 'string') return compareStrings(field as string, value)
  if (typeof value === 'number') return (field as number) < value ? -1 : (field as number) > value ? 1 : 0
  return field === value ? 0 : field === false ? -1 : 1
}

export function matchCond(c: Cond, doc: JSONValue): boolean {
  const cmp = compareSame(getPath(doc, c.parts), c.value)
  switch (c.op) {
    case 'eq': return cmp === 0
    case 'ne': return cmp !== 0
    case 'gt': return cmp !== undefined && cmp > 0
    case 'ge': return cmp !== undefined && cmp >= 0
    case 'lt': return cmp !== undefined && cmp < 0
    case 'le': return cmp !== undefined && cmp <= 0
  }
}

export function matchNode(n: QueryNode, doc: JSONValue): boolean {
  if (n.ands.length === 0 && n.ors.length === 0) return true
  if (n.ands.length > 0 && n.ands.every((c) => matchCond(c, doc))) return true
  return n.ors.some((o) => matchNode(o, doc))
}

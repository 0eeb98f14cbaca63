/**
 * Running a query: choose a plan (instance keys for `_id` conditions, a user index for equality or
 * range conditions on an indexed path, or a scan), read candidates in plan order, match the whole
 * query, sort (by the sort field, then `_id`; `_id` when no sort is given), apply the read filter,
 * then skip and limit. When the plan already yields the final order and there is no read filter,
 * reading stops as soon as `skip + limit` instances matched.
 */
import type { RangeOptions } from '../store/kv.js'
import { InvalidQueryError } from './errors.js'
import { compareStrings, compareValues, getPath } from './json.js'
import { encodeIndexValue, encodeTuple, concat2, prefixUpperBound, compareBytes, fromUtf8, utf8Fast as utf8, type Layout } from './keys.js'
import type { StateReader } from './overlay.js'
import { matchNode, type Cond, type NormalQuery } from './query.js'
import type { Sandbox } from './sandbox.js'
import { FILTER_FAILED, show, type Reader } from './filter.js'
import { parseDoc } from './state.js'
import type { CollectionInfo, JSONObject, QueryExplain } from './types.js'

export interface FindContext {
  reader: StateReader
  layout: Layout
  info: CollectionInfo
  sandbox: Sandbox
  /** Who reads (the read filter's `reader`), and who hears of filter failures. */
  who: Reader
  /** Stops the scan between pages (AbortError). */
  signal?: AbortSignal | undefined
}

type Plan =
  | { kind: 'scan' }
  | { kind: 'id'; conds: Cond[] }
  | { kind: 'index'; path: string; unique: boolean; conds: Cond[] }

const RANGE = new Set(['gt', 'ge', 'lt', 'le'])

function choosePlan(q: NormalQuery, info: CollectionInfo): Plan {
  const indexes = new Map(info.indexes.map((i) => [i.path, i]))
  if (q.index !== undefined && q.index !== '_id' && !indexes.has(q.index)) throw new InvalidQueryError(`index not found: ${q.index}`)
  if (q.root.ors.length > 0) return { kind: 'scan' }
  const usable = q.root.ands.filter((c) => c.op !== 'ne' && (c.path === '_id' ? typeof c.value === 'string' : indexes.has(c.path)))
  let best: { score: number; cond: Cond } | undefined
  for (const c of usable) {
    if (q.index !== undefined && c.path !== q.index) continue
    const unique = c.path === '_id' || indexes.get(c.path)!.unique
    const score = c.op === 'eq' ? (c.path === '_id' ? 0 : unique ? 1 : 2) : (c.path === '_id' ? 3 : 4)
    if (best === undefined || score < best.score) best = { score, cond: c }
  }
  if (best === undefined) return { kind: 'scan' }
  const { cond } = best
  const conds = cond.op === 'eq' ? [cond] : usable.filter((c) => c.path === cond.path && RANGE.has(c.op) && typeof c.value === typeof cond.value)
  if (cond.path === '_id') return { kind: 'id', conds }
  return { kind: 'index', path: cond.path, unique: indexes.get(cond.path)!.unique, conds }
}

interface Bound { key: Uint8Array; inclusive: boolean }

/** Key bounds for conditions on one value space: keys are `prefix · seg(value) …`. */
function bounds(prefix: Uint8Array, conds: Cond[], encode: (v: Cond['value']) => Uint8Array, tag: number | undefined): RangeOptions {
  let lower: Bound | undefined = tag === undefined ? { key: prefix, inclusive: true } : { key: concat2(prefix, Uint8Array.of(tag)), inclusive: true }
  let upper: Bound | undefined = tag === undefined ? undefined : { key: concat2(prefix, Uint8Array.of(tag + 1)), inclusive: false }
  const tighterLower = (b: Bound): void => {
    const c = lower === undefined ? 1 : compareBytes(b.key, lower.key)
    if (c > 0 || (c === 0 && !b.inclusive)) lower = b
  }
  const tighterUpper = (b: Bound): void => {
    const c = upper === undefined ? -1 : compareBytes(b.key, upper.key)
    if (c < 0 || (c === 0 && !b.inclusive)) upper = b
  }
  for (const c of conds) {
    const at = concat2(prefix, encodeTuple([encode(c.value)]))
    const after = prefixUpperBound(at)!
    if (c.op === 'eq') { tighterLower({ key: at, inclusive: true }); tighterUpper({ key: after, inclusive: false }) }
    if (c.op === 'gt') tighterLower({ key: after, inclusive: true })
    if (c.op === 'ge') tighterLower({ key: at, inclusive: true })
    if (c.op === 'lt') tighterUpper({ key: at, inclusive: false })
    if (c.op === 'le') tighterUpper({ key: after, inclusive: false })
  }
  const out: RangeOptions = {}
  if (lower !== undefined) out[lower.inclusive ? 'gte' : 'gt'] = lower.key
  if (upper === undefined) {
    const up = prefixUpperBound(prefix)
    if (up !== undefined) out.lt = up
  } else {
    out[upper.inclusive ? 'lte' : 'lt'] = upper.key
  }
  return out
}

/**
 * Feed the candidates of `plan` to `take` in plan order, until it returns true. (A callback rather
 * than a generator: every async hop per instance counts in a scan of 100,000.)
 */
async function candidates(ctx: FindContext, plan: Plan, reverse: boolean, stats: QueryExplain, take: (doc: JSONObject) => boolean, may: (bytes: Uint8Array) => boolean = () => true, cap?: number): Promise<void> {
  const { reader, layout, info, signal } = ctx
  const docPrefix = layout.docPrefix(info.name)
  if (plan.kind === 'scan' || plan.kind === 'id') {
    const range: RangeOptions = plan.kind === 'scan' ? { prefix: docPrefix } : bounds(docPrefix, plan.conds, (v) => utf8(v as string), undefined)
    // Every instance read is taken: read no more than will be (not a page of a thousand).
    if (cap !== undefined) range.limit = cap
    // A page per await: one async step per page of instances, not per instance.
    for await (const page of reader.pages({ ...range, reverse, ...(signal !== undefined ? { signal } : {}) })) {
      for (const [, v] of page) {
        stats.docsRead++
        if (may(v) && take(parseDoc(v).doc)) return
      }
    }
    return
  }
  const first = plan.conds[0]!.value
  const tag = encodeIndexValue(first)![0]!
  const prefix = layout.indexPrefix(info.name, plan.path, plan.unique)
  const range = bounds(prefix, plan.conds, (v) => encodeIndexValue(v)!, tag)
  let ids: string[] = []
  const flush = async (): Promise<boolean> => {
    const docs = await reader.getMany(ids.map((id) => layout.doc(info.name, id)))
    ids = []
    for (const d of docs) {
      if (d === undefined) continue
      stats.docsRead++
      if (take(parseDoc(d).doc)) return true
    }
    return false
  }
  for await (const [, v] of reader.range({ ...range, reverse, ...(signal !== undefined ? { signal } : {}) })) {
    stats.indexEntriesRead++
    ids.push(fromUtf8(v))
    if (ids.length >= 64 && await flush()) return
  }
  if (ids.length > 0) await flush()
}

/**
 * A test on an instance's stored bytes that every match passes, so most instances of a scan are
 * never decoded. Instances are stored as canonical JSON (json.ts: keys and scalars as
 * `JSON.stringify` writes them, whatever event they came from), so an instance whose field `…k`
 * equals a string, a finite number or a boolean `v` holds the text `"k":v` followed by `,` or `}`.
 * Inside a JSON string every `"` is escaped, so that text cannot come from a string's content;
 * it may come from another object's member of the same name, which the full match then rules
 * out. Only conditions every match must meet count: the top-level AND, when there is no OR.
 */
function prefilter(q: NormalQuery): ((bytes: Uint8Array) => boolean) | undefined {
  if (q.root.ors.length > 0) return undefined
  const needles: Needle[] = []
  for (const c of q.root.ands) {
    if (c.op !== 'eq') continue
    const v = c.value
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
      needles.push(needle(c.parts[c.parts.length - 1]!, v))
    }
  }
  if (needles.length === 0) return undefined
  return (bytes) => needles.every((n) => member(bytes, n))
}

const COMMA = 0x2c
const CLOSE = 0x7d
const QUOTE = 0x22

interface Needle { bytes: Uint8Array; at: number }

/**
 * The member text `"k":v`, searched from a byte of its value: a key's opening quote is in every
 * member of every instance, a value's first character far less often.
 */
function needle(key: string, value: string | number | boolean): Needle {
  const k = JSON.stringify(key) + ':'
  const v = JSON.stringify(value)
  const bytes = utf8(k + v)
  const start = utf8(k).length
  return { bytes, at: bytes[start] === QUOTE && bytes.length > start + 2 ? start + 1 : start }
}

/** Whether `n` occurs in `hay` as a whole member: followed by `,` or `}`. */
function member(hay: Uint8Array, n: Needle): boolean {
  const { bytes, at } = n
  const anchor = bytes[at]!
  const last = hay.length - bytes.length - 1 + at
  for (let i = hay.indexOf(anchor, at); i >= 0 && i <= last; i = hay.indexOf(anchor, i + 1)) {
    const s = i - at
    let j = 0
    while (j < bytes.length && hay[s + j] === bytes[j]) j++
    if (j === bytes.length) {
      const next = hay[s + j]
      if (next === COMMA || next === CLOSE) return true
    }
  }
  return false
}

/** Run a normalised query; returns the visible results and how they were found. */
export async function runQuery(ctx: FindContext, q: NormalQuery): Promise<{ results: JSONObject[]; explain: QueryExplain }> {
  const plan = choosePlan(q, ctx.info)
  const stats: QueryExplain = { plan: plan.kind, docsRead: 0, indexEntriesRead: 0, returned: 0 }
  if (plan.kind === 'index') stats.index = plan.path
  const sort = q.sort
  const desc = sort?.desc === true
  // Does the plan read in the final order?
  const byId = sort === undefined || sort.path === '_id'
  const ordered = (plan.kind !== 'index' && byId) || (plan.kind === 'index' && sort !== undefined && sort.path === plan.path)
  const reverse = ordered && desc
  const filter = ctx.info.readFilter
  const want = q.limit > 0 ? q.skip + q.limit : Infinity
  const earlyStop = ordered && filter === ''
  const seekOk = (doc: JSONObject): boolean => {
    if (q.seek === undefined) return true
    const c = compareStrings(doc._id as string, q.seek)
    return desc ? c <= 0 : c >= 0
  }
  // A query without conditions takes every instance the plan reads, in order: read only those.
  const cap = earlyStop && plan.kind === 'scan' && q.root.ands.length === 0 && q.root.ors.length === 0 && q.seek === undefined && Number.isFinite(want) ? want : undefined
  const matched: JSONObject[] = []
  await candidates(ctx, plan, reverse, stats, (doc) => {
    if (!matchNode(q.root, doc) || !seekOk(doc)) return false
    matched.push(doc)
    return earlyStop && matched.length >= want
  }, prefilter(q), cap)
  if (!ordered) {
    const parts = sort?.parts
    matched.sort((a, b) => {
      let c = parts === undefined ? 0 : compareValues(getPath(a, parts), getPath(b, parts))
      if (c === 0) c = compareStrings(a._id as string, b._id as string)
      return desc ? -c : c
    })
  }
  let visible: JSONObject[] = matched
  if (filter !== '') {
    visible = []
    for (const doc of matched) {
      const shown = await show(ctx.sandbox, ctx.info, ctx.who, doc)
      if (shown !== null && shown !== FILTER_FAILED) visible.push(shown)
      if (visible.length >= want) break
    }
  }
  const results = visible.slice(q.skip, q.limit > 0 ? q.skip + q.limit : undefined)
  stats.returned = results.length
  return { results, explain: stats }
}

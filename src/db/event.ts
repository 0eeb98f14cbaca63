/**
 * The body of a DB record (format version 1): one write transaction, applied whole or not at all.
 *
 * ```
 * { weftdb: 1, ops: "<JSON text: an array of ops>", txn?: { id, part, parts } }
 * op = { "t": "create",           "c": collection, "id": id, "doc": <the instance, an object> }
 *    | { "t": "save",             "c": collection, "id": id, "patch": <RFC 7386 merge patch, an object> }
 *    | { "t": "delete",           "c": collection, "id": id }
 *    | { "t": "newCollection",    "c": collection, "config": <collection config> }
 *    | { "t": "updateCollection", "c": collection, "config": <collection config> }
 *    | { "t": "deleteCollection", "c": collection }
 * ```
 * The ops travel as one JSON text (dag-cbor encodes one string far faster than thousands of small
 * maps). Each peer stores instances as canonical JSON (sorted keys), so every replica holds the
 * same bytes. Nothing in a body is trusted: {@link parseBody} checks every field and throws
 * InvalidEventError.
 *
 * A transaction too large for one record travels as consecutive records of the writer's log,
 * each with `txn: { id, part, parts }` (part 0 … parts-1) and a slice of the ops. The parts before
 * the last change nothing; the last part applies all the ops as one event, at its own position.
 */
import { InvalidEventError } from './errors.js'
import { canonicalJSON, isObject } from './json.js'
import type { CollectionInfo, JSONObject, JSONValue } from './types.js'

export const EVENT_FORMAT_VERSION = 1
/** Most operations in one event. */
export const MAX_OPS = 200_000
/** Longest instance ID. */
export const MAX_ID_LENGTH = 1024
/** Deepest nesting of a value in an op. */
export const MAX_DEPTH = 64
/** Most records one transaction may span. */
export const MAX_PARTS = 1024
/** Default size of one record's ops text (the net's body limit is 1 MiB). */
export const DEFAULT_MAX_EVENT_BYTES = 900_000

export interface TxnPart { id: string; part: number; parts: number }

export interface WireBody { weftdb: typeof EVENT_FORMAT_VERSION; ops: string; txn?: TxnPart }

/** An operation after parsing (`json`: the canonical JSON of `doc` or `patch`). */
export type Op =
  | { t: 'create'; c: string; id: string; doc: JSONObject; json: string }
  | { t: 'save'; c: string; id: string; patch: JSONObject; json: string }
  | { t: 'delete'; c: string; id: string }
  | { t: 'newCollection' | 'updateCollection'; c: string; config: JSONObject }
  | { t: 'deleteCollection'; c: string }

export function isInstanceOp(op: Op): op is Extract<Op, { id: string }> {
  return op.t === 'create' || op.t === 'save' || op.t === 'delete'
}

export function checkInstanceID(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH
}

function depthOK(v: JSONValue, depth: number): boolean {
  if (v === null || typeof v !== 'object') return true
  if (depth >= MAX_DEPTH) return false
  if (Array.isArray(v)) return v.every((x) => depthOK(x, depth + 1))
  for (const k in v) if (!depthOK(v[k]!, depth + 1)) return false
  return true
}

function object(v: unknown, what: string): JSONObject {
  if (!isObject(v as JSONValue)) throw new InvalidEventError(`${what} must be a JSON object`)
  if (!depthOK(v as JSONObject, 0)) throw new InvalidEventError(`${what} is nested deeper than ${MAX_DEPTH}`)
  return v as JSONObject
}

function parseTxn(raw: unknown): TxnPart | undefined {
  if (raw === undefined) return undefined
  const t = raw as Partial<TxnPart> | null
  if (t === null || typeof t !== 'object' || typeof t.id !== 'string' || t.id === '' || t.id.length > 64 ||
    !Number.isSafeInteger(t.parts) || !Number.isSafeInteger(t.part) || t.parts! < 2 || t.parts! > MAX_PARTS || t.part! < 0 || t.part! >= t.parts!) {
    throw new InvalidEventError('txn must be { id, part, parts } with 0 <= part < parts <= 1024')
  }
  return { id: t.id, part: t.part!, parts: t.parts! }
}

/** Check and parse a record body: its ops, and its place in a multi-record transaction. */
export function parseBody(body: unknown): { ops: Op[]; txn?: TxnPart } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidEventError('the record body is not a DB event')
  const b = body as { weftdb?: unknown; ops?: unknown; txn?: unknown }
  if (b.weftdb !== EVENT_FORMAT_VERSION) throw new InvalidEventError(`unknown DB event version ${String(b.weftdb)}`)
  const txn = parseTxn(b.txn)
  const ops = parseOps(b.ops)
  return txn === undefined ? { ops } : { ops, txn }
}

/** Check and parse the ops text of a body. */
export function parseOps(text: unknown): Op[] {
  if (typeof text !== 'string') throw new InvalidEventError('ops must be JSON text')
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new InvalidEventError('ops are not valid JSON', { cause: err })
  }
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_OPS) throw new InvalidEventError(`ops must be an array of 1..${MAX_OPS} operations`)
  return raw.map((item: unknown, i): Op => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new InvalidEventError(`op ${i} is not an object`)
    const o = item as Record<string, unknown>
    if (typeof o.c !== 'string' || o.c === '') throw new InvalidEventError(`op ${i} has no collection`)
    const c = o.c
    switch (o.t) {
      case 'create':
      case 'save':
      case 'delete': {
        if (!checkInstanceID(o.id)) throw new InvalidEventError(`op ${i} has a bad instance ID`)
        const id = o.id
        if (o.t === 'delete') return { t: 'delete', c, id }
        if (o.t === 'create') {
          const doc = object(o.doc, `op ${i} doc`)
          if (doc._id !== id) throw new InvalidEventError(`op ${i} doc _id does not match its ID`)
          return { t: 'create', c, id, doc, json: canonicalJSON(doc) }
        }
        const patch = object(o.patch, `op ${i} patch`)
        return { t: 'save', c, id, patch, json: canonicalJSON(patch) }
      }
      case 'newCollection':
      case 'updateCollection':
        return { t: o.t, c, config: object(o.config, `op ${i} config`) }
      case 'deleteCollection':
        return { t: 'deleteCollection', c }
      default:
        throw new InvalidEventError(`op ${i} has unknown type ${String(o.t)}`)
    }
  })
}

/** The JSON text of one op (keys in sorted order; the instance or patch as its canonical JSON). */
export function opJSON(op: Op): string {
  const c = JSON.stringify(op.c)
  switch (op.t) {
    case 'create': return `{"c":${c},"doc":${op.json},"id":${JSON.stringify(op.id)},"t":"create"}`
    case 'save': return `{"c":${c},"id":${JSON.stringify(op.id)},"patch":${op.json},"t":"save"}`
    case 'delete': return `{"c":${c},"id":${JSON.stringify(op.id)},"t":"delete"}`
    case 'newCollection':
    case 'updateCollection': return `{"c":${c},"config":${canonicalJSON(op.config)},"t":"${op.t}"}`
    case 'deleteCollection': return `{"c":${c},"t":"deleteCollection"}`
  }
}

function utf8Length(s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1
  }
  return n
}

/**
 * The record bodies of a transaction: one body, or — past `maxBytes` of ops text — consecutive
 * parts sharing a transaction ID.
 */
export function toBodies(ops: readonly Op[], maxBytes: number, txnId: () => string): WireBody[] {
  const chunks: string[][] = [[]]
  let size = 0
  for (const op of ops) {
    const text = opJSON(op)
    const n = utf8Length(text) + 1
    if (size + n > maxBytes && chunks[chunks.length - 1]!.length > 0) {
      chunks.push([])
      size = 0
    }
    chunks[chunks.length - 1]!.push(text)
    size += n
  }
  const texts = chunks.map((c) => `[${c.join(',')}]`)
  if (texts.length === 1) return [{ weftdb: EVENT_FORMAT_VERSION, ops: texts[0]! }]
  const id = txnId()
  return texts.map((ops, part) => ({ weftdb: EVENT_FORMAT_VERSION, ops, txn: { id, part, parts: texts.length } }))
}

/** The config of a collection as it travels in an event. */
export function configToJSON(info: CollectionInfo): JSONObject {
  return {
    name: info.name,
    schema: info.schema as JSONObject,
    indexes: info.indexes.map((i) => ({ path: i.path, unique: i.unique })),
    writeValidator: info.writeValidator,
    readFilter: info.readFilter
  }
}

/** A short description of each op (for conflicts). */
export function describeOps(ops: readonly Op[]): Array<{ type: string; collection: string; instanceID?: string }> {
  return ops.slice(0, 100).map((op) => isInstanceOp(op) ? { type: op.t, collection: op.c, instanceID: op.id } : { type: op.t, collection: op.c })
}

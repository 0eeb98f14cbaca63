/**
 * The body of a DB record (format version 2): one write transaction, applied whole or not at all.
 *
 * ```
 * { weftdb: 2, ops: "<JSON text: an array of ops>", txn?: { id, part, parts } }
 * op = { "t": "create",           "c": collection, "id": id, "doc": <the instance, an object> }
 *    | { "t": "save",             "c": collection, "id": id, "patch": <RFC 7386 merge patch, an object> }
 *    | { "t": "delete",           "c": collection, "id": id }
 *    | { "t": "newCollection",    "c": collection, "config": <collection config> }
 *    | { "t": "updateCollection", "c": collection, "config": <collection config> }
 *    | { "t": "deleteCollection", "c": collection }
 *    | { "t": "genesis",          "owner": identity, "salt": <32 hex digits> }     (version 2)
 *    | { "t": "owners",           "add"?: [identity…], "remove"?: [identity…] }    (version 2)
 *    | { "t": "writers",          "set": [identity…] | null }                      (version 2)
 * ```
 * Version 1 bodies (the first six ops only) still apply where the DB accepts them. The ops
 * travel as one JSON text (dag-cbor encodes one string far faster than thousands of small maps).
 * Each peer stores instances as canonical JSON (sorted keys), so every replica holds the same
 * bytes. Nothing in a body is trusted: {@link parseBody} checks every field and throws
 * InvalidEventError (or InvalidInstanceError for a `__proto__` key, InvalidStringError for a
 * string that is not well-formed UTF-16).
 *
 * A transaction too large for one record travels as consecutive records of the writer's log,
 * each with `txn: { id, part, parts }` (part 0 … parts-1) and a slice of the ops. The parts before
 * the last change nothing; the last part applies all the ops as one event, at its own position.
 */
import { parseIdentity } from '../core/index.js'
import { InvalidEventError } from './errors.js'
import { canonicalJSON, checkParsedJSON, checkString, isObject } from './json.js'
import type { CollectionInfo, JSONObject, JSONValue } from './types.js'

/** The body version this code writes. */
export const EVENT_FORMAT_VERSION = 2
/** The first body version: no governance ops; still applied by ungoverned DBs and DBs with a given owner. */
export const LEGACY_EVENT_FORMAT_VERSION = 1
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
/** Most owners of a DB. */
export const MAX_OWNERS = 256
/** Most identities in a DB's writer list. */
export const MAX_WRITERS = 10_000

export interface TxnPart { id: string; part: number; parts: number }

export interface WireBody { weftdb: typeof EVENT_FORMAT_VERSION | typeof LEGACY_EVENT_FORMAT_VERSION; ops: string; txn?: TxnPart }

/** An operation after parsing (`json`: the canonical JSON of `doc` or `patch`). */
export type Op =
  | { t: 'create'; c: string; id: string; doc: JSONObject; json: string }
  | { t: 'save'; c: string; id: string; patch: JSONObject; json: string }
  | { t: 'delete'; c: string; id: string }
  | { t: 'newCollection' | 'updateCollection'; c: string; config: JSONObject }
  | { t: 'deleteCollection'; c: string }
  | GovernanceOp

/** Ops that change who may change the DB (version 2). */
export type GovernanceOp =
  | { t: 'genesis'; owner: string; salt: string }
  | { t: 'owners'; add: string[]; remove: string[] }
  | { t: 'writers'; set: string[] | null }

export function isGovernanceOp(op: Op): op is GovernanceOp {
  return op.t === 'genesis' || op.t === 'owners' || op.t === 'writers'
}

export function isInstanceOp(op: Op): op is Extract<Op, { id: string }> {
  return op.t === 'create' || op.t === 'save' || op.t === 'delete'
}

/** Whether `id` is a usable instance ID: a non-empty string of at most 1,024 UTF-16 units. */
export function checkInstanceID(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH
}

/** An instance ID that is a string but not well-formed UTF-16 is an InvalidStringError. */
export function checkIDString(id: string): string {
  return checkString(id, `instance ID ${JSON.stringify(id)}`)
}

function object(v: unknown, what: string): JSONObject {
  if (!isObject(v as JSONValue)) throw new InvalidEventError(`${what} must be a JSON object`)
  if (!checkParsedJSON(v as JSONObject, MAX_DEPTH)) throw new InvalidEventError(`${what} is nested deeper than ${MAX_DEPTH}`)
  return v as JSONObject
}

/** An identity in its canonical string form (what record authors are compared with). */
export function canonicalIdentity(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new InvalidEventError(`${what} must be an identity string`)
  let canonical: string
  try {
    canonical = parseIdentity(v).toString()
  } catch (err) {
    throw new InvalidEventError(`${what} is not an identity`, { cause: err })
  }
  if (canonical !== v) throw new InvalidEventError(`${what} is not in canonical form`)
  return v
}

function identities(v: unknown, what: string, max: number): string[] {
  if (v === undefined) return []
  if (!Array.isArray(v) || v.length > max) throw new InvalidEventError(`${what} must be an array of at most ${max} identities`)
  return v.map((x, i) => canonicalIdentity(x, `${what}[${i}]`))
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

export interface ParsedBody { version: 1 | 2; ops: Op[]; txn?: TxnPart }

/** The version of a body, or InvalidEventError. */
export function bodyVersion(body: unknown): 1 | 2 {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidEventError('the record body is not a DB event')
  const v = (body as { weftdb?: unknown }).weftdb
  if (v !== EVENT_FORMAT_VERSION && v !== LEGACY_EVENT_FORMAT_VERSION) throw new InvalidEventError(`unknown DB event version ${String(v)}`)
  return v
}

/** Check and parse a record body: its ops, and its place in a multi-record transaction. */
export function parseBody(body: unknown): ParsedBody {
  const version = bodyVersion(body)
  const b = body as { ops?: unknown; txn?: unknown }
  const txn = parseTxn(b.txn)
  const ops = parseOps(b.ops, version)
  return txn === undefined ? { version, ops } : { version, ops, txn }
}

/** Check and parse the ops text of a body of `version`. */
export function parseOps(text: unknown, version: 1 | 2 = EVENT_FORMAT_VERSION): Op[] {
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
    if (o.t === 'genesis' || o.t === 'owners' || o.t === 'writers') {
      if (version < 2) throw new InvalidEventError(`op ${i}: ${o.t} needs event version 2`)
      return governanceOp(o, i)
    }
    if (typeof o.c !== 'string' || o.c === '') throw new InvalidEventError(`op ${i} has no collection`)
    const c = o.c
    switch (o.t) {
      case 'create':
      case 'save':
      case 'delete': {
        if (!checkInstanceID(o.id)) throw new InvalidEventError(`op ${i} has a bad instance ID`)
        const id = checkIDString(o.id)
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

const SALT = /^[0-9a-f]{32}$/

function governanceOp(o: Record<string, unknown>, i: number): GovernanceOp {
  switch (o.t) {
    case 'genesis': {
      const owner = canonicalIdentity(o.owner, `op ${i} owner`)
      if (typeof o.salt !== 'string' || !SALT.test(o.salt)) throw new InvalidEventError(`op ${i} salt must be 32 lower-case hex digits`)
      return { t: 'genesis', owner, salt: o.salt }
    }
    case 'owners': {
      const add = identities(o.add, `op ${i} add`, MAX_OWNERS)
      const remove = identities(o.remove, `op ${i} remove`, MAX_OWNERS)
      if (add.length + remove.length === 0) throw new InvalidEventError(`op ${i} changes no owner`)
      return { t: 'owners', add, remove }
    }
    default: {
      if (o.set !== null && !Array.isArray(o.set)) throw new InvalidEventError(`op ${i} set must be an array of identities or null`)
      return { t: 'writers', set: o.set === null ? null : identities(o.set, `op ${i} set`, MAX_WRITERS) }
    }
  }
}

/** The JSON text of one op (keys in sorted order; the instance or patch as its canonical JSON). */
export function opJSON(op: Op): string {
  switch (op.t) {
    case 'genesis': return `{"owner":${JSON.stringify(op.owner)},"salt":"${op.salt}","t":"genesis"}`
    case 'owners': {
      const add = op.add.length > 0 ? `"add":${JSON.stringify(op.add)},` : ''
      const remove = op.remove.length > 0 ? `"remove":${JSON.stringify(op.remove)},` : ''
      return `{${add}${remove}"t":"owners"}`
    }
    case 'writers': return `{"set":${JSON.stringify(op.set)},"t":"writers"}`
  }
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
export function describeOps(ops: readonly Op[]): Array<{ type: string; collection?: string; instanceID?: string }> {
  return ops.slice(0, 100).map((op) => isGovernanceOp(op) ? { type: op.t } : isInstanceOp(op) ? { type: op.t, collection: op.c, instanceID: op.id } : { type: op.t, collection: op.c })
}

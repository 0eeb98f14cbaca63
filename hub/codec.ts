/**
 * Conversions between go-threads' wire forms and Weft's: thread IDs and keys as bytes, thread
 * addresses as multiaddr bytes (with go-threads' `thread` component, code 406), instances and
 * queries as UTF-8 JSON, collection configs, and the zig-zag varint of a log's head counter.
 * Everything here reads bytes from the network: sizes and types are checked, and a bad value is
 * an {@link InvalidRequestError} naming the field (gRPC `InvalidArgument`).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { threadIDFromBytes, threadIDToBytes } from '../src/core/index.js'
import { threadKeyFromBytes, threadKeyToString, parseThreadKey, threadKeyToBytes } from '../src/core/index.js'
import type { ThreadID } from '../src/core/types.js'
import { formatThreadAddress } from '../src/net/index.js'
import type { CollectionConfig, CollectionInfo, JSONObject, QueryJSON } from '../src/db/index.js'
import { InvalidRequestError } from './errors.js'

/** Multiaddr protocol code of go-threads' `/thread/<id>` component. */
export const THREAD_PROTOCOL_CODE = 406
/** Longest JSON document the hub parses from a request (a whole message is bounded too). */
const MAX_JSON_DEPTH = 64

const utf8 = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/** The thread ID in a request field (`dbID`, `threadID`). */
export function threadIDOf(bytes: Uint8Array, field = 'dbID'): ThreadID {
  if (bytes.byteLength === 0) throw new InvalidRequestError(`${field} is required`)
  try {
    return threadIDFromBytes(bytes)
  } catch (err) {
    throw new InvalidRequestError(`${field}: ${(err as Error).message}`, { cause: err })
  }
}

export { threadIDToBytes }

/** A thread key from its bytes (service key, optionally followed by the read key) as Weft's string; undefined when empty. */
export function threadKeyOf(bytes: Uint8Array, field = 'key'): string | undefined {
  if (bytes.byteLength === 0) return undefined
  try {
    return threadKeyToString(threadKeyFromBytes(bytes))
  } catch (err) {
    throw new InvalidRequestError(`invalid ${field}: ${(err as Error).message}`, { cause: err })
  }
}

/** The bytes of a thread key string. */
export function threadKeyBytes(key: string): Uint8Array {
  return threadKeyToBytes(parseThreadKey(key))
}

function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 128) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}

function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0
  for (let i = at, shift = 1; i < bytes.byteLength && i < at + 4; i++, shift *= 128) {
    value += (bytes[i]! & 0x7f) * shift
    if ((bytes[i]! & 0x80) === 0) return { value, next: i + 1 }
  }
  return undefined
}

/** The multiaddr bytes of a thread address (`<multiaddr>/p2p/<peer>/thread/<id>`). */
export function threadAddrToBytes(address: string): Uint8Array {
  const at = address.lastIndexOf('/thread/')
  const peer = multiaddr(address.slice(0, at)).bytes
  const id = threadIDToBytes(address.slice(at + '/thread/'.length) as ThreadID)
  return Uint8Array.from([...peer, ...varint(THREAD_PROTOCOL_CODE), ...varint(id.byteLength), ...id])
}

/**
 * The thread address in multiaddr bytes: the peer part is any multiaddr, followed by the
 * `thread` component (code 406, a length-prefixed thread ID) at the very end.
 */
export function threadAddrFromBytes(bytes: Uint8Array, field = 'addr'): string {
  const bad = (why: string, cause?: unknown): InvalidRequestError => new InvalidRequestError(`${field}: ${why}`, cause === undefined ? undefined : { cause })
  if (bytes.byteLength === 0) throw bad('a thread address is required')
  if (bytes.byteLength > 2048) throw bad('a thread address is at most 2048 bytes')
  const code = varint(THREAD_PROTOCOL_CODE)
  for (let i = bytes.byteLength - code.length - 2; i > 0; i--) {
    if (bytes[i] !== code[0] || bytes[i + 1] !== code[1]) continue
    const len = readVarint(bytes, i + code.length)
    if (len === undefined || len.next + len.value !== bytes.byteLength) continue
    let peer: string
    let thread: ThreadID
    try {
      peer = multiaddr(bytes.subarray(0, i)).toString()
      thread = threadIDFromBytes(bytes.subarray(len.next))
    } catch (err) {
      throw bad('not a thread address', err)
    }
    return formatThreadAddress(peer, thread)
  }
  throw bad('not a multiaddr ending in /thread/<threadID>')
}

/** go-threads writes a head counter as a zig-zag varint into 8 bytes (`binary.PutVarint`). */
export function counterToBytes(counter: number): Uint8Array {
  const out = new Uint8Array(8)
  const zz = varint(counter * 2)
  out.set(zz.slice(0, 8))
  return out
}

/** Parse UTF-8 JSON from a request field, bounded in nesting, refusing `__proto__` keys. */
export function parseJSON(bytes: Uint8Array, field: string): unknown {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(bytes))
  } catch (err) {
    throw new InvalidRequestError(`${field}: unmarshaling json: ${(err as Error).message}`, { cause: err })
  }
  // Bounded nesting; no `__proto__` keys (they would change an object's prototype downstream).
  const depth = (v: unknown, d: number): void => {
    if (d > MAX_JSON_DEPTH) throw new InvalidRequestError(`${field}: JSON nests deeper than ${MAX_JSON_DEPTH}`)
    if (v === null || typeof v !== 'object') return
    if (Object.prototype.hasOwnProperty.call(v, '__proto__')) throw new InvalidRequestError(`${field}: a key named __proto__ is not allowed`)
    for (const c of Object.values(v)) depth(c, d + 1)
  }
  depth(value, 0)
  return value
}

export function toJSONBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

/** An instance from its JSON bytes: a JSON object. */
export function instanceOf(bytes: Uint8Array, index: number): JSONObject {
  const v = parseJSON(bytes, `instances[${index}]`)
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidRequestError(`instances[${index}]: an instance must be a JSON object`)
  return v as JSONObject
}

export interface PbCollectionConfig {
  name: string
  schema: Uint8Array
  indexes: Array<{ path: string; unique: boolean }>
  writeValidator: string
  readFilter: string
}

/** A collection config from the wire; an empty schema takes Weft's default. */
export function collectionConfigOf(pb: PbCollectionConfig | undefined): CollectionConfig {
  if (pb === undefined) throw new InvalidRequestError('config is required')
  const config: CollectionConfig = { name: pb.name, indexes: pb.indexes.map((i) => ({ path: i.path, unique: i.unique })) }
  if (pb.schema.byteLength > 0) {
    const schema = parseJSON(pb.schema, 'schema')
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) throw new InvalidRequestError('schema: a JSON Schema must be an object')
    config.schema = schema as Record<string, unknown>
  }
  if (pb.writeValidator !== '') config.writeValidator = pb.writeValidator
  if (pb.readFilter !== '') config.readFilter = pb.readFilter
  return config
}

export function collectionInfoToPb(info: CollectionInfo): PbCollectionConfig {
  return {
    name: info.name,
    schema: toJSONBytes(info.schema),
    indexes: info.indexes.map((i) => ({ path: i.path, unique: i.unique })),
    writeValidator: info.writeValidator,
    readFilter: info.readFilter
  }
}

const QUERY_FIELDS = ['ands', 'ors', 'sort', 'seek', 'limit', 'skip', 'index'] as const
const CRITERION_FIELDS = ['fieldPath', 'operation', 'value'] as const
const VALUE_FIELDS = ['string', 'bool', 'float'] as const
const SORT_FIELDS = ['fieldPath', 'desc'] as const

/** The fields of an object under their canonical names, matched case-insensitively (as Go's encoding/json does); unknown and null fields are dropped. */
function fields<K extends string>(raw: unknown, names: readonly K[]): Partial<Record<K, unknown>> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return {}
  const out: Partial<Record<K, unknown>> = {}
  for (const [k, v] of Object.entries(raw)) {
    const name = names.find((n) => n.toLowerCase() === k.toLowerCase())
    if (name !== undefined && v !== null && v !== undefined) out[name] = v
  }
  return out
}

function queryNode(raw: unknown): QueryJSON {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidRequestError('queryJSON: a query must be a JSON object')
  const q = fields(raw, QUERY_FIELDS)
  const out: QueryJSON = {}
  if (q.ands !== undefined) {
    if (!Array.isArray(q.ands)) throw new InvalidRequestError('queryJSON: ands must be an array')
    out.ands = q.ands.map((c) => {
      const f = fields(c, CRITERION_FIELDS)
      return { fieldPath: f.fieldPath, operation: f.operation, value: fields(f.value, VALUE_FIELDS) } as never
    })
  }
  if (q.ors !== undefined) {
    if (!Array.isArray(q.ors)) throw new InvalidRequestError('queryJSON: ors must be an array')
    out.ors = q.ors.map(queryNode)
  }
  const sort = fields(q.sort, SORT_FIELDS)
  if (sort.fieldPath !== undefined && sort.fieldPath !== '') out.sort = sort as never
  if (q.seek !== undefined && q.seek !== '') out.seek = q.seek as string
  if (q.limit !== undefined) out.limit = q.limit as number
  if (q.skip !== undefined) out.skip = q.skip as number
  if (q.index !== undefined && q.index !== '') out.index = q.index as string
  return out
}

/**
 * A query from `queryJSON` bytes, in the form go-threads clients send it: lower-case names from
 * the JS client, Go field names (`Ands`, `FieldPath`…) with `null`s and zero values from the Go
 * client. An empty body is the empty query. The DB checks the rest (InvalidQueryError).
 */
export function queryOf(bytes: Uint8Array): QueryJSON {
  if (bytes.byteLength === 0) return {}
  return queryNode(parseJSON(bytes, 'queryJSON'))
}

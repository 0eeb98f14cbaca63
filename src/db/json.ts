/**
 * JSON values as the DB stores them: checking and normalising input, the canonical serialisation
 * (keys sorted by UTF-16 code units, no whitespace — byte-identical on every peer), dot paths,
 * RFC 7386 merge patches, and the total order used by sorts and comparisons.
 */
import { InvalidInstanceError, InvalidStringError } from './errors.js'
import type { JSONObject, JSONValue } from './types.js'

const MAX_DEPTH = 64

const nativeWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Whether `s` is well-formed UTF-16: every surrogate is half of a pair. */
export function isWellFormed(s: string): boolean {
  return nativeWellFormed ? (s as unknown as { isWellFormed(): boolean }).isWellFormed() : !LONE_SURROGATE.test(s)
}

/** Throw InvalidStringError unless `s` is well-formed UTF-16. */
export function checkString(s: string, what: string): string {
  if (!isWellFormed(s)) throw new InvalidStringError(`${what} is not well-formed UTF-16 (it holds a lone surrogate)`)
  return s
}

/** Object keys that would reach an object's prototype through plain assignment. */
function checkKey(k: string, path: string): void {
  if (k === '__proto__') throw new InvalidInstanceError(`a key named __proto__ is not allowed (at ${path || '/'})`)
  checkString(k, `the key at ${path || '/'}`)
}

/**
 * Check a value parsed from untrusted JSON text in place: nesting at most `maxDepth`, finite
 * numbers (JSON.parse turns `1e400` into Infinity), no `__proto__` keys (InvalidInstanceError),
 * well-formed strings and keys (InvalidStringError). Returns false when nested too deep.
 */
export function checkParsedJSON(v: JSONValue, maxDepth = MAX_DEPTH, path = '', depth = 0): boolean {
  switch (typeof v) {
    case 'string': checkString(v, `the string at ${path || '/'}`); return true
    case 'number':
      if (!Number.isFinite(v)) throw new InvalidInstanceError(`a number at ${path || '/'} is out of range`)
      return true
    case 'object': {
      if (v === null) return true
      if (depth >= maxDepth) return false
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!checkParsedJSON(v[i]!, maxDepth, `${path}/${i}`, depth + 1)) return false
        return true
      }
      for (const k of Object.keys(v)) {
        checkKey(k, `${path}/${k}`)
        if (!checkParsedJSON(v[k]!, maxDepth, `${path}/${k}`, depth + 1)) return false
      }
      return true
    }
    default: return true
  }
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

/**
 * A JSON copy of `value`: plain objects, arrays, strings, finite numbers, booleans and null.
 * Object properties that are `undefined` are dropped (as `JSON.stringify` does); `-0` becomes 0.
 * Anything else (functions, NaN, Infinity, bigint, class instances, cycles, depth > 64, a key
 * named `__proto__`) is an InvalidInstanceError; a string or key that is not well-formed UTF-16
 * is an InvalidStringError.
 */
export function toJSONValue(value: unknown, path = '', depth = 0): JSONValue {
  if (depth > MAX_DEPTH) throw new InvalidInstanceError(`value nested deeper than ${MAX_DEPTH} at ${path || '/'}`)
  switch (typeof value) {
    case 'string':
      return checkString(value, `the string at ${path || '/'}`)
    case 'boolean':
      return value
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidInstanceError(`${String(value)} is not a JSON number at ${path || '/'}`)
      return value === 0 ? 0 : value
    case 'object': {
      if (value === null) return null
      if (Array.isArray(value)) return value.map((v, i) => toJSONValue(v === undefined ? null : v, `${path}/${i}`, depth + 1))
      if (!isPlainObject(value)) throw new InvalidInstanceError(`not a plain object at ${path || '/'}`)
      const out: JSONObject = {}
      for (const [k, v] of Object.entries(value)) {
        if (v === undefined) continue
        checkKey(k, `${path}/${k}`)
        out[k] = toJSONValue(v, `${path}/${k}`, depth + 1)
      }
      return out
    }
    default:
      throw new InvalidInstanceError(`a ${typeof value} is not a JSON value at ${path || '/'}`)
  }
}

/** Canonical JSON text of a JSON value: object keys sorted, no whitespace. */
export function canonicalJSON(value: JSONValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) {
    let s = '['
    for (let i = 0; i < value.length; i++) s += (i === 0 ? '' : ',') + canonicalJSON(value[i]!)
    return s + ']'
  }
  const keys = Object.keys(value).sort()
  let s = '{'
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    s += (i === 0 ? '' : ',') + JSON.stringify(k) + ':' + canonicalJSON(value[k]!)
  }
  return s + '}'
}

export function isObject(v: JSONValue | undefined): v is JSONObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Split and check a dot path (`a.b.c`; no empty segments). */
export function parsePath(path: unknown): string[] | undefined {
  if (typeof path !== 'string' || path === '') return undefined
  const parts = path.split('.')
  return parts.every((p) => p !== '') ? parts : undefined
}

/** The value at a dot path, or `undefined` when any step is missing or not an object. */
export function getPath(doc: JSONValue | undefined, parts: readonly string[]): JSONValue | undefined {
  let cur: JSONValue | undefined = doc
  for (const p of parts) {
    if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, p)) return undefined
    cur = cur[p]
  }
  return cur
}

export function deepEqual(a: JSONValue | undefined, b: JSONValue | undefined): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bb = b as JSONValue[]
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]))
  }
  const ao = a as JSONObject
  const bo = b as JSONObject
  const ka = Object.keys(ao)
  if (ka.length !== Object.keys(bo).length) return false
  return ka.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && deepEqual(ao[k], bo[k]))
}

/** The RFC 7386 merge patch that turns `from` into `to` (both objects). */
export function createMergePatch(from: JSONObject, to: JSONObject): JSONObject {
  const patch: JSONObject = {}
  for (const k of Object.keys(to)) {
    const a = from[k]
    const b = to[k]!
    if (Object.prototype.hasOwnProperty.call(from, k) && deepEqual(a, b)) continue
    if (isObject(a) && isObject(b)) {
      const sub = createMergePatch(a, b)
      if (Object.keys(sub).length > 0) patch[k] = sub
    } else {
      patch[k] = b
    }
  }
  for (const k of Object.keys(from)) if (!Object.prototype.hasOwnProperty.call(to, k)) patch[k] = null
  return patch
}

/**
 * Apply an RFC 7386 merge patch (returns a new value; `null` members remove keys). A `__proto__`
 * key is an InvalidInstanceError (it would change the result's prototype instead of a field).
 */
export function applyMergePatch(target: JSONValue | undefined, patch: JSONValue): JSONValue {
  if (!isObject(patch)) return patch
  const out: JSONObject = isObject(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (k === '__proto__') throw new InvalidInstanceError('a merge patch may not hold a key named __proto__')
    if (v === null) delete out[k]
    else out[k] = applyMergePatch(out[k], v)
  }
  return out
}

/** Compare strings by Unicode code point (the order of their UTF-8 bytes, as the index stores them). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    // Surrogates (U+D800–DFFF) stand for code points above U+FFFF: lift them over U+E000–FFFF.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x10000
    if (y >= 0xd800 && y <= 0xdfff) y += 0x10000
    return x < y ? -1 : 1
  }
  return a.length - b.length
}

function rank(v: JSONValue | undefined): number {
  if (v === undefined) return 0
  if (v === null) return 1
  switch (typeof v) {
    case 'boolean': return 2
    case 'number': return 3
    case 'string': return 4
    default: return Array.isArray(v) ? 5 : 6
  }
}

/**
 * A total order over JSON values (and `undefined` for a missing field): missing < null < booleans
 * < numbers < strings < arrays < objects; within a type by value (strings by code point, arrays
 * and objects by canonical JSON). Never throws.
 */
export function compareValues(a: JSONValue | undefined, b: JSONValue | undefined): number {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  switch (ra) {
    case 2: return (a === b ? 0 : a === false ? -1 : 1)
    case 3: return (a as number) - (b as number)
    case 4: return compareStrings(a as string, b as string)
    case 5:
    case 6: return compareStrings(canonicalJSON(a as JSONValue), canonicalJSON(b as JSONValue))
    default: return 0
  }
}

/**
 * Framework-agnostic acceptance cases: a suite is a list of named async functions that throw on
 * failure. The same list is registered with vitest in Node and run in real Chromium through
 * Playwright, so one suite covers every backend. No test framework is imported here.
 */
import { CID } from 'multiformats/cid'

export interface Case {
  name: string
  run(): Promise<void>
}

/** Thrown by the assertions below. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AssertionError'
  }
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) {
    const hex = Array.from(value.subarray(0, 32), (b) => b.toString(16).padStart(2, '0')).join('')
    return `Uint8Array(${value.byteLength})[${hex}${value.byteLength > 32 ? '…' : ''}]`
  }
  const cid = CID.asCID(value)
  if (cid != null) return `CID(${cid.toString()})`
  if (typeof value === 'bigint') return `${value}n`
  try {
    const json = JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array || CID.asCID(v) != null ? show(v) : v))
    return json === undefined ? String(value) : json.length > 300 ? `${json.slice(0, 300)}…` : json
  } catch {
    return String(value)
  }
}

export function assertTrue(condition: unknown, message = 'expected a truthy value'): asserts condition {
  if (!condition) throw new AssertionError(message)
}

/** `Object.is` equality. */
export function assertEqual<T>(actual: T, expected: T, message?: string): void {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`${message ?? 'values differ'}: expected ${show(expected)}, got ${show(actual)}`)
  }
}

/** Where two values first differ (a path), or `undefined` when they are deeply equal. */
function difference(a: unknown, b: unknown, path: string): string | undefined {
  if (Object.is(a, b)) return undefined
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array)) return path
    if (a.byteLength !== b.byteLength) return path
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return `${path}[${i}]`
    return undefined
  }
  const ca = CID.asCID(a)
  const cb = CID.asCID(b)
  if (ca != null || cb != null) return ca != null && cb != null && ca.equals(cb) ? undefined : path
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return path
  if (Array.isArray(a) !== Array.isArray(b)) return path
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}.length`
    for (let i = 0; i < a.length; i++) {
      const d = difference(a[i], b[i], `${path}[${i}]`)
      if (d !== undefined) return d
    }
    return undefined
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined).sort()
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined).sort()
  if (ka.join('\0') !== kb.join('\0')) return `${path} (keys ${ka.join(',')} vs ${kb.join(',')})`
  for (const k of ka) {
    const d = difference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`)
    if (d !== undefined) return d
  }
  return undefined
}

/**
 * Structural equality: compares Uint8Arrays by bytes (any subclass, e.g. a Node Buffer), CIDs by
 * value, arrays and plain objects recursively (properties that are `undefined` count as absent).
 */
export function assertDeepEqual(actual: unknown, expected: unknown, message?: string): void {
  const d = difference(actual, expected, '$')
  if (d !== undefined) {
    throw new AssertionError(`${message ?? 'values differ'} at ${d}: expected ${show(expected)}, got ${show(actual)}`)
  }
}

/** Await `p` (or call and await `p()`); it must reject with an error whose `name` is `errorName`. */
export async function assertRejects(p: Promise<unknown> | (() => Promise<unknown>), errorName: string, message?: string): Promise<Error> {
  let result: unknown
  try {
    result = await (typeof p === 'function' ? p() : p)
  } catch (err) {
    const name = (err as { name?: unknown } | null)?.name
    if (name !== errorName) {
      const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
      throw new AssertionError(`${message ?? 'wrong error'}: expected ${errorName}, got ${detail}`)
    }
    return err as Error
  }
  throw new AssertionError(`${message ?? 'expected a rejection'}: expected ${errorName}, but it resolved to ${show(result)}`)
}

/** Every item of an async iterable, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

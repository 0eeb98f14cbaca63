/**
 * The shared guard around every KV backend: argument validation, abort checks, the closed state,
 * a close that waits for running operations, and mapping of platform errors to named store errors.
 * A backend only implements {@link KVBackend} on already-validated, normalised input.
 */
import { throwIfAborted, WeftError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { InvalidStoreInputError, StoreClosedError, StoreIOError } from './errors.js'
import { compareBytes, prefixUpperBound } from './keys.js'
import type { BatchOp, KVStore, RangeOptions } from './kv.js'

/** One end of a normalised range. */
export interface Bound {
  key: Uint8Array
  inclusive: boolean
}

/** A validated, non-empty range: at most one lower and one upper bound. */
export interface NormalizedRange {
  lower: Bound | undefined
  upper: Bound | undefined
  reverse: boolean
  /** A positive integer or `Infinity`. */
  limit: number
}

/** What a backend implements; inputs are validated and the store is open. */
export interface KVBackend {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>
  put(key: Uint8Array, value: Uint8Array): Promise<void>
  delete(key: Uint8Array): Promise<void>
  batch(ops: readonly BatchOp[]): Promise<void>
  /** Entries of a non-empty range in order, at most `range.limit` of them, in non-empty pages. */
  pages(range: NormalizedRange): AsyncGenerator<Array<[Uint8Array, Uint8Array]>>
  close(): Promise<void>
}

function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array
}

export function checkKey(key: unknown): asserts key is Uint8Array {
  if (!isBytes(key)) throw new InvalidStoreInputError('key must be a Uint8Array')
  if (key.byteLength === 0) throw new InvalidStoreInputError('key must not be empty')
}

export function checkValue(value: unknown): asserts value is Uint8Array {
  if (!isBytes(value)) throw new InvalidStoreInputError('value must be a Uint8Array')
}

export function checkOps(ops: unknown): asserts ops is readonly BatchOp[] {
  if (!Array.isArray(ops)) throw new InvalidStoreInputError('batch ops must be an array')
  for (const op of ops as unknown[]) {
    if (op == null || typeof op !== 'object') throw new InvalidStoreInputError('batch op must be an object')
    const { type, key, value } = op as { type?: unknown; key?: unknown; value?: unknown }
    checkKey(key)
    if (type === 'put') checkValue(value)
    else if (type !== 'del') throw new InvalidStoreInputError(`unknown batch op type: ${String(type)}`)
  }
}

export const checkSignal = throwIfAborted

function tighterLower(a: Bound | undefined, b: Bound): Bound {
  if (a === undefined) return b
  const c = compareBytes(a.key, b.key)
  if (c !== 0) return c > 0 ? a : b
  return a.inclusive ? b : a
}

function tighterUpper(a: Bound | undefined, b: Bound): Bound {
  if (a === undefined) return b
  const c = compareBytes(a.key, b.key)
  if (c !== 0) return c < 0 ? a : b
  return a.inclusive ? b : a
}

/** Validate and normalise range options; `undefined` when the range is empty. */
export function normalizeRange(options: RangeOptions): NormalizedRange | undefined {
  const { prefix, gte, gt, lte, lt, reverse = false, limit = Infinity } = options
  for (const b of [prefix, gte, gt, lte, lt]) {
    if (b !== undefined && !isBytes(b)) throw new InvalidStoreInputError('range bounds must be Uint8Arrays')
  }
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0 || (Number.isFinite(limit) && !Number.isInteger(limit))) {
    throw new InvalidStoreInputError('limit must be a non-negative integer or Infinity')
  }
  if (limit === 0) return undefined
  let lower: Bound | undefined
  let upper: Bound | undefined
  if (prefix !== undefined && prefix.byteLength > 0) {
    lower = { key: prefix, inclusive: true }
    const end = prefixUpperBound(prefix)
    if (end !== undefined) upper = { key: end, inclusive: false }
  }
  if (gte !== undefined) lower = tighterLower(lower, { key: gte, inclusive: true })
  if (gt !== undefined) lower = tighterLower(lower, { key: gt, inclusive: false })
  if (lte !== undefined) upper = tighterUpper(upper, { key: lte, inclusive: true })
  if (lt !== undefined) upper = tighterUpper(upper, { key: lt, inclusive: false })
  if (lower !== undefined && upper !== undefined) {
    const c = compareBytes(lower.key, upper.key)
    if (c > 0 || (c === 0 && !(lower.inclusive && upper.inclusive))) return undefined
  }
  return { lower, upper, reverse: Boolean(reverse), limit }
}

/** Wrap a backend into a {@link KVStore}. `name` appears in error messages. */
export function guardBackend(backend: KVBackend, name: string, log: Logger): KVStore {
  let closed = false
  let closing: Promise<void> | undefined
  const running = new Set<Promise<unknown>>()

  const toStoreError = (err: unknown, what: string): Error => {
    if (err instanceof WeftError) return err
    if (closed) return new StoreClosedError(undefined, { cause: err })
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    log.error('%s %s failed: %s', name, what, detail)
    return new StoreIOError(`${name} ${what} failed: ${detail}`, { cause: err })
  }

  /** Run one operation: refuse when closed, track it so close() can wait, map its errors. */
  const run = async <T>(what: string, signal: AbortSignal | undefined, validate: () => void, op: () => Promise<T>): Promise<T> => {
    if (closed) throw new StoreClosedError()
    checkSignal(signal)
    validate()
    const p = op()
    running.add(p)
    try {
      return await p
    } catch (err) {
      throw toStoreError(err, what)
    } finally {
      running.delete(p)
    }
  }

  async function * pages(options: RangeOptions): AsyncGenerator<Array<[Uint8Array, Uint8Array]>> {
    if (closed) throw new StoreClosedError()
    checkSignal(options.signal)
    const range = normalizeRange(options)
    if (range === undefined) return
    const it = backend.pages(range)
    try {
      for (;;) {
        let step: IteratorResult<Array<[Uint8Array, Uint8Array]>>
        try {
          step = await it.next()
        } catch (err) {
          throw toStoreError(err, 'range')
        }
        if (step.done === true) return
        yield step.value
        if (closed) throw new StoreClosedError()
        checkSignal(options.signal)
      }
    } finally {
      await it.return(undefined)
    }
  }

  const store: KVStore = {
    get: (key, options) => run('get', options?.signal, () => checkKey(key), () => backend.get(key)),

    getMany: (keys, options) =>
      run('getMany', options?.signal, () => {
        if (!Array.isArray(keys)) throw new InvalidStoreInputError('keys must be an array')
        for (const k of keys) checkKey(k)
      }, async () => (keys.length === 0 ? [] : backend.getMany(keys))),

    put: (key, value, options) =>
      run('put', options?.signal, () => {
        checkKey(key)
        checkValue(value)
      }, () => backend.put(key, value)),

    delete: (key, options) => run('delete', options?.signal, () => checkKey(key), () => backend.delete(key)),

    batch: (ops, options) =>
      run('batch', options?.signal, () => checkOps(ops), async () => {
        if (ops.length > 0) await backend.batch(ops)
      }),

    range: (options = {}) => ({
      async * [Symbol.asyncIterator]() {
        for await (const page of pages(options)) {
          for (const entry of page) {
            yield entry
            if (closed) throw new StoreClosedError()
            checkSignal(options.signal)
          }
        }
      }
    }),

    pages: (options = {}) => ({ [Symbol.asyncIterator]: () => pages(options) }),

    close: async () => {
      closing ??= (async () => {
        closed = true
        await Promise.allSettled([...running])
        await backend.close()
      })()
      return closing
    }
  }
  return store
}

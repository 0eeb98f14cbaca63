/**
 * A write buffer over the key-value store: reads see the buffered writes (read-your-writes),
 * ordered scans merge them with the store, and the writes leave as one atomic batch. Overlays
 * stack: an event applies in a child overlay that is merged into its parent only if the whole
 * event is accepted, so a rejected event leaves no trace.
 */
import type { BatchOp, KVStore, RangeOptions } from '../store/kv.js'
import { compareBytes, prefixUpperBound } from './keys.js'

/** What reads need: a KV store or an overlay. */
export interface StateReader {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>
  range(options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]>
  /** The same scan a page (non-empty array) at a time. */
  pages(options: RangeOptions): AsyncIterable<Array<[Uint8Array, Uint8Array]>>
}

/** Entries per page when an overlay merges its writes into a scan. */
const MERGED_PAGE = 256

interface Entry { key: Uint8Array; value: Uint8Array | null }

/**
 * Node's own Latin-1 decoder (native: several times faster than `String.fromCharCode` on keys of a
 * hundred bytes, and the same string), when the platform has it; never a JavaScript polyfill's.
 */
const latin1Slice = ((): ((this: Uint8Array, start: number, end: number) => string) | undefined => {
  const f = (globalThis as { Buffer?: { prototype?: { latin1Slice?: unknown } } }).Buffer?.prototype?.latin1Slice
  return typeof f === 'function' && /\[native code\]/.test(Function.prototype.toString.call(f)) ? f as (this: Uint8Array, start: number, end: number) => string : undefined
})()

/** A map key for a byte key (one UTF-16 unit per byte). */
export function keyString(key: Uint8Array): string {
  if (latin1Slice !== undefined) return latin1Slice.call(key, 0, key.length)
  if (key.length <= 1024) return String.fromCharCode.apply(null, key as unknown as number[])
  let s = ''
  for (let i = 0; i < key.length; i += 1024) s += String.fromCharCode.apply(null, key.subarray(i, i + 1024) as unknown as number[])
  return s
}
const str = keyString

interface Bounds { lower?: { key: Uint8Array; inclusive: boolean }; upper?: { key: Uint8Array; inclusive: boolean } }

function bounds(o: RangeOptions): Bounds {
  const b: Bounds = {}
  const lower = (key: Uint8Array, inclusive: boolean): void => {
    const c = b.lower === undefined ? 1 : compareBytes(key, b.lower.key)
    if (c > 0 || (c === 0 && !inclusive)) b.lower = { key, inclusive }
  }
  const upper = (key: Uint8Array, inclusive: boolean): void => {
    const c = b.upper === undefined ? -1 : compareBytes(key, b.upper.key)
    if (c < 0 || (c === 0 && !inclusive)) b.upper = { key, inclusive }
  }
  if (o.prefix !== undefined) {
    lower(o.prefix, true)
    const up = prefixUpperBound(o.prefix)
    if (up !== undefined) upper(up, false)
  }
  if (o.gte !== undefined) lower(o.gte, true)
  if (o.gt !== undefined) lower(o.gt, false)
  if (o.lte !== undefined) upper(o.lte, true)
  if (o.lt !== undefined) upper(o.lt, false)
  return b
}

/** Whether `key` lies within the range `o` (its bounds; its limit is not considered). */
export function inRange(key: Uint8Array, o: RangeOptions): boolean {
  return inBounds(key, bounds(o))
}

function inBounds(key: Uint8Array, b: Bounds): boolean {
  if (b.lower !== undefined) {
    const c = compareBytes(key, b.lower.key)
    if (c < 0 || (c === 0 && !b.lower.inclusive)) return false
  }
  if (b.upper !== undefined) {
    const c = compareBytes(key, b.upper.key)
    if (c > 0 || (c === 0 && !b.upper.inclusive)) return false
  }
  return true
}

export class Overlay implements StateReader {
  private readonly writes = new Map<string, Entry>()
  /** Values read from the store (bottom overlay only). */
  private readonly cache = new Map<string, Uint8Array | null>()

  constructor(private readonly store: StateReader, private readonly parent?: Overlay) {}

  /** A child overlay whose writes reach this one only through {@link Overlay.mergeInto}. */
  child(): Overlay {
    return new Overlay(this.store, this)
  }

  get size(): number { return this.writes.size }

  private lookup(s: string): Entry | undefined | null {
    const w = this.writes.get(s)
    if (w !== undefined) return w
    if (this.parent !== undefined) return this.parent.lookup(s)
    const c = this.cache.get(s)
    if (c !== undefined) return { key: new Uint8Array(), value: c }
    return null
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const s = str(key)
    const hit = this.lookup(s)
    if (hit != null) return hit.value ?? undefined
    const v = await this.store.get(key)
    this.bottom().cache.set(s, v ?? null)
    return v
  }

  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    const n = keys.length
    const out = new Array<Uint8Array | undefined>(n)
    const strings = new Array<string>(n)
    /** The places of the keys not found here, and those keys. */
    const at: number[] = []
    const missing: Uint8Array[] = []
    for (let i = 0; i < n; i++) {
      const s = strings[i] = str(keys[i]!)
      const hit = this.lookup(s)
      if (hit != null) out[i] = hit.value ?? undefined
      else {
        at.push(i)
        missing.push(keys[i]!)
      }
    }
    if (missing.length === 0) return out
    const values = await this.store.getMany(missing)
    const cache = this.bottom().cache
    for (let j = 0; j < at.length; j++) {
      const i = at[j]!
      out[i] = values[j]
      cache.set(strings[i]!, values[j] ?? null)
    }
    return out
  }

  /** Read `keys` from the store into the cache in one request (ahead of many point reads). */
  async prefetch(keys: readonly Uint8Array[]): Promise<void> {
    if (keys.length > 0) await this.getMany(keys)
  }

  private bottom(): Overlay {
    return this.parent === undefined ? this : this.parent.bottom()
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(str(key), { key, value })
  }

  del(key: Uint8Array): void {
    this.writes.set(str(key), { key, value: null })
  }

  /** Move this overlay's writes into its parent. */
  mergeInto(): void {
    if (this.parent === undefined) throw new Error('a bottom overlay has no parent')
    for (const [s, e] of this.writes) this.parent.writes.set(s, e)
    this.writes.clear()
  }

  /** The writes as batch operations (bottom overlay). */
  ops(): BatchOp[] {
    const out: BatchOp[] = []
    for (const e of this.writes.values()) out.push(e.value === null ? { type: 'del', key: e.key } : { type: 'put', key: e.key, value: e.value })
    return out
  }

  /** Put (or delete) every key `other` wrote, as it wrote it. */
  absorb(other: Overlay): void {
    for (const [s, e] of other.writes) this.writes.set(s, e)
  }

  /** The keys written (a live view: later writes show). */
  writtenKeys(): { has(s: string): boolean; keys(): Iterable<Uint8Array> } {
    const writes = this.writes
    return {
      has: (s) => writes.has(s),
      * keys() { for (const e of writes.values()) yield e.key }
    }
  }

  /** Keys written, with their buffered values (`null` = deleted). */
  written(): IterableIterator<Entry> {
    return this.writes.values()
  }

  private collect(b: Bounds, into: Map<string, Entry>): void {
    this.parent?.collect(b, into)
    for (const [s, e] of this.writes) if (inBounds(e.key, b)) into.set(s, e)
  }

  /** {@link Overlay.range} a page at a time; the store's own pages when no buffered write is in range. */
  async * pages(options: RangeOptions): AsyncIterable<Array<[Uint8Array, Uint8Array]>> {
    const mine = new Map<string, Entry>()
    this.collect(bounds(options), mine)
    if (mine.size === 0) {
      yield * this.store.pages(options)
      return
    }
    let page: Array<[Uint8Array, Uint8Array]> = []
    for await (const entry of this.range(options)) {
      page.push(entry)
      if (page.length >= MERGED_PAGE) {
        yield page
        page = []
      }
    }
    if (page.length > 0) yield page
  }

  /** Ordered scan of the store with the buffered writes merged in. */
  async * range(options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    const b = bounds(options)
    const reverse = options.reverse === true
    const limit = options.limit ?? Infinity
    const mine = new Map<string, Entry>()
    this.collect(b, mine)
    const sorted = [...mine.values()].sort((x, y) => reverse ? compareBytes(y.key, x.key) : compareBytes(x.key, y.key))
    const before = (a: Uint8Array, c: Uint8Array): boolean => reverse ? compareBytes(a, c) > 0 : compareBytes(a, c) < 0
    let i = 0
    let count = 0
    const storeRange: RangeOptions = { reverse }
    if (b.lower !== undefined) storeRange[b.lower.inclusive ? 'gte' : 'gt'] = b.lower.key
    if (b.upper !== undefined) storeRange[b.upper.inclusive ? 'lte' : 'lt'] = b.upper.key
    for await (const [key, value] of this.store.range(storeRange)) {
      while (i < sorted.length && before(sorted[i]!.key, key)) {
        const e = sorted[i++]!
        if (e.value !== null) {
          yield [e.key, e.value]
          if (++count >= limit) return
        }
      }
      if (i < sorted.length && compareBytes(sorted[i]!.key, key) === 0) {
        const e = sorted[i++]!
        if (e.value === null) continue
        yield [e.key, e.value]
      } else {
        yield [key, value]
      }
      if (++count >= limit) return
    }
    for (; i < sorted.length; i++) {
      const e = sorted[i]!
      if (e.value === null) continue
      yield [e.key, e.value]
      if (++count >= limit) return
    }
  }
}

/** A KV store as a {@link StateReader}. */
export function storeReader(store: KVStore): StateReader {
  return {
    // The store's own promises, passed on (no wrapper of ours on the path of every read).
    get: (key) => store.get(key),
    getMany: (keys) => store.getMany(keys),
    range: (options) => store.range(options),
    pages: (options) => store.pages(options)
  }
}

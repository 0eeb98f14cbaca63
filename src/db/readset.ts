/**
 * What an optimistic write transaction read. A write transaction stages without holding the DB's
 * lock: its reads go to the store through a {@link RecordingReader}, which notes each key read
 * (with the value seen) and each ordered scan (how many entries the transaction consumed and a
 * digest of them). When the transaction commits, under the write lock, {@link RecordingReader.check}
 * reads them again: if every one still holds, the state the transaction staged against is the
 * state it commits onto, so its staged writes are exactly what applying it now would write.
 */
import type { RangeOptions } from '../store/index.js'
import { compareBytes } from './keys.js'
import { inRange, keyString, type StateReader } from './overlay.js'
import type { WrittenKeys } from './recent.js'

/** A 64-bit digest of a sequence of entries (two 32-bit FNV-1a lanes over lengths and bytes). */
class Digest {
  a = 0x811c9dc5
  b = 0x01000193 ^ 0x5bd1e995
  add(bytes: Uint8Array): void {
    let { a, b } = this
    const n = bytes.length
    a = Math.imul(a ^ (n & 0xff), 0x01000193) ^ (n >>> 8)
    b = Math.imul(b ^ n, 0x5bd1e995)
    for (let i = 0; i < n; i++) {
      const x = bytes[i]!
      a = Math.imul(a ^ x, 0x01000193)
      b = Math.imul(b ^ x, 0x5bd1e995) ^ (b >>> 15)
    }
    this.a = a
    this.b = b
  }
  equals(o: Digest): boolean { return this.a === o.a && this.b === o.b }
}

interface Scan {
  options: RangeOptions
  /** Entries the reader consumed. */
  count: number
  /** The scan ran to its end (so nothing may follow the `count` entries). */
  done: boolean
  digest: Digest
  /** The last key consumed. */
  last?: Uint8Array
}

/** Whether a write of `key` may change what `scan` gave: a key at or before the last one it consumed, or anywhere in a range it read to the end. */
function affects(scan: Scan, key: Uint8Array): boolean {
  const { options } = scan
  if (!inRange(key, options)) return false
  const limit = options.limit ?? Infinity
  if (scan.done && scan.count < limit) return true
  if (scan.last === undefined) return false
  const c = compareBytes(key, scan.last)
  return options.reverse === true ? c >= 0 : c <= 0
}

export class RecordingReader implements StateReader {
  private readonly points = new Map<string, { key: Uint8Array; value: Uint8Array | undefined }>()
  private readonly scans: Scan[] = []

  constructor (private readonly store: StateReader) {}

  /** Whether anything was read. */
  get empty(): boolean { return this.points.size === 0 && this.scans.length === 0 }

  private note(key: Uint8Array, value: Uint8Array | undefined): void {
    const s = keyString(key)
    if (!this.points.has(s)) this.points.set(s, { key, value })
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const v = await this.store.get(key)
    this.note(key, v)
    return v
  }

  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    const values = await this.store.getMany(keys)
    for (let i = 0; i < keys.length; i++) this.note(keys[i]!, values[i])
    return values
  }

  async * range(options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    const { signal: _, ...bounds } = options
    const scan: Scan = { options: bounds, count: 0, done: false, digest: new Digest() }
    this.scans.push(scan)
    for await (const entry of this.store.range(options)) {
      scan.count++
      scan.last = entry[0]
      scan.digest.add(entry[0])
      scan.digest.add(entry[1])
      yield entry
    }
    scan.done = true
  }

  async * pages(options: RangeOptions): AsyncIterable<Array<[Uint8Array, Uint8Array]>> {
    const { signal: _, ...bounds } = options
    const scan: Scan = { options: bounds, count: 0, done: false, digest: new Digest() }
    this.scans.push(scan)
    for await (const page of this.store.pages(options)) {
      for (const [k, v] of page) {
        scan.digest.add(k)
        scan.digest.add(v)
      }
      if (page.length > 0) scan.last = page[page.length - 1]![0]
      // A page handed over counts as read whole (the caller may stop anywhere in it).
      scan.count += page.length
      yield page
    }
    scan.done = true
  }

  /**
   * Whether none of the keys of `written` (each a write's, or a group's writes so far) was read:
   * no point read of it, no scan that consumed entries up to it (or read its whole range) holding
   * it. Point reads are looked up in each write's set of keys, so the cost is that of the reads,
   * not of the writes (which the scans, if any, still go through).
   * When nothing else changed since the reads (the store was not written meanwhile), that alone
   * says every read still gives what it gave — without reading anything again.
   */
  untouchedBy(written: Iterable<WrittenKeys>): boolean {
    for (const w of written) {
      for (const s of this.points.keys()) if (w.has(s)) return false
      if (this.scans.length === 0) continue
      for (const key of w.keys()) {
        for (const scan of this.scans) if (affects(scan, key)) return false
      }
    }
    return true
  }

  /**
   * Whether every read still gives what it gave (run under the write lock, against `now`). Point
   * reads are read again in one request; each scan is run again for as many entries as were consumed.
   */
  async check(now: StateReader): Promise<boolean> {
    const points = [...this.points.values()]
    for (let i = 0; i < points.length; i += 1000) {
      const slice = points.slice(i, i + 1000)
      const values = await now.getMany(slice.map((p) => p.key))
      for (let j = 0; j < slice.length; j++) {
        const was = slice[j]!.value
        const is = values[j]
        if (was === undefined ? is !== undefined : is === undefined || compareBytes(was, is) !== 0) return false
      }
    }
    for (const scan of this.scans) {
      const digest = new Digest()
      let count = 0
      let more = false
      for await (const [k, v] of now.range(scan.options)) {
        if (count === scan.count) { more = true; break }
        count++
        digest.add(k)
        digest.add(v)
      }
      if (count !== scan.count || !digest.equals(scan.digest) || (scan.done && more)) return false
    }
    return true
  }
}

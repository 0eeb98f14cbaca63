/**
 * The keys of a DB's recent writes, by version. An optimistic write transaction notes the DB's
 * version when it begins and what it read (readset.ts); when it commits, the keys written since
 * that version say whether any of its reads may have changed — without reading the store again
 * (under the write lock, with IndexedDB, each read costs milliseconds). Bounded: past
 * `maxWrites` writes or `maxKeyBytes` bytes of keys the oldest are forgotten, and a transaction
 * older than what is kept is checked by reading again.
 */
import type { BatchOp } from '../store/index.js'
import { keyString } from './overlay.js'

/** The keys one write wrote (or a group's writes so far). */
export interface WrittenKeys {
  /** Whether the key whose {@link keyString} is `s` was written. */
  has(s: string): boolean
  /** Every key written. */
  keys(): Iterable<Uint8Array>
}

export interface RecentWritesInit {
  /**
   * Most writes kept.
   * @default 1024
   */
  maxWrites?: number
  /**
   * Most key bytes kept, over all writes (only keys are kept, never values).
   * @default 1 MiB
   */
  maxKeyBytes?: number
}

export interface RecentWrites {
  /** A write of `ops` ended; the DB's version is now `version` (it only grows). */
  note(version: number, ops: readonly BatchOp[]): void
  /**
   * The keys of every write that ended after `version` (one entry per write, latest first), or
   * `undefined` when one of them is no longer kept (the caller then reads again).
   */
  since(version: number): WrittenKeys[] | undefined
}

/** One write's keys; the set of their strings is made when first asked (most writes never are). */
class Write implements WrittenKeys {
  private set: Set<string> | undefined
  constructor (readonly version: number, private readonly list: readonly Uint8Array[], readonly bytes: number) {}

  has(s: string): boolean {
    if (this.set === undefined) {
      this.set = new Set()
      for (const k of this.list) this.set.add(keyString(k))
    }
    return this.set.has(s)
  }

  keys(): Iterable<Uint8Array> { return this.list }
}

export function recentWrites(init: RecentWritesInit = {}): RecentWrites {
  const maxWrites = init.maxWrites ?? 1024
  const maxKeyBytes = init.maxKeyBytes ?? 1024 * 1024
  const writes: Write[] = []
  let bytes = 0
  /** The latest version at which a forgotten write ended (−1: none forgotten). */
  let forgotten = -1
  return {
    note(version, ops) {
      let size = 0
      const keys = new Array<Uint8Array>(ops.length)
      for (let i = 0; i < ops.length; i++) {
        const key = ops[i]!.key
        size += key.byteLength
        keys[i] = key
      }
      writes.push(new Write(version, keys, size))
      bytes += size
      while (writes.length > 0 && (writes.length > maxWrites || bytes > maxKeyBytes)) {
        const old = writes.shift()!
        bytes -= old.bytes
        forgotten = Math.max(forgotten, old.version)
      }
    },
    since(version) {
      if (forgotten > version) return undefined
      const out: WrittenKeys[] = []
      for (let i = writes.length - 1; i >= 0 && writes[i]!.version > version; i--) out.push(writes[i]!)
      return out
    }
  }
}

/**
 * The keys of a DB's recent writes, by version. An optimistic write transaction notes the DB's
 * version when it begins and what it read (readset.ts); when it commits, the keys written since
 * that version say whether any of its reads may have changed — without reading the store again
 * (under the write lock, with IndexedDB, each read costs milliseconds). Bounded: past
 * `maxWrites` writes or `maxKeys` keys the oldest are forgotten, and a transaction older than what
 * is kept is checked by reading again.
 */
import type { BatchOp } from '../store/index.js'

export interface RecentWritesInit {
  /**
   * Most writes kept.
   * @default 1024
   */
  maxWrites?: number
  /**
   * Most keys kept, over all writes.
   * @default 100000
   */
  maxKeys?: number
}

export interface RecentWrites {
  /** A write of `ops` ended; the DB's version is now `version` (it only grows). */
  note(version: number, ops: readonly BatchOp[]): void
  /**
   * The keys of every write that ended after `version`, or `undefined` when one of them is no
   * longer kept (the caller then reads again).
   */
  since(version: number): Array<{ key: Uint8Array }> | undefined
}

export function recentWrites(init: RecentWritesInit = {}): RecentWrites {
  const maxWrites = init.maxWrites ?? 1024
  const maxKeys = init.maxKeys ?? 100_000
  const writes: Array<{ version: number; ops: readonly BatchOp[] }> = []
  let keys = 0
  /** The latest version at which a forgotten write ended (−1: none forgotten). */
  let forgotten = -1
  return {
    note(version, ops) {
      writes.push({ version, ops })
      keys += ops.length
      while (writes.length > 0 && (writes.length > maxWrites || keys > maxKeys)) {
        const old = writes.shift()!
        keys -= old.ops.length
        forgotten = Math.max(forgotten, old.version)
      }
    },
    since(version) {
      if (forgotten > version) return undefined
      const out: Array<{ key: Uint8Array }> = []
      for (let i = writes.length - 1; i >= 0 && writes[i]!.version > version; i--) {
        for (const op of writes[i]!.ops) out.push(op)
      }
      return out
    }
  }
}

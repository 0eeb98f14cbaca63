/**
 * The relay's accounting, kept in its own key space of the store it shares with the log store, so
 * quotas hold across restarts. One entry per thread the relay holds: who handed it over (peer ID
 * and IP key, for the per-peer and per-IP thread quotas) and how many records and record bytes it
 * stores (for the per-thread quotas and the store budget). Format (docs/RELAY.md, "Accounting"):
 *
 * | key                        | value                                                        |
 * |----------------------------|--------------------------------------------------------------|
 * | tuple(`relay`, `q`, thread) | dag-cbor map `{ v: 1, peer, ip, records, bytes }`           |
 *
 * Writes are coalesced: each change marks its thread, and one writer at a time stores the latest
 * values of every marked thread in one batch. A crash loses at most the batch being written (the
 * relay then under-counts by those records), never the entries already written.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { KVStore } from '../src/store/kv.js'
import { decodeTuple, encodeTuple } from '../src/store/index.js'
import { logger } from '../src/core/logger.js'
import { RelayLedgerError } from './errors.js'

const log = logger('weft:relay:ledger')

/** Version of the entry format. */
export const LEDGER_VERSION = 1
const NS = 'relay'

/** The prefix of every ledger entry. */
export const ledgerPrefix = encodeTuple([NS, 'q'])
/** The key of one thread's entry. */
export const ledgerKey = (thread: string): Uint8Array => encodeTuple([NS, 'q', thread])

/** What the relay knows about one thread it holds. */
export interface LedgerEntry {
  /** Peer ID that handed the thread over ('' when unknown: held before accounting). */
  peer: string
  /** IP key of that peer's connection (relay/ip.ts; '' when unknown). */
  ip: string
  /** Records stored. */
  records: number
  /** Record bytes stored (record, event, header and body blocks). */
  bytes: number
}

export function encodeEntry(e: LedgerEntry): Uint8Array {
  return dagCbor.encode({ v: LEDGER_VERSION, peer: e.peer, ip: e.ip, records: e.records, bytes: e.bytes })
}

export function decodeEntry(bytes: Uint8Array): LedgerEntry {
  let v: unknown
  try {
    v = dagCbor.decode(bytes)
  } catch (err) {
    throw new RelayLedgerError('an accounting entry is not dag-cbor', { cause: err })
  }
  const m = v as Record<string, unknown> | null
  if (m == null || typeof m !== 'object') throw new RelayLedgerError('an accounting entry is not a map')
  if (m.v !== LEDGER_VERSION) throw new RelayLedgerError(`accounting entry version ${String(m.v)} is not supported (expected ${LEDGER_VERSION})`)
  const count = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
  if (typeof m.peer !== 'string' || typeof m.ip !== 'string' || !count(m.records) || !count(m.bytes)) {
    throw new RelayLedgerError('an accounting entry has a missing or malformed field')
  }
  return { peer: m.peer, ip: m.ip, records: m.records, bytes: m.bytes }
}

export interface Ledger {
  /** Every entry, by thread ID. */
  load(): Promise<Map<string, LedgerEntry>>
  /** Schedule the entry of `thread` to be written (its value is read from `current` when written). */
  touch(thread: string): void
  /** Schedule the entry of `thread` to be removed. */
  remove(thread: string): void
  /** Resolves when everything scheduled so far is written. */
  flush(): Promise<void>
}

/** A ledger on `kv`; `current(thread)` gives the value to write (undefined: delete). */
export function kvLedger(kv: KVStore, current: (thread: string) => LedgerEntry | undefined): Ledger {
  const dirty = new Set<string>()
  let writing: Promise<void> | undefined

  async function writeAll(): Promise<void> {
    while (dirty.size > 0) {
      const threads = [...dirty]
      dirty.clear()
      const ops = threads.map((t) => {
        const e = current(t)
        return e == null ? { type: 'del' as const, key: ledgerKey(t) } : { type: 'put' as const, key: ledgerKey(t), value: encodeEntry(e) }
      })
      try {
        await kv.batch(ops)
      } catch (err) {
        log.error('could not write %d accounting entries: %s', ops.length, (err as Error).message)
      }
    }
  }

  function kick(): void {
    if (writing != null) return
    writing = writeAll().finally(() => {
      writing = undefined
      if (dirty.size > 0) kick()
    })
  }

  function schedule(thread: string): void {
    dirty.add(thread)
    kick()
  }

  return {
    async load() {
      const out = new Map<string, LedgerEntry>()
      for await (const [key, value] of kv.range({ prefix: ledgerPrefix })) {
        let thread: string
        try {
          thread = new TextDecoder().decode(decodeTuple(key, 3).segments[2])
        } catch (err) {
          throw new RelayLedgerError('an accounting key is malformed', { cause: err })
        }
        out.set(thread, decodeEntry(value))
      }
      return out
    },
    touch: schedule,
    remove: schedule,
    async flush() {
      while (writing != null) await writing
    }
  }
}

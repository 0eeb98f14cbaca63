/**
 * Test data for the log store suite: fake-but-valid record blocks (real dag-cbor bytes under
 * their real CIDs) chained by `prev`, and a KV wrapper whose next batch fails.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Block } from '../../src/core/types.js'
import { StoreIOError } from '../../src/store/errors.js'
import type { KVStore } from '../../src/store/kv.js'
import type { RecordBlocks } from '../../src/store/logstore-types.js'
import { collect } from './case.js'

export interface TestRecord {
  cid: CID
  prev: CID | undefined
  blocks: RecordBlocks
}

export async function blockOf(value: unknown): Promise<Block> {
  const bytes = dagCbor.encode(value)
  return { cid: CID.createV1(0x71, await sha256.digest(bytes)), bytes }
}

function pattern(seed: string, length: number): Uint8Array {
  const out = new Uint8Array(length)
  let h = 2166136261
  for (const ch of seed) h = Math.imul(h ^ ch.charCodeAt(0), 16777619)
  for (let i = 0; i < length; i++) {
    h = Math.imul(h ^ i, 16777619)
    out[i] = h >>> 24
  }
  return out
}

/** Record `n` of the log labelled `label`, following `prev`. */
export async function makeRecord(label: string, n: number, prev: CID | undefined): Promise<TestRecord> {
  const body = await blockOf(pattern(`body ${label} ${n}`, 48 + (n % 50)))
  const header = await blockOf(pattern(`header ${label} ${n}`, 60))
  const event = await blockOf({ body: body.cid, header: header.cid })
  const record = await blockOf({
    block: event.cid,
    sig: pattern(`sig ${label} ${n}`, 64),
    pubKey: pattern(`pub ${label}`, 36),
    ...(prev === undefined ? {} : { prev })
  })
  return { cid: record.cid, prev, blocks: { record, event, header, body } }
}

/** A first record whose header or body block has the given bytes (for size limits). */
export async function makeRecordWith(label: string, raw: { header?: Uint8Array; body?: Uint8Array }): Promise<TestRecord> {
  const body = await blockOf(raw.body ?? pattern(`body ${label}`, 48))
  const header = await blockOf(raw.header ?? pattern(`header ${label}`, 60))
  const event = await blockOf({ body: body.cid, header: header.cid })
  const record = await blockOf({ block: event.cid, sig: pattern(`sig ${label}`, 64), pubKey: pattern(`pub ${label}`, 36) })
  return { cid: record.cid, prev: undefined, blocks: { record, event, header, body } }
}

/** `count` records of a log chained from `prev`, numbered from `first`. */
export async function makeChain(label: string, count: number, prev?: CID, first = 1): Promise<TestRecord[]> {
  const out: TestRecord[] = []
  let last = prev
  for (let i = 0; i < count; i++) {
    const r = await makeRecord(label, first + i, last)
    out.push(r)
    last = r.cid
  }
  return out
}

export function allBlocks(records: readonly TestRecord[]): Block[] {
  return records.flatMap((r) => [r.blocks.record, r.blocks.event, r.blocks.header, r.blocks.body])
}

/** Every entry of the store (to compare before and after an operation that must write nothing). */
export async function dump(kv: KVStore): Promise<Array<[Uint8Array, Uint8Array]>> {
  return collect(kv.range())
}

/** A KV store whose next `batch` fails (as an aborted transaction would) once `failNextBatch()` is called. */
export function failingBatches(inner: KVStore): { kv: KVStore; failNextBatch: () => void } {
  let fail = false
  const kv: KVStore = {
    get: (key, options) => inner.get(key, options),
    getMany: (keys, options) => inner.getMany(keys, options),
    put: (key, value, options) => inner.put(key, value, options),
    delete: (key, options) => inner.delete(key, options),
    batch: async (ops, options) => {
      if (fail) {
        fail = false
        throw new StoreIOError('simulated failure of a batch')
      }
      await inner.batch(ops, options)
    },
    range: (options) => inner.range(options),
    pages: (options) => inner.pages(options),
    close: () => inner.close()
  }
  return { kv, failNextBatch: () => { fail = true } }
}

/**
 * Argument checks of the log store: IDs, keys, addresses, record blocks (shapes, CIDs and the
 * sizes docs/FORMAT.md allows), counters. Each failure is a named error and nothing is written.
 */
import type { CID } from 'multiformats/cid'
import { checkBlockShape, toCID } from './blocks.js'
import { InvalidBlockError, InvalidStoreInputError, LimitExceededError } from './errors.js'
import * as layout from './log-layout.js'
import type { BatchOp } from './kv.js'
import type { RecordBlocks, SignedAddrs } from './logstore-types.js'

export function checkId(id: unknown, what: string): void {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidStoreInputError(`${what} must be a non-empty string`)
}

export function checkBytes(value: unknown, what: string): void {
  if (!(value instanceof Uint8Array)) throw new InvalidStoreInputError(`${what} must be a Uint8Array`)
}

export function checkAddrs(addrs: unknown): asserts addrs is readonly string[] {
  if (!Array.isArray(addrs) || !addrs.every((a) => typeof a === 'string')) throw new InvalidStoreInputError('addrs must be an array of strings')
}

export function checkSigned(signed: unknown): SignedAddrs {
  if (signed == null || typeof signed !== 'object') throw new InvalidStoreInputError('a signed address list must be an object')
  const { seq, addrs, sig } = signed as Partial<SignedAddrs>
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new InvalidStoreInputError('a signed address list needs a sequence number')
  checkAddrs(addrs)
  checkBytes(sig, 'address list signature')
  if (addrs.length > layout.MAX_ADDRS_PER_LOG) {
    throw new LimitExceededError(`a log's signed address list holds at most ${layout.MAX_ADDRS_PER_LOG} addresses, not ${addrs.length}`)
  }
  return { seq, addrs: [...addrs], sig: sig as Uint8Array }
}

/** Check the sizes of a record's blocks as docs/FORMAT.md limits them. */
export function checkSizes(blocks: RecordBlocks, index: number): void {
  for (const name of ['record', 'event', 'header'] as const) {
    if (blocks[name].bytes.byteLength > layout.MAX_NODE_BLOCK_BYTES) {
      throw new LimitExceededError(`record ${index}: its ${name} block of ${blocks[name].bytes.byteLength} bytes is over ${layout.MAX_NODE_BLOCK_BYTES}`)
    }
  }
  if (blocks.body.bytes.byteLength > layout.MAX_BODY_BLOCK_BYTES) {
    throw new LimitExceededError(`record ${index}: its body block of ${blocks.body.bytes.byteLength} bytes is over ${layout.MAX_BODY_BLOCK_BYTES}`)
  }
}

/** Signed addresses first, then unsigned ones, each once. */
export function allAddrs(stored: layout.StoredLog): string[] {
  return stored.signed === undefined ? stored.addrs : [...new Set([...stored.signed.addrs, ...stored.addrs])]
}

export function sameCid(a: CID | undefined, b: CID | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b)
}

export function describe(cid: CID | undefined): string {
  return cid === undefined ? 'none' : cid.toString()
}

/** Validate an append input; returns it with CIDs normalised. */
export function checkRecord(input: unknown, index: number): { cid: CID; prev: CID | undefined; blocks: RecordBlocks } {
  const what = `record ${index}`
  if (input == null || typeof input !== 'object') throw new InvalidStoreInputError(`${what} is not an object`)
  const { cid, prev, blocks } = input as { cid?: unknown; prev?: unknown; blocks?: unknown }
  if (blocks == null || typeof blocks !== 'object') throw new InvalidBlockError(`${what} has no blocks`)
  let b: Record<string, unknown>
  if (Array.isArray(blocks)) {
    if (blocks.length !== 4) throw new InvalidBlockError(`${what} must have 4 blocks (record, event, header, body)`)
    const [record, event, header, body] = blocks as unknown[]
    b = { record, event, header, body }
  } else {
    b = blocks as Record<string, unknown>
  }
  const checked: RecordBlocks = {
    record: checkBlockShape(b.record, `${what} record block`),
    event: checkBlockShape(b.event, `${what} event block`),
    header: checkBlockShape(b.header, `${what} header block`),
    body: checkBlockShape(b.body, `${what} body block`)
  }
  checkSizes(checked, index)
  const recordCid = toCID(cid, `${what} CID`)
  if (!recordCid.equals(checked.record.cid)) throw new InvalidBlockError(`${what} CID is not the CID of its record block`)
  return { cid: recordCid, prev: prev === undefined ? undefined : toCID(prev, `${what} prev`), blocks: checked }
}

export function checkCounter(n: unknown, what: string, allowInfinity: boolean): number {
  if (typeof n !== 'number' || n < 0 || !(Number.isSafeInteger(n) || (allowInfinity && n === Infinity))) {
    throw new InvalidStoreInputError(`${what} must be a non-negative integer`)
  }
  return n
}


/** Writes of another store to commit with appended records: well formed, none in the log store's key space. */
export function checkAlso(ops: unknown): readonly BatchOp[] {
  if (ops === undefined) return []
  if (!Array.isArray(ops)) throw new InvalidStoreInputError('`with` must be an array of batch operations')
  const own = layout.ownPrefix
  for (const [i, op] of (ops as unknown[]).entries()) {
    const o = op as Partial<BatchOp> | null
    if (o === null || typeof o !== 'object' || (o.type !== 'put' && o.type !== 'del') || !(o.key instanceof Uint8Array) ||
      (o.type === 'put' && !((o as { value?: unknown }).value instanceof Uint8Array))) {
      throw new InvalidStoreInputError(`\`with\` operation ${i} is not a put or del of bytes`)
    }
    if (o.key.byteLength >= own.byteLength && own.every((b, j) => o.key![j] === b)) {
      throw new InvalidStoreInputError(`\`with\` operation ${i} writes in the log store's own key space`)
    }
  }
  return ops as readonly BatchOp[]
}

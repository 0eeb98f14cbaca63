/**
 * Test vectors of Weft format version 1 (docs/FORMAT.md), computed from fixed inputs. Version 1 is
 * read-only now: its records are sealed here with the `_sealRecordV1` test hook, as Weft v1 did.
 *
 *   npx tsx test/vectors/generate.ts          # rewrites test/vectors/format-v1.json
 *
 * `test/core/vectors.test.ts` recomputes the outputs from the inputs stored in the JSON and
 * requires byte-exact equality, so a format change cannot go unnoticed: changing the format means
 * a new version, and regenerating these vectors is a deliberate act.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as dagCbor from '@ipld/dag-cbor'
import { bases } from 'multiformats/basics'
import type { CID } from 'multiformats/cid'
import {
  encodeHLC, fromHex, logIDFromPublicKey, logIDToBytes, openNode, privateKeyFromSeed, privateKeyToBytes,
  publicKeyToBytes, recordSigningPayload, threadIDFromBytes, threadIDToBytes, threadKeyFromBytes,
  threadKeyToBytes, threadKeyToString, serviceKeyOnly, toHex, ThreadVariant
} from '../../src/core/index.js'
import { _sealRecordV1 } from '../../src/core/record.js'
import type { Block, HLC, PrivateKey, RandomSource, ReadableThreadKey } from '../../src/core/index.js'

export const seq = (start: number, n: number): string => toHex(Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff))

export interface RecordInput {
  /** The body value (JSON here; dag-cbor on the wire). */
  body: unknown
  time: HLC
  /** Which key is the author: the log key itself, or the separate author key. */
  author: 'log' | 'author'
  /** Index of the previous record in `records`, or null for the log's first record. */
  prev: number | null
  bodyKey: string
  bodyNonce: string
  headerNonce: string
  recordNonce: string
}

export interface VectorInputs {
  threadIDRandom: string
  serviceKey: string
  readKey: string
  logKeySeed: string
  authorKeySeed: string
  records: RecordInput[]
  hlc: HLC[]
}

/** The fixed inputs. Changing them changes every output: do it only with a format version bump. */
export const INPUTS: VectorInputs = {
  threadIDRandom: seq(0x00, 32),
  serviceKey: seq(0x40, 32),
  readKey: seq(0x60, 32),
  logKeySeed: seq(0x80, 32),
  authorKeySeed: seq(0xa0, 32),
  records: [
    {
      body: { _id: 'todo-1', title: 'Buy milk', done: false, n: 42, price: 1.5, tags: ['a', 'b'], note: null },
      time: { wall: 1_700_000_000_000, counter: 0 },
      author: 'log',
      prev: null,
      bodyKey: seq(0xc0, 32),
      bodyNonce: seq(0xe0, 12),
      headerNonce: seq(0xf0, 12),
      recordNonce: seq(0x10, 12)
    },
    {
      body: { _id: 'todo-1', done: true, nested: { list: [1, -1, 2 ** 40], text: 'é✓' } },
      time: { wall: 1_700_000_000_000, counter: 1 },
      author: 'author',
      prev: 0,
      bodyKey: seq(0x20, 32),
      bodyNonce: seq(0x30, 12),
      headerNonce: seq(0x50, 12),
      recordNonce: seq(0x70, 12)
    }
  ],
  hlc: [{ wall: 0, counter: 0 }, { wall: 1_700_000_000_000, counter: 7 }, { wall: 1_700_000_000_123, counter: 4_294_967_295 }]
}

export function fixedRandom(queue: string[]): RandomSource {
  return (n) => {
    const next = queue.shift()
    if (next === undefined) throw new Error('vector random source exhausted')
    const bytes = fromHex(next)
    if (bytes.byteLength !== n) throw new Error(`vector random source: asked for ${n} bytes, have ${bytes.byteLength}`)
    return bytes
  }
}

export const blockJSON = (b: Block): { cid: string; bytes: string } => ({ cid: b.cid.toString(), bytes: toHex(b.bytes) })

export async function keyJSON(key: PrivateKey): Promise<Record<string, string>> {
  const logID = logIDFromPublicKey(key.publicKey)
  return {
    publicKey: toHex(key.publicKey.raw),
    publicKeyMarshalled: toHex(publicKeyToBytes(key.publicKey)),
    privateKeyMarshalled: toHex(privateKeyToBytes(key)),
    identity: key.publicKey.toString(),
    logID,
    logIDBytes: toHex(logIDToBytes(logID))
  }
}

/** Compute every output from the inputs. */
export async function computeVectors(inputs: VectorInputs): Promise<Record<string, unknown>> {
  const idBytes = Uint8Array.from([0x01, ThreadVariant.Raw, ...fromHex(inputs.threadIDRandom)])
  const threadID = threadIDFromBytes(idBytes)
  const acID = threadIDFromBytes(Uint8Array.from([0x01, ThreadVariant.AccessControlled, ...fromHex(inputs.threadIDRandom)]))
  const threadKey = threadKeyFromBytes(fromHex(inputs.serviceKey + inputs.readKey)) as ReadableThreadKey
  const logKey = await privateKeyFromSeed(fromHex(inputs.logKeySeed))
  const authorKey = await privateKeyFromSeed(fromHex(inputs.authorKeySeed))

  const cids: CID[] = []
  const records = []
  for (const r of inputs.records) {
    const prev = r.prev === null ? null : cids[r.prev]
    if (prev === undefined) throw new Error('record input refers to a later record')
    const author = r.author === 'log' ? logKey.publicKey : authorKey.publicKey
    const blocks = await _sealRecordV1({
      body: r.body,
      threadKey,
      logKey,
      author,
      prev,
      time: r.time,
      random: fixedRandom([r.bodyKey, r.bodyNonce, r.headerNonce, r.recordNonce])
    })
    cids.push(blocks.record.cid)
    const recordPlain = await openNode(blocks.record, threadKey.service)
    const { sig } = recordPlain as { sig: Uint8Array }
    records.push({
      body: { plaintext: toHex(dagCbor.encode(r.body)), ...blockJSON(blocks.body) },
      header: { plaintext: toHex(dagCbor.encode({ key: fromHex(r.bodyKey), time: encodeHLC(r.time) })), ...blockJSON(blocks.header) },
      event: blockJSON(blocks.event),
      signingPayload: toHex(recordSigningPayload({ version: 1, block: blocks.event.cid, pubKey: publicKeyToBytes(author), ...(prev === null ? {} : { prev }) })),
      sig: toHex(sig),
      record: { plaintext: toHex(dagCbor.encode(recordPlain)), ...blockJSON(blocks.record) }
    })
  }

  return {
    threadID: {
      bytes: toHex(threadIDToBytes(threadID)),
      string: threadID,
      base58btc: bases.base58btc.encode(idBytes),
      base36: bases.base36.encode(idBytes),
      accessControlled: acID
    },
    threadKey: {
      bytes: toHex(threadKeyToBytes(threadKey)),
      string: threadKeyToString(threadKey),
      serviceOnlyString: threadKeyToString(serviceKeyOnly(threadKey))
    },
    logKey: await keyJSON(logKey),
    authorKey: await keyJSON(authorKey),
    hlc: inputs.hlc.map((t) => ({ time: t, cbor: toHex(dagCbor.encode(encodeHLC(t))) })),
    records
  }
}

export async function buildVectorFile(): Promise<Record<string, unknown>> {
  return {
    format: 'weft',
    version: 1,
    description: 'Test vectors of Weft format version 1 (docs/FORMAT.md). Bytes are lower-case hex; CIDs are base32 strings. Regenerate with `npx tsx test/vectors/generate.ts` only together with a format version change.',
    inputs: INPUTS,
    outputs: await computeVectors(INPUTS)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('./format-v1.json', import.meta.url))
  writeFileSync(file, JSON.stringify(await buildVectorFile(), null, 2) + '\n')
  console.log(`wrote ${file}`)
}

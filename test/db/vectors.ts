/**
 * Test vectors of the DB's format version 2 (docs/DB.md), computed from fixed inputs:
 *
 *   npx tsx test/db/vectors.ts          # rewrites test/db/db-format-v2.json
 *
 * `test/db/format.test.ts` recomputes the outputs from the inputs stored in the JSON and requires
 * exact equality: a thread ID that commits to its owner, the body of an event (its ops text and
 * dag-cbor bytes), event keys, and where records of one log are placed in the order.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as dagCbor from '@ipld/dag-cbor'
import { fromHex, toHex } from '../../src/core/bytes.js'
import type { HLC } from '../../src/core/hlc.js'
import { privateKeyFromSeed, publicKeyToBytes } from '../../src/core/identity.js'
import type { LogID, ThreadID } from '../../src/core/types.js'
import { admit } from '../../src/db/admit.js'
import { EVENT_FORMAT_VERSION, parseOps, toBodies } from '../../src/db/event.js'
import { committedThreadID } from '../../src/db/governance.js'
import { encodeEventKey } from '../../src/db/keys.js'

export interface DBVectorInputs {
  /** Seed of the owner's Ed25519 key. */
  ownerSeed: string
  /** Seed of a second identity (an added owner, a writer). */
  otherSeed: string
  /** The genesis salt (16 bytes). */
  salt: string
  /** Ops other than the genesis, as JSON (`$owner` and `$other` stand for the identities). */
  ops: unknown[]
  /** Event keys to encode. */
  keys: Array<{ time: HLC; log: string; counter: number }>
  /** Records of one log, in counter order: a time, or null for a record that could not be read. */
  admission: Array<{ counter: number; time: HLC | null }>
}

export const DB_INPUTS: DBVectorInputs = {
  ownerSeed: '11'.repeat(32),
  otherSeed: '22'.repeat(32),
  salt: '000102030405060708090a0b0c0d0e0f',
  ops: [
    { t: 'newCollection', c: 'Notes', config: { name: 'Notes', schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' } } }, indexes: [{ path: 'text', unique: false }], writeValidator: '', readFilter: '' } },
    { t: 'owners', add: ['$other'] },
    { t: 'owners', remove: ['$owner'] },
    { t: 'writers', set: ['$other', '$owner'] },
    { t: 'writers', set: null },
    { t: 'create', c: 'Notes', id: 'n1', doc: { text: 'héllo 😀', _id: 'n1', constructor: { prototype: 1 } } },
    { t: 'save', c: 'Notes', id: 'n1', patch: { text: null, tags: ['a', 'b'] } },
    { t: 'delete', c: 'Notes', id: 'n1' }
  ],
  keys: [
    { time: { wall: 1_700_000_000_000, counter: 0 }, log: '12D3KooWA', counter: 1 },
    { time: { wall: 1_700_000_000_000, counter: 1 }, log: '12D3KooWA', counter: 2 },
    { time: { wall: 1_700_000_000_000, counter: 1 }, log: '12D3KooWB', counter: 1 }
  ],
  admission: [
    { counter: 1, time: { wall: 1000, counter: 0 } },
    { counter: 2, time: null },
    { counter: 3, time: { wall: 999, counter: 5 } },
    { counter: 4, time: { wall: 1000, counter: 0 } },
    { counter: 5, time: { wall: 1000, counter: 1 } }
  ]
}

export async function computeDBVectors(inputs: DBVectorInputs): Promise<Record<string, unknown>> {
  const owner = await privateKeyFromSeed(fromHex(inputs.ownerSeed))
  const other = await privateKeyFromSeed(fromHex(inputs.otherSeed))
  const ownerId = owner.publicKey.toString()
  const otherId = other.publicKey.toString()
  const { id, salt } = committedThreadID(publicKeyToBytes(owner.publicKey), fromHex(inputs.salt))
  const substituted = JSON.parse(JSON.stringify(inputs.ops).replaceAll('"$owner"', JSON.stringify(ownerId)).replaceAll('"$other"', JSON.stringify(otherId))) as unknown[]
  const ops = parseOps(JSON.stringify([{ t: 'genesis', owner: ownerId, salt }, ...substituted]), EVENT_FORMAT_VERSION)
  const [body] = toBodies(ops, Infinity, () => 'unused')
  const thread = id as ThreadID
  const log = 'logA' as LogID
  const admitted = admit({
    logs: new Map(), frozen: new Map(), held: new Map(), gov: { mode: 'committed', commitment: undefined }, ownLog: undefined, now: () => 0, maxClockDriftMs: Infinity
  }, inputs.admission.map((r) => r.time === null
    ? { thread, log, counter: r.counter, error: { name: 'DecryptionError', message: 'unreadable' } }
    : { thread, log, counter: r.counter, time: r.time, body: null }))
  return {
    ownerIdentity: ownerId,
    ownerPublicKey: toHex(publicKeyToBytes(owner.publicKey)),
    otherIdentity: otherId,
    threadID: id,
    bodyOps: body!.ops,
    bodyCbor: toHex(dagCbor.encode(body)),
    eventKeys: inputs.keys.map((k) => toHex(encodeEventKey(k.time, k.log as LogID, k.counter))),
    admission: admitted.fresh.map((p) => ({ counter: p.counter, orderTime: p.time, rejected: p.fixed?.name ?? null }))
  }
}

export async function buildDBVectorFile(): Promise<Record<string, unknown>> {
  return {
    format: 'weft-db',
    version: EVENT_FORMAT_VERSION,
    description: 'Test vectors of the DB format version 2 (docs/DB.md): a thread ID that commits to its owner, an event body, event keys, order times. Bytes are lower-case hex. Regenerate with `npx tsx test/db/vectors.ts` only together with a format version change.',
    inputs: DB_INPUTS,
    outputs: await computeDBVectors(DB_INPUTS)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('./db-format-v2.json', import.meta.url))
  writeFileSync(file, JSON.stringify(await buildDBVectorFile(), null, 2) + '\n')
  console.log(`wrote ${file}`)
}

/**
 * Format version 1 is pinned by test/vectors/format-v1.json: everything is recomputed from the
 * inputs stored there and must match byte for byte. Version 1 is read-only now: its self-authored
 * record still opens, and its record naming another author (which v1 could not prove) is refused. The vector bytes are also checked with
 * independent implementations (node:crypto AES-GCM, @noble/ed25519, libp2p key marshalling and
 * peer IDs, multiformats hashing) so the vectors are not merely self-consistent.
 */
import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import * as ed from '@noble/ed25519'
import { generateKeyPairFromSeed, privateKeyToProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { computeVectors } from '../vectors/generate.js'
import type { VectorInputs } from '../vectors/generate.js'
import {
  fromHex, toHex, openRecord, openRecordEnvelope, parseThreadID, parseThreadKey, threadKeyToBytes, parseIdentity, parseLogID,
  logIDToPublicKey, decodeHLC
} from '../../src/core/index.js'
import type { CID as CIDType } from 'multiformats/cid'
import { blocksMatchCIDs, gcmOpen, toBlocks } from './vector-helpers.js'
import type { KeyVector, RecordVector } from './vector-helpers.js'

interface Vectors {
  version: number
  inputs: VectorInputs
  outputs: {
    threadID: { bytes: string; string: string; base58btc: string; base36: string; accessControlled: string }
    threadKey: { bytes: string; string: string; serviceOnlyString: string }
    logKey: KeyVector
    authorKey: KeyVector
    hlc: Array<{ time: { wall: number; counter: number }; cbor: string }>
    records: RecordVector[]
  }
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/format-v1.json', import.meta.url), 'utf8')) as Vectors
const { inputs, outputs } = vectors

describe('format v1 test vectors', () => {
  it('are version 1', () => {
    expect(vectors.version).toBe(1)
  })

  it('are reproduced byte for byte from their inputs', async () => {
    const recomputed = JSON.parse(JSON.stringify(await computeVectors(inputs))) as unknown
    expect(recomputed).toEqual(outputs)
  })

  it('thread ID: bytes are 01 55 || random, strings parse back', () => {
    expect(outputs.threadID.bytes).toBe('0155' + inputs.threadIDRandom)
    expect(outputs.threadID.string.startsWith('bafk')).toBe(true)
    expect(outputs.threadID.accessControlled.startsWith('bafy')).toBe(true)
    expect(parseThreadID(outputs.threadID.base58btc)).toBe(outputs.threadID.string)
    expect(parseThreadID(outputs.threadID.base36)).toBe(outputs.threadID.string)
  })

  it('thread key: bytes are service || read, strings parse back', () => {
    expect(outputs.threadKey.bytes).toBe(inputs.serviceKey + inputs.readKey)
    expect(toHex(threadKeyToBytes(parseThreadKey(outputs.threadKey.string)))).toBe(outputs.threadKey.bytes)
    expect(toHex(threadKeyToBytes(parseThreadKey(outputs.threadKey.serviceOnlyString)))).toBe(inputs.serviceKey)
  })

  it.each(['logKey', 'authorKey'] as const)('%s: marshalling, identity and log ID agree with libp2p', async (which) => {
    const v = outputs[which]
    const lib = await generateKeyPairFromSeed('Ed25519', fromHex(which === 'logKey' ? inputs.logKeySeed : inputs.authorKeySeed))
    expect(toHex(lib.publicKey.raw)).toBe(v.publicKey)
    expect(toHex(publicKeyToProtobuf(lib.publicKey))).toBe(v.publicKeyMarshalled)
    expect(toHex(privateKeyToProtobuf(lib))).toBe(v.privateKeyMarshalled)
    expect(v.identity.startsWith('bbaarei')).toBe(true)
    expect(toHex(parseIdentity(v.identity).raw)).toBe(v.publicKey)
    expect(peerIdFromPublicKey(lib.publicKey).toString()).toBe(v.logID)
    expect(toHex(peerIdFromPublicKey(lib.publicKey).toMultihash().bytes)).toBe(v.logIDBytes)
    expect(parseLogID(v.logID)).toBe(v.logID)
    expect(toHex(logIDToPublicKey(v.logID).raw)).toBe(v.publicKey)
  })

  it('HLC: [wall, counter] as a dag-cbor array of uints', () => {
    for (const h of outputs.hlc) {
      expect(decodeHLC(dagCbor.decode(fromHex(h.cbor)))).toEqual(h.time)
    }
    expect(outputs.hlc[1]!.cbor).toBe('821b0000018bcfe5680007')
  })

  describe.each(outputs.records.map((r, i) => [i, r] as const))('record %i', (i, r) => {
    const input = inputs.records[i]!

    it('every block hashes to its CIDv1 dag-cbor sha2-256', async () => {
      expect(await blocksMatchCIDs(r)).toBe(true)
    })

    it('body: decrypts with the body key (node:crypto) to the input value', () => {
      const plain = gcmOpen(input.bodyKey, r.body.bytes)
      expect(toHex(plain)).toBe(r.body.plaintext)
      expect(dagCbor.decode(plain)).toEqual(input.body)
      expect(toHex((dagCbor.decode(fromHex(r.body.bytes)) as Uint8Array).subarray(0, 12))).toBe(input.bodyNonce)
    })

    it('header: decrypts with the read key to { key, time }', () => {
      const plain = gcmOpen(inputs.readKey, r.header.bytes)
      expect(toHex(plain)).toBe(r.header.plaintext)
      const header = dagCbor.decode(plain) as { key: Uint8Array; time: unknown }
      expect(Object.keys(header).sort()).toEqual(['key', 'time'])
      expect(toHex(header.key)).toBe(input.bodyKey)
      expect(header.time).toEqual([input.time.wall, input.time.counter])
    })

    it('event: plaintext { body, header } links', () => {
      const event = dagCbor.decode(fromHex(r.event.bytes)) as { body: CIDType; header: CIDType }
      expect(Object.keys(event).sort()).toEqual(['body', 'header'])
      expect(event.body.toString()).toBe(r.body.cid)
      expect(event.header.toString()).toBe(r.header.cid)
    })

    it('record: decrypts with the service key and its signature verifies (noble) over the documented payload', async () => {
      const plain = gcmOpen(inputs.serviceKey, r.record.bytes)
      expect(toHex(plain)).toBe(r.record.plaintext)
      const node = dagCbor.decode(plain) as { block: CIDType; sig: Uint8Array; pubKey: Uint8Array; prev?: CIDType }
      expect(Object.keys(node).sort()).toEqual(input.prev === null ? ['block', 'pubKey', 'sig'] : ['block', 'prev', 'pubKey', 'sig'])
      expect(node.block.toString()).toBe(r.event.cid)
      const author = input.author === 'log' ? outputs.logKey : outputs.authorKey
      expect(toHex(node.pubKey)).toBe(author.publicKeyMarshalled)
      const prevBytes = input.prev === null ? '' : toHex(CID.parse(outputs.records[input.prev]!.record.cid).bytes)
      expect(node.prev?.toString()).toBe(input.prev === null ? undefined : outputs.records[input.prev]!.record.cid)
      const payload = toHex(new TextEncoder().encode('weft-record-v1')) + toHex(CID.parse(r.event.cid).bytes) + prevBytes + author.publicKeyMarshalled
      expect(r.signingPayload).toBe(payload)
      expect(toHex(node.sig)).toBe(r.sig)
      expect(await ed.verifyAsync(node.sig, fromHex(payload), fromHex(outputs.logKey.publicKey), { zip215: false })).toBe(true)
    })
  })

  it('the self-authored vector record still opens, as version 1; the one naming another author is refused with UnprovenAuthorError', async () => {
    const options = { serviceKey: fromHex(inputs.serviceKey), readKey: fromHex(inputs.readKey), logPublicKey: logIDToPublicKey(outputs.logKey.logID) }
    const [first, second] = outputs.records as [RecordVector, RecordVector]
    expect(inputs.records.map((r) => r.author)).toEqual(['log', 'author'])
    const opened = await openRecord(toBlocks(first), { ...options, expectedPrev: null })
    expect(opened.version).toBe(1)
    expect(opened.certificate).toBeUndefined()
    expect(opened.event?.body).toEqual(inputs.records[0]!.body)
    expect(opened.event?.time).toEqual(inputs.records[0]!.time)
    expect(opened.author.toString()).toBe(outputs.logKey.identity)
    await expect(openRecord(toBlocks(second), { ...options, expectedPrev: opened.cid })).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    await expect(openRecordEnvelope(toBlocks(second), options)).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
  })
})

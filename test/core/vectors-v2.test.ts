/**
 * Record format version 2 and identity tokens are pinned by test/vectors/format-v2.json:
 * everything is recomputed from the inputs stored there and must match byte for byte. The bytes
 * are also checked with independent implementations (node:crypto AES-GCM, @noble/ed25519, CBOR and
 * payloads assembled by hand from docs/FORMAT.md, multiformats hashing, Node's base64url).
 */
import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import * as ed from '@noble/ed25519'
import { CID } from 'multiformats/cid'
import { computeVectorsV2 } from '../vectors/generate-v2.js'
import type { VectorInputsV2 } from '../vectors/generate-v2.js'
import {
  createTokenIssuer, fromHex, generateKeyPair, logIDToPublicKey, openRecord, openRecordEnvelope, privateKeyFromSeed, toHex
} from '../../src/core/index.js'
import type { CID as CIDType } from 'multiformats/cid'
import { blocksMatchCIDs, gcmOpen, toBlocks } from './vector-helpers.js'
import type { KeyVector, RecordVector } from './vector-helpers.js'

interface CertificateVector { nonce: string; payload: string; signature: string; bytes: string }
interface Vectors {
  version: number
  inputs: VectorInputsV2
  outputs: {
    logKey: KeyVector
    authorKey: KeyVector
    records: Array<RecordVector & { certificate?: CertificateVector }>
    token: { claims: string; signingInput: string; sig: string; token: string }
    challenge: { message: string; signature: string }
  }
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/format-v2.json', import.meta.url), 'utf8')) as Vectors
const { inputs, outputs } = vectors
const ascii = (s: string): string => toHex(new TextEncoder().encode(s))

describe('format v2 test vectors', () => {
  it('are version 2, with a self-authored record and a delegated one', () => {
    expect(vectors.version).toBe(2)
    expect(inputs.records.map((r) => r.author)).toEqual(['log', 'author'])
    expect(outputs.records[0]!.certificate).toBeUndefined()
    expect(outputs.records[1]!.certificate).toBeDefined()
  })

  it('are reproduced byte for byte from their inputs', async () => {
    const recomputed = JSON.parse(JSON.stringify(await computeVectorsV2(inputs))) as unknown
    expect(recomputed).toEqual(outputs)
  })

  describe.each(outputs.records.map((r, i) => [i, r] as const))('record %i', (i, r) => {
    const input = inputs.records[i]!
    const author = input.author === 'log' ? outputs.logKey : outputs.authorKey

    it('every block hashes to its CIDv1 dag-cbor sha2-256', async () => {
      expect(await blocksMatchCIDs(r)).toBe(true)
    })

    it('body and header decrypt (node:crypto) to the input value and { key, time }', () => {
      const body = gcmOpen(input.bodyKey, r.body.bytes)
      expect(toHex(body)).toBe(r.body.plaintext)
      expect(dagCbor.decode(body)).toEqual(input.body)
      const header = gcmOpen(inputs.readKey, r.header.bytes)
      expect(toHex(header)).toBe(r.header.plaintext)
      expect(dagCbor.decode(header)).toEqual({ key: fromHex(input.bodyKey), time: [input.time.wall, input.time.counter] })
      const event = dagCbor.decode(fromHex(r.event.bytes)) as { body: CIDType; header: CIDType }
      expect([event.body.toString(), event.header.toString()]).toEqual([r.body.cid, r.header.cid])
    })

    it('record node: v 2, the documented fields, and a log signature (noble) over the documented payload', async () => {
      const plain = gcmOpen(inputs.serviceKey, r.record.bytes)
      expect(toHex(plain)).toBe(r.record.plaintext)
      const node = dagCbor.decode(plain) as { v: number; block: CIDType; sig: Uint8Array; pubKey: Uint8Array; prev?: CIDType; cert?: unknown }
      const fields = ['block', 'pubKey', 'sig', 'v', ...(input.prev === null ? [] : ['prev']), ...(r.certificate === undefined ? [] : ['cert'])]
      expect(Object.keys(node).sort()).toEqual(fields.sort())
      expect(node.v).toBe(2)
      // dag-cbor's canonical key order (length first, then bytes): v, sig, cert, prev, block, pubKey.
      expect(r.record.plaintext.startsWith(`a${fields.length}6176` + '02' + '63736967' + '5840')).toBe(true)
      expect(node.block.toString()).toBe(r.event.cid)
      expect(toHex(node.pubKey)).toBe(author.publicKeyMarshalled)
      const prev = input.prev === null ? '' : toHex(CID.parse(outputs.records[input.prev]!.record.cid).bytes)
      expect(node.prev?.toString()).toBe(input.prev === null ? undefined : outputs.records[input.prev]!.record.cid)
      const certBytes = r.certificate === undefined ? '' : r.certificate.bytes
      const payload = ascii('weft-record-v2') + toHex(CID.parse(r.event.cid).bytes) + prev + author.publicKeyMarshalled + certBytes
      expect(r.signingPayload).toBe(payload)
      expect(toHex(node.sig)).toBe(r.sig)
      expect(await ed.verifyAsync(node.sig, fromHex(payload), fromHex(outputs.logKey.publicKey), { zip215: false })).toBe(true)
    })
  })

  it('certificate: { n, s } in canonical CBOR, s the author\'s signature (noble) over "weft-author-v1" || log key || n', async () => {
    const cert = outputs.records[1]!.certificate!
    expect(cert.nonce).toBe(inputs.certificateNonce)
    expect(cert.payload).toBe(ascii('weft-author-v1') + outputs.logKey.publicKeyMarshalled + cert.nonce)
    // a2 (map of 2) · 61 6e "n" · 50 (16 bytes) nonce · 61 73 "s" · 58 40 (64 bytes) signature
    expect(cert.bytes).toBe('a2' + '616e' + '50' + cert.nonce + '6173' + '5840' + cert.signature)
    expect(await ed.verifyAsync(fromHex(cert.signature), fromHex(cert.payload), fromHex(outputs.authorKey.publicKey), { zip215: false })).toBe(true)
    const node = dagCbor.decode(gcmOpen(inputs.serviceKey, outputs.records[1]!.record.bytes)) as { cert: unknown }
    expect(toHex(dagCbor.encode(node.cert))).toBe(cert.bytes)
  })

  it('the vector records open as a log: the log key, then the author proven by its certificate', async () => {
    const options = { serviceKey: fromHex(inputs.serviceKey), readKey: fromHex(inputs.readKey), logPublicKey: logIDToPublicKey(outputs.logKey.logID) }
    let prev: CIDType | null = null
    for (const [i, r] of outputs.records.entries()) {
      const opened = await openRecord(toBlocks(r), { ...options, expectedPrev: prev })
      expect(opened.version).toBe(2)
      expect(opened.event?.body).toEqual(inputs.records[i]!.body)
      expect(opened.event?.time).toEqual(inputs.records[i]!.time)
      expect(opened.author.toString()).toBe(inputs.records[i]!.author === 'log' ? outputs.logKey.identity : outputs.authorKey.identity)
      expect(opened.certificate === undefined ? undefined : toHex(opened.certificate.signature)).toBe(r.certificate?.signature)
      const { readKey: _r, ...relay } = options
      expect((await openRecordEnvelope(toBlocks(r), relay)).author.toString()).toBe(opened.author.toString())
      prev = opened.cid
    }
  })

  it('token: base64url(claims) "." base64url(sig), the issuer\'s signature (noble) over "weft/token/1\\n" || claims', async () => {
    const { token } = outputs
    const iat = inputs.token.iat
    expect(token.claims).toBe(JSON.stringify({ sub: outputs.authorKey.identity, iss: outputs.logKey.logID, iat, exp: iat + inputs.token.ttlMs }))
    expect(token.signingInput).toBe(ascii('weft/token/1\n') + ascii(token.claims))
    expect(token.token).toBe(`${Buffer.from(token.claims).toString('base64url')}.${Buffer.from(fromHex(token.sig)).toString('base64url')}`)
    expect(await ed.verifyAsync(fromHex(token.sig), fromHex(token.signingInput), fromHex(outputs.logKey.publicKey), { zip215: false })).toBe(true)
    const issuer = createTokenIssuer({ identity: await privateKeyFromSeed(fromHex(inputs.logKeySeed)) })
    expect(await issuer.verify(token.token, { now: iat })).toEqual(JSON.parse(token.claims))
    const stranger = createTokenIssuer({ identity: await generateKeyPair() })
    await expect(stranger.verify(token.token, { now: iat })).rejects.toMatchObject({ name: 'InvalidTokenError' })
  })

  it('token challenge: the identity signs "weft/token-challenge/1\\n" || challenge', async () => {
    expect(outputs.challenge.message).toBe(ascii('weft/token-challenge/1\n') + inputs.challenge)
    expect(await ed.verifyAsync(fromHex(outputs.challenge.signature), fromHex(outputs.challenge.message), fromHex(outputs.authorKey.publicKey), { zip215: false })).toBe(true)
  })
})

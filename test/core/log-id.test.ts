import { describe, it, expect } from 'vitest'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { publicKeyFromRaw as libp2pPublicKeyFromRaw } from '@libp2p/crypto/keys'
import { base58btc } from 'multiformats/bases/base58'
import { bases } from 'multiformats/basics'
import {
  generateKeyPair, isLogID, logIDFromBytes, logIDFromPublicKey, logIDToBytes, logIDToPublicKey, parseLogID, toHex
} from '../../src/core/index.js'

describe('log IDs', () => {
  it('equal the libp2p peer ID of the log public key (12D3KooW…)', async () => {
    const key = await generateKeyPair()
    const id = logIDFromPublicKey(key.publicKey)
    expect(id.startsWith('12D3KooW')).toBe(true)
    expect(id).toBe(peerIdFromPublicKey(libp2pPublicKeyFromRaw(key.publicKey.raw)).toString())
    expect(isLogID(id)).toBe(true)
  })

  it('give back the public key they embed', async () => {
    const key = await generateKeyPair()
    const id = logIDFromPublicKey(key.publicKey)
    expect(logIDToPublicKey(id).equals(key.publicKey)).toBe(true)
    expect(parseLogID(id)).toBe(id)
  })

  it('round-trip through the 38-byte identity multihash', async () => {
    const key = await generateKeyPair()
    const id = logIDFromPublicKey(key.publicKey)
    const bytes = logIDToBytes(id)
    expect(bytes.byteLength).toBe(38)
    expect(toHex(bytes.subarray(0, 6))).toBe('002408011220')
    expect(bytes).toEqual(peerIdFromString(id).toMultihash().bytes)
    expect(logIDFromBytes(bytes)).toBe(id)
  })

  it('parse the CID form of a peer ID into the canonical form', async () => {
    const key = await generateKeyPair()
    const id = logIDFromPublicKey(key.publicKey)
    const cid = peerIdFromString(id).toCID()
    expect(parseLogID(cid.toString())).toBe(id)
    expect(parseLogID(cid.toString(bases.base36))).toBe(id)
    expect(isLogID(cid.toString())).toBe(false)
  })

  it.each([
    ['garbage', 'hello'],
    ['an empty string', ''],
    ['invalid base58', '12D3KooW0OIl'],
    ['a sha2-256 peer ID (RSA style)', 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'],
    ['a secp256k1 peer ID', '16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY'],
    ['a dag-cbor CID', 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'],
    ['base58 of a truncated multihash', base58btc.baseEncode(Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20, 1, 2))]
  ])('reject %s with InvalidLogIDError', (_, input) => {
    expect(() => parseLogID(input)).toThrow(expect.objectContaining({ name: 'InvalidLogIDError' }))
    expect(() => logIDToPublicKey(input)).toThrow(expect.objectContaining({ name: 'InvalidLogIDError' }))
    expect(isLogID(input)).toBe(false)
  })

  it('reject bytes that are not an Ed25519 identity multihash', () => {
    expect(() => logIDFromBytes(new Uint8Array(38))).toThrow(expect.objectContaining({ name: 'InvalidLogIDError' }))
    expect(() => logIDFromBytes(Uint8Array.of(0x00, 0x24))).toThrow(expect.objectContaining({ name: 'InvalidLogIDError' }))
  })

  it('reject huge strings with OversizedInputError', () => {
    expect(() => parseLogID('1'.repeat(10_000))).toThrow(expect.objectContaining({ name: 'OversizedInputError' }))
  })
})

import { describe, it, expect } from 'vitest'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  aesGcmDecrypt, aesGcmEncrypt, blockOf, cidOf, decodeBlock, encodeBlock, isBlockCID, isHashedBlock, openNode, sealNode, verifyBlock, randomBytes, equalBytes
} from '../../src/core/index.js'

const key = new Uint8Array(32).fill(7)
const nonce = new Uint8Array(12).fill(9)

describe('blocks', () => {
  it('encode dag-cbor with a CIDv1 dag-cbor sha2-256 address', async () => {
    const value = { b: 1, a: [true, null, 'x'], c: new Uint8Array([1, 2]) }
    const block = await encodeBlock(value)
    expect(block.bytes).toEqual(dagCbor.encode(value))
    expect(block.cid.equals(CID.createV1(0x71, await sha256.digest(block.bytes)))).toBe(true)
    expect(block.cid.toString().startsWith('bafyrei')).toBe(true)
    expect(decodeBlock(block.bytes, 1000)).toEqual(value)
    await verifyBlock(block)
  })

  it('refuse values outside the IPLD data model with InvalidBlockError', async () => {
    await expect(encodeBlock({ a: undefined })).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(encodeBlock({ a: Number.NaN })).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(encodeBlock(() => 1)).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })

  it('enforce size bounds before decoding', async () => {
    const block = await encodeBlock({ big: 'x'.repeat(200) })
    expect(() => decodeBlock(block.bytes, 100)).toThrow(expect.objectContaining({ name: 'OversizedInputError' }))
    await expect(encodeBlock({ big: 'x'.repeat(200) }, 100)).rejects.toMatchObject({ name: 'OversizedInputError' })
    await expect(verifyBlock(block, 100)).rejects.toMatchObject({ name: 'OversizedInputError' })
  })

  it.each([
    ['truncated dag-cbor', Uint8Array.of(0xa1, 0x61)],
    ['trailing bytes', Uint8Array.of(0x01, 0x02)],
    ['a non-canonical integer', Uint8Array.of(0x18, 0x01)],
    ['an indefinite-length array', Uint8Array.of(0x9f, 0x01, 0xff)],
    ['a duplicate map key', Uint8Array.of(0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02)],
    ['a tag other than 42', Uint8Array.of(0xc1, 0x01)],
    ['no bytes', new Uint8Array(0)]
  ])('reject %s with InvalidBlockError', (_, bytes) => {
    expect(() => decodeBlock(bytes, 100)).toThrow(expect.objectContaining({ name: 'InvalidBlockError' }))
  })

  it('detect bytes that do not hash to their CID', async () => {
    const block = await encodeBlock({ a: 1 })
    const other = await encodeBlock({ a: 2 })
    await expect(verifyBlock({ cid: block.cid, bytes: other.bytes })).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })

  it('address received bytes once, and still check a block whose CID or bytes were swapped afterwards', async () => {
    const a = await encodeBlock({ a: 1 })
    const b = await encodeBlock({ a: 2 })
    const received = await blockOf(a.bytes)
    expect(received.cid.equals(a.cid)).toBe(true)
    await verifyBlock(received)
    const swappedBytes = await blockOf(a.bytes)
    ;(swappedBytes as { bytes: Uint8Array }).bytes = b.bytes
    await expect(verifyBlock(swappedBytes)).rejects.toMatchObject({ name: 'InvalidBlockError' })
    const swappedCid = await blockOf(a.bytes)
    ;(swappedCid as { cid: CID }).cid = b.cid
    await expect(verifyBlock(swappedCid)).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })

  it('accept only CIDv1 dag-cbor sha2-256 addresses', async () => {
    const block = await encodeBlock({ a: 1 })
    const raw = CID.createV1(0x55, block.cid.multihash)
    const id = CID.createV1(0x71, identity.digest(block.bytes))
    const v0 = CID.parse('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')
    expect(isBlockCID(block.cid)).toBe(true)
    expect(isBlockCID(raw)).toBe(false)
    expect(isBlockCID(id)).toBe(false)
    expect(isBlockCID(v0)).toBe(false)
    expect(isBlockCID('bafy…')).toBe(false)
    await expect(verifyBlock({ cid: raw, bytes: block.bytes })).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(verifyBlock({ cid: id, bytes: block.bytes })).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(verifyBlock({ cid: block.cid, bytes: 'x' as unknown as Uint8Array })).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })
})

describe('AES-256-GCM', () => {
  it('round-trips and appends a 16-byte tag', async () => {
    const data = randomBytes(100)
    const ct = await aesGcmEncrypt(key, nonce, data)
    expect(ct.byteLength).toBe(116)
    expect(await aesGcmDecrypt(key, nonce, ct)).toEqual(data)
  })

  it('fails with DecryptionError on a wrong key, wrong nonce, altered or truncated data', async () => {
    const ct = await aesGcmEncrypt(key, nonce, randomBytes(40))
    await expect(aesGcmDecrypt(new Uint8Array(32), nonce, ct)).rejects.toMatchObject({ name: 'DecryptionError' })
    await expect(aesGcmDecrypt(key, new Uint8Array(12), ct)).rejects.toMatchObject({ name: 'DecryptionError' })
    const altered = ct.slice()
    altered[3]! ^= 0x80
    await expect(aesGcmDecrypt(key, nonce, altered)).rejects.toMatchObject({ name: 'DecryptionError' })
    await expect(aesGcmDecrypt(key, nonce, ct.subarray(0, 10))).rejects.toMatchObject({ name: 'DecryptionError' })
  })

  it('keeps the platform error as the cause of DecryptionError', async () => {
    const ct = await aesGcmEncrypt(key, nonce, randomBytes(40))
    const err = await aesGcmDecrypt(new Uint8Array(32), nonce, ct).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'DecryptionError', code: 'ERR_DECRYPTION' })
    expect((err as Error).cause).toBeInstanceOf(Error)
  })

  it('rejects keys and nonces of the wrong length with InvalidKeyError', async () => {
    await expect(aesGcmEncrypt(new Uint8Array(16), nonce, new Uint8Array(1))).rejects.toMatchObject({ name: 'InvalidKeyError' })
    await expect(aesGcmEncrypt(key, new Uint8Array(16), new Uint8Array(1))).rejects.toMatchObject({ name: 'InvalidKeyError' })
  })
})

describe('encrypted nodes', () => {
  it('are a dag-cbor byte string of nonce || ciphertext || tag', async () => {
    const value = { hello: 'world', n: [1, 2, 3] }
    const block = await sealNode(value, key, nonce)
    const content = dagCbor.decode(block.bytes) as Uint8Array
    expect(content).toBeInstanceOf(Uint8Array)
    expect(block.bytes).toEqual(dagCbor.encode(content))
    expect(content.subarray(0, 12)).toEqual(nonce)
    expect(await aesGcmDecrypt(key, nonce, content.subarray(12))).toEqual(dagCbor.encode(value))
    expect(block.cid.equals(await cidOf(block.bytes))).toBe(true)
    expect(await openNode(block, key)).toEqual(value)
  })

  it.each([0, 1, 23, 24, 255, 256, 65_535, 65_536, 200_000])('encode byte strings canonically around length boundaries (%i-byte plaintext)', async (n) => {
    const value = randomBytes(n)
    const block = await sealNode(value, key, nonce)
    // (byte comparisons through equalBytes: deep equality on large arrays is slow)
    expect(equalBytes(block.bytes, dagCbor.encode(dagCbor.decode(block.bytes) as Uint8Array))).toBe(true)
    expect(equalBytes(await openNode(block, key) as Uint8Array, value)).toBe(true)
  })

  it('fail with DecryptionError under the wrong key', async () => {
    const block = await sealNode({ a: 1 }, key, nonce)
    await expect(openNode(block, new Uint8Array(32).fill(8))).rejects.toMatchObject({ name: 'DecryptionError' })
  })

  it('fail with InvalidBlockError when not a canonical byte string or too short', async () => {
    const block = await sealNode({ a: 1 }, key, nonce)
    const open = async (bytes: Uint8Array): Promise<unknown> => await openNode({ cid: block.cid, bytes }, key)
    await expect(open(dagCbor.encode({ a: 1 }))).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(open(block.bytes.subarray(0, block.bytes.byteLength - 1))).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(open(Uint8Array.of(...block.bytes, 0))).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(open(Uint8Array.of(0x45, 1, 2, 3, 4, 5))).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(open(Uint8Array.of(0x58, 0x05, 1, 2, 3, 4, 5))).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(open(Uint8Array.of(0x5f, 0x41, 0x00, 0xff))).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(open(new Uint8Array(0))).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })

  it('fail with InvalidBlockError when the decrypted plaintext is not dag-cbor', async () => {
    const ct = await aesGcmEncrypt(key, nonce, Uint8Array.of(0xa1, 0x61))
    const bytes = dagCbor.encode(Uint8Array.of(...nonce, ...ct))
    await expect(openNode({ cid: await cidOf(bytes), bytes }, key)).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })

  it('enforce plaintext and block size limits', async () => {
    await expect(sealNode('x'.repeat(100), key, nonce, 50)).rejects.toMatchObject({ name: 'OversizedInputError' })
    const block = await sealNode('x'.repeat(100), key, nonce)
    await expect(openNode(block, key, 50)).rejects.toMatchObject({ name: 'OversizedInputError' })
  })
})

describe('blocks hashed here', () => {
  it('are known by their very CID and bytes: another CID, or the same bytes copied, are hashed again', async () => {
    const sealed = await sealNode({ a: 1 }, new Uint8Array(32).fill(1), new Uint8Array(12).fill(2))
    const encoded = await encodeBlock({ b: 2 })
    const received = await blockOf(encoded.bytes.slice())
    for (const b of [sealed, encoded, received]) {
      expect(isHashedBlock(b)).toBe(true)
      expect(isHashedBlock({ cid: b.cid, bytes: b.bytes })).toBe(true)
      expect(isHashedBlock({ cid: b.cid, bytes: b.bytes.slice() })).toBe(false)
    }
    expect(isHashedBlock({ cid: encoded.cid, bytes: sealed.bytes })).toBe(false)
    await expect(verifyBlock({ cid: encoded.cid, bytes: sealed.bytes })).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })
})

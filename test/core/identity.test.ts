import { describe, it, expect, afterEach } from 'vitest'
import * as ed from '@noble/ed25519'
import {
  privateKeyFromProtobuf, privateKeyToProtobuf, publicKeyFromProtobuf, publicKeyToProtobuf, generateKeyPairFromSeed
} from '@libp2p/crypto/keys'
import { bases } from 'multiformats/basics'
import {
  ed25519Backend, ed25519Sign, ed25519Verify, ed25519PublicKeyFromSeed, generateKeyPair, identityToString, parseIdentity,
  privateKeyFromBytes, privateKeyFromSeed, privateKeyToBytes, publicKeyFromBytes, publicKeyFromRaw, publicKeyToBytes,
  fromHex, toHex
} from '../../src/core/index.js'
import { _setWebCryptoEnabled } from '../../src/core/ed25519.js'

// RFC 8032 §7.1, tests 1 and 3.
const RFC = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
  },
  {
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pub: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'
  }
]

afterEach(() => {
  _setWebCryptoEnabled(undefined)
})

describe('Ed25519 backends', () => {
  it('uses node:crypto Ed25519 in Node (package.json imports #weft/crypto, node condition)', async () => {
    expect(await ed25519Backend()).toBe('node:crypto')
  })

  for (const backend of ['node:crypto', 'noble'] as const) {
    describe(`with ${backend}`, () => {
      const use = (): void => _setWebCryptoEnabled(backend !== 'noble')

      it('matches the RFC 8032 test vectors', async () => {
        use()
        expect(await ed25519Backend()).toBe(backend)
        for (const v of RFC) {
          expect(toHex(await ed25519PublicKeyFromSeed(fromHex(v.seed)))).toBe(v.pub)
          expect(toHex(await ed25519Sign(fromHex(v.seed), fromHex(v.msg)))).toBe(v.sig)
          expect(await ed25519Verify(fromHex(v.pub), fromHex(v.sig), fromHex(v.msg))).toBe(true)
        }
      })

      it('rejects a signature over other data, by another key, or altered', async () => {
        use()
        const key = await generateKeyPair()
        const other = await generateKeyPair()
        const data = new TextEncoder().encode('hello')
        const sig = await key.sign(data)
        expect(sig.byteLength).toBe(64)
        expect(await key.publicKey.verify(data, sig)).toBe(true)
        expect(await key.publicKey.verify(new TextEncoder().encode('hellO'), sig)).toBe(false)
        expect(await other.publicKey.verify(data, sig)).toBe(false)
        const flipped = sig.slice()
        flipped[10]! ^= 1
        expect(await key.publicKey.verify(data, flipped)).toBe(false)
      })

      it('answers false (never throws) for malformed signatures and keys', async () => {
        use()
        const key = await generateKeyPair()
        const data = Uint8Array.of(1, 2, 3)
        const sig = await key.sign(data)
        expect(await key.publicKey.verify(data, sig.subarray(0, 63))).toBe(false)
        expect(await key.publicKey.verify(data, new Uint8Array(64))).toBe(false)
        expect(await ed25519Verify(new Uint8Array(31), sig, data)).toBe(false)
        expect(await ed25519Verify(new Uint8Array(32).fill(0xff), sig, data)).toBe(false)
        // S ≥ L (non-canonical): the order L added to a valid S.
        const L = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')
        const high = sig.slice()
        let carry = 0
        for (let i = 0; i < 32; i++) {
          const v = (high[32 + i] ?? 0) + (L[i] ?? 0) + carry
          high[32 + i] = v & 0xff
          carry = v >> 8
        }
        expect(await key.publicKey.verify(data, high)).toBe(false)
      })
    })
  }

  it('cross-verifies: platform (node:crypto) signatures verify with noble and the other way round', async () => {
    const data = new TextEncoder().encode('cross')
    _setWebCryptoEnabled(true)
    const key = await generateKeyPair()
    const platformSig = await key.sign(data)
    _setWebCryptoEnabled(false)
    const nobleSig = await key.sign(data)
    expect(nobleSig).toEqual(platformSig)
    expect(await key.publicKey.verify(data, platformSig)).toBe(true)
    expect(await ed.verifyAsync(platformSig, data, key.publicKey.raw)).toBe(true)
    _setWebCryptoEnabled(true)
    expect(await key.publicKey.verify(data, await ed.signAsync(data, key.raw))).toBe(true)
  })

  it('rejects a seed of the wrong length with InvalidKeyError', async () => {
    await expect(ed25519Sign(new Uint8Array(31), new Uint8Array(0))).rejects.toMatchObject({ name: 'InvalidKeyError' })
    await expect(privateKeyFromSeed(new Uint8Array(33))).rejects.toMatchObject({ name: 'InvalidKeyError' })
  })
})

describe('identities and key marshalling', () => {
  it('marshals public keys like libp2p (08 01 12 20 …) and back', async () => {
    const key = await generateKeyPair()
    const bytes = publicKeyToBytes(key.publicKey)
    expect(toHex(bytes.subarray(0, 4))).toBe('08011220')
    const lib = publicKeyFromProtobuf(bytes)
    expect(lib.type).toBe('Ed25519')
    expect(lib.raw).toEqual(key.publicKey.raw)
    expect(publicKeyToProtobuf(lib)).toEqual(bytes)
    expect(publicKeyFromBytes(bytes).equals(key.publicKey)).toBe(true)
  })

  it('marshals private keys like libp2p and back', async () => {
    const key = await generateKeyPair()
    const bytes = privateKeyToBytes(key)
    const lib = await generateKeyPairFromSeed('Ed25519', key.raw)
    expect(privateKeyToProtobuf(lib)).toEqual(bytes)
    expect(privateKeyFromProtobuf(bytes).publicKey.raw).toEqual(key.publicKey.raw)
    const back = await privateKeyFromBytes(bytes)
    expect(back.raw).toEqual(key.raw)
    expect(back.publicKey.equals(key.publicKey)).toBe(true)
  })

  it('accepts the legacy 96-byte private key form', async () => {
    const key = await generateKeyPair()
    const legacy = Uint8Array.from([0x08, 0x01, 0x12, 0x60, ...key.raw, ...key.publicKey.raw, ...key.publicKey.raw])
    expect((await privateKeyFromBytes(legacy)).publicKey.equals(key.publicKey)).toBe(true)
  })

  it('rejects a private key whose embedded public key does not match its seed', async () => {
    const a = await generateKeyPair()
    const b = await generateKeyPair()
    const bad = Uint8Array.from([0x08, 0x01, 0x12, 0x40, ...a.raw, ...b.publicKey.raw])
    await expect(privateKeyFromBytes(bad)).rejects.toMatchObject({ name: 'InvalidKeyError' })
  })

  it.each([
    ['a secp256k1 key', Uint8Array.from([0x08, 0x02, 0x12, 0x20, ...new Uint8Array(32)])],
    ['a truncated key', Uint8Array.of(0x08, 0x01, 0x12, 0x20, 1, 2, 3)],
    ['raw bytes without the header', new Uint8Array(36)],
    ['an empty array', new Uint8Array(0)]
  ])('rejects %s as a marshalled public key', (_, bytes) => {
    expect(() => publicKeyFromBytes(bytes)).toThrow(expect.objectContaining({ name: 'InvalidKeyError' }))
  })

  it('rejects malformed private key bytes', async () => {
    await expect(privateKeyFromBytes(new Uint8Array(68))).rejects.toMatchObject({ name: 'InvalidKeyError' })
    await expect(privateKeyFromBytes(Uint8Array.of(0x08, 0x01, 0x12, 0x40))).rejects.toMatchObject({ name: 'InvalidKeyError' })
  })

  it('rejects raw public keys of the wrong length', () => {
    expect(() => publicKeyFromRaw(new Uint8Array(33))).toThrow(expect.objectContaining({ name: 'InvalidKeyError' }))
  })

  it('writes identities as base32 of the marshalled key (bbaarei…) and parses any multibase', async () => {
    const key = await generateKeyPair()
    const id = identityToString(key.publicKey)
    expect(id.startsWith('bbaarei')).toBe(true)
    expect(id).toBe(key.publicKey.toString())
    expect(parseIdentity(id).equals(key.publicKey)).toBe(true)
    expect(parseIdentity(bases.base58btc.encode(publicKeyToBytes(key.publicKey))).equals(key.publicKey)).toBe(true)
  })

  it.each([
    ['garbage', 'not an identity'],
    ['a valid multibase of the wrong bytes', bases.base32.encode(new Uint8Array(36))],
    ['an empty string', '']
  ])('rejects %s as an identity with InvalidIdentityError', (_, input) => {
    expect(() => parseIdentity(input)).toThrow(expect.objectContaining({ name: 'InvalidIdentityError' }))
  })

  it('rejects a huge identity string with OversizedInputError', () => {
    expect(() => parseIdentity('b' + 'a'.repeat(10_000))).toThrow(expect.objectContaining({ name: 'OversizedInputError' }))
  })

  it('copies raw bytes so later changes to the input do not alter the key', () => {
    const raw = fromHex(RFC[0]!.pub)
    const key = publicKeyFromRaw(raw)
    raw.fill(0)
    expect(toHex(key.raw)).toBe(RFC[0]!.pub)
  })

  it('refuses to sign when the signal is already aborted', async () => {
    const key = await generateKeyPair()
    const controller = new AbortController()
    controller.abort()
    await expect(key.sign(new Uint8Array(1), { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
  })
})

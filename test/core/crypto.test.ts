/**
 * The two editions of `#weft/crypto` side by side in Node (which has WebCrypto too): the same
 * interface (checked by the type of `editions`), the same bytes, the same refusals. The browser
 * run of the WebCrypto edition is e2e/core.spec.ts.
 */
import { describe, it, expect } from 'vitest'
import * as ed from '@noble/ed25519'
import * as platform from '#weft/crypto'
import * as nodeEdition from '../../src/core/crypto.node.js'
import * as webEdition from '../../src/core/crypto.js'
import { fromHex, randomBytes, toHex } from '../../src/core/index.js'

/** Both editions must be usable wherever the other is: this annotation type-checks that. */
const editions: ReadonlyArray<readonly [string, typeof webEdition]> = [
  ['webcrypto', webEdition],
  ['node:crypto', nodeEdition]
]

// RFC 8032 §7.1, tests 1 and 2.
const RFC = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'
  }
]

const SIZES = [0, 1, 15, 16, 17, 300, 4096, 70_000]

it('Node resolves #weft/crypto to the node:crypto edition', () => {
  expect(platform.CRYPTO_PLATFORM).toBe('node:crypto')
  expect(platform.gcmEncrypt).toBe(nodeEdition.gcmEncrypt)
})

describe.each(editions)('%s edition', (name, c) => {
  it('names itself', () => {
    expect(c.CRYPTO_PLATFORM).toBe(name)
  })

  it('hashes SHA-256 (FIPS 180-2 "abc", and inputs past the 64 KiB sync threshold)', async () => {
    expect(toHex(await c.sha256(new TextEncoder().encode('abc'))))
      .toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(toHex(await c.sha256(new Uint8Array(0))))
      .toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    const big = randomBytes(70_000)
    expect(await c.sha256(big)).toEqual(await (name === 'webcrypto' ? nodeEdition : webEdition).sha256(big))
  })

  it('returns plain Uint8Arrays (not Buffers)', async () => {
    const key = randomBytes(32)
    const nonce = randomBytes(12)
    const sealed = await c.gcmEncrypt(key, nonce, randomBytes(20))
    const seed = fromHex(RFC[0]!.seed)
    for (const out of [
      sealed, await c.gcmDecrypt(key, nonce, sealed), await c.sha256(sealed), await c.ed25519Sign(seed, sealed),
      await c.ed25519PublicKeyFromSeed(seed)
    ]) {
      expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype)
    }
  })

  it('matches the RFC 8032 Ed25519 vectors', async () => {
    for (const v of RFC) {
      expect(toHex(await c.ed25519PublicKeyFromSeed(fromHex(v.seed)))).toBe(v.pub)
      expect(toHex(await c.ed25519Sign(fromHex(v.seed), fromHex(v.msg)))).toBe(v.sig)
      expect(await c.ed25519Verify(fromHex(v.pub), fromHex(v.sig), fromHex(v.msg))).toBe(true)
    }
  })

  it('rejects an Ed25519 signature that is altered, over other data or by another key', async () => {
    const v = RFC[1]!
    const sig = fromHex(v.sig)
    sig[5]! ^= 1
    expect(await c.ed25519Verify(fromHex(v.pub), sig, fromHex(v.msg))).toBe(false)
    expect(await c.ed25519Verify(fromHex(v.pub), fromHex(v.sig), fromHex('73'))).toBe(false)
    expect(await c.ed25519Verify(fromHex(RFC[0]!.pub), fromHex(v.sig), fromHex(v.msg))).toBe(false)
  })

  it('verifies with a public key given as a different array of the same bytes', async () => {
    const v = RFC[1]!
    for (let i = 0; i < 3; i++) expect(await c.ed25519Verify(fromHex(v.pub), fromHex(v.sig), fromHex(v.msg))).toBe(true)
  })

  it('encrypts AES-256-GCM as ciphertext || tag and decrypts it; a flipped bit or wrong key is refused', async () => {
    for (const size of SIZES) {
      const key = randomBytes(32)
      const nonce = randomBytes(12)
      const plaintext = randomBytes(size)
      const sealed = await c.gcmEncrypt(key, nonce, plaintext)
      expect(sealed.byteLength).toBe(size + 16)
      expect(await c.gcmDecrypt(key, nonce, sealed)).toEqual(plaintext)
      const altered = sealed.slice()
      altered[Math.floor(size / 2)]! ^= 1
      await expect(c.gcmDecrypt(key, nonce, altered)).rejects.toThrow()
      await expect(c.gcmDecrypt(randomBytes(32), nonce, sealed)).rejects.toThrow()
    }
  })
})

describe('the editions agree', () => {
  it('produce identical AES-256-GCM bytes and open each other', async () => {
    for (const size of SIZES) {
      const key = randomBytes(32)
      const nonce = randomBytes(12)
      const plaintext = randomBytes(size)
      const web = await webEdition.gcmEncrypt(key, nonce, plaintext)
      expect(await nodeEdition.gcmEncrypt(key, nonce, plaintext)).toEqual(web)
      expect(await nodeEdition.gcmDecrypt(key, nonce, web)).toEqual(plaintext)
      expect(await webEdition.gcmDecrypt(key, nonce, await nodeEdition.gcmEncrypt(key, nonce, plaintext))).toEqual(plaintext)
    }
  })

  it('produce identical SHA-256 digests', async () => {
    for (const size of SIZES) {
      const bytes = randomBytes(size)
      expect(await nodeEdition.sha256(bytes)).toEqual(await webEdition.sha256(bytes))
    }
  })

  it('derive the same Ed25519 keys and signatures, and verify each other and noble', async () => {
    for (let i = 0; i < 8; i++) {
      const seed = randomBytes(32)
      const message = randomBytes(i * 37)
      const pub = await nodeEdition.ed25519PublicKeyFromSeed(seed)
      expect(await webEdition.ed25519PublicKeyFromSeed(seed)).toEqual(pub)
      const sig = await nodeEdition.ed25519Sign(seed, message)
      expect(await webEdition.ed25519Sign(seed, message)).toEqual(sig)
      expect(await ed.signAsync(message, seed)).toEqual(sig)
      expect(await webEdition.ed25519Verify(pub, sig, message)).toBe(true)
      expect(await nodeEdition.ed25519Verify(pub, await ed.signAsync(message, seed), message)).toBe(true)
    }
  })

  it('node:crypto keeps verifying a key after more than its cache bound of other keys', async () => {
    const v = RFC[0]!
    expect(await nodeEdition.ed25519Verify(fromHex(v.pub), fromHex(v.sig), new Uint8Array(0))).toBe(true)
    const other = await nodeEdition.ed25519PublicKeyFromSeed(fromHex(RFC[1]!.seed))
    for (let i = 0; i < 1100; i++) {
      const pub = other.slice()
      pub[31] = i & 0xff
      pub[30] = i >> 8
      await nodeEdition.ed25519Verify(pub, fromHex(v.sig), new Uint8Array(0)).catch(() => false)
    }
    expect(await nodeEdition.ed25519Verify(fromHex(v.pub), fromHex(v.sig), new Uint8Array(0))).toBe(true)
  })
})

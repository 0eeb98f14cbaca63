/**
 * Record format version 2: proven authors (docs/SECURITY.md G1). A record's author is the log key
 * itself or an identity whose delegation certificate for the log key the record carries; anything
 * else is refused on every peer, and by a replicator that holds the service key alone.
 *
 * Forgeries are built the way a hostile member would: it owns its log key, so it can sign any record
 * node it likes (`reseal` re-signs a modified node with the log key and re-encrypts it).
 */
import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import * as dagCbor from '@ipld/dag-cbor'
import * as ed from '@noble/ed25519'
import {
  AUTHOR_CERTIFICATE_CACHE_ENTRIES, MAX_NODE_BLOCK_BYTES, authorCertificatePayload, createAuthorCertificate, fromHex,
  encodeAuthorCertificate, generateKeyPair, newThreadKey, openNode, openRecord, openRecordEnvelope,
  parseAuthorCertificatePayload, parseRecordNode, publicKeyToBytes, randomBytes, recordSigningPayload, sealNode,
  sealRecord, serviceKeyOnly, verifyAuthorCertificate
} from '../../src/core/index.js'
import type {
  AuthorCertificate, OpenRecordOptions, PrivateKey, PublicKey, ReadableThreadKey, RecordBlocks
} from '../../src/core/index.js'
import { _authorCertificateCache } from '../../src/core/author.js'
import { _setWebCryptoEnabled } from '../../src/core/ed25519.js'
import { _sealRecordV1 } from '../../src/core/record.js'

let threadKey: ReadableThreadKey
let logKey: PrivateKey
let authorKey: PrivateKey
let strangerKey: PrivateKey
let otherLogKey: PrivateKey
let certificate: AuthorCertificate
let self: RecordBlocks
let delegated: RecordBlocks
const t0 = { wall: 1_750_000_000_000, counter: 0 }
const t1 = { wall: 1_750_000_000_000, counter: 1 }

beforeAll(async () => {
  threadKey = newThreadKey()
  ;[logKey, authorKey, strangerKey, otherLogKey] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()])
  certificate = await createAuthorCertificate(authorKey, logKey.publicKey)
  self = await sealRecord({ body: { n: 1 }, threadKey, logKey, time: t0 })
  delegated = await sealRecord({
    body: { n: 2 }, threadKey, logKey, author: authorKey.publicKey, certificate, prev: self.record.cid, time: t1
  })
})

afterEach(() => {
  _setWebCryptoEnabled(undefined)
  _authorCertificateCache.maxEntries = AUTHOR_CERTIFICATE_CACHE_ENTRIES
})

function opts(extra: Partial<OpenRecordOptions> = {}): OpenRecordOptions {
  return { serviceKey: threadKey.service, readKey: threadKey.read, logPublicKey: logKey.publicKey, ...extra }
}

/** The relay's view: the service key and the log key, nothing else. */
function relayOpts(): OpenRecordOptions {
  return { serviceKey: serviceKeyOnly(threadKey).service, logPublicKey: logKey.publicKey }
}

async function plainOf(blocks: RecordBlocks): Promise<Record<string, unknown>> {
  return { ...await openNode(blocks.record, threadKey.service) as Record<string, unknown> }
}

/**
 * What a hostile owner of `signer` (the log key by default) can make: the record node of `blocks`
 * changed by `mutate`, signed afresh over the payload of its version (unless `sign` is false), and
 * re-encrypted with the service key.
 */
async function reseal(
  blocks: RecordBlocks,
  mutate: (node: Record<string, unknown>) => Promise<void> | void,
  { sign = true, signer = logKey }: { sign?: boolean; signer?: PrivateKey } = {}
): Promise<RecordBlocks> {
  const plain = await plainOf(blocks)
  await mutate(plain)
  if (sign) plain.sig = await signer.sign(recordSigningPayload(parseRecordNode({ ...plain, sig: new Uint8Array(64) })))
  return { ...blocks, record: await sealNode(plain, threadKey.service, randomBytes(12)) }
}

const certValue = (c: AuthorCertificate): { n: Uint8Array; s: Uint8Array } => ({ n: c.nonce, s: c.signature })

describe('record format version 2', () => {
  it('seals a self-authored record as { v: 2, block, sig, pubKey, prev? } and opens it as version 2', async () => {
    const plain = await plainOf(self)
    expect(Object.keys(plain).sort()).toEqual(['block', 'pubKey', 'sig', 'v'])
    expect(plain.v).toBe(2)
    const opened = await openRecord(self, opts({ expectedPrev: null }))
    expect(opened.version).toBe(2)
    expect(opened.author.equals(logKey.publicKey)).toBe(true)
    expect(opened.certificate).toBeUndefined()
    expect('certificate' in opened).toBe(false)
    expect(opened.event?.body).toEqual({ n: 1 })
  })

  it('seals a delegated record with its certificate and opens it with the proven author', async () => {
    const plain = await plainOf(delegated)
    expect(Object.keys(plain).sort()).toEqual(['block', 'cert', 'prev', 'pubKey', 'sig', 'v'])
    expect(plain.cert).toEqual(certValue(certificate))
    const opened = await openRecord(delegated, opts({ expectedPrev: self.record.cid }))
    expect(opened.version).toBe(2)
    expect(opened.author.equals(authorKey.publicKey)).toBe(true)
    expect(opened.certificate).toEqual(certificate)
    expect(opened.event?.body).toEqual({ n: 2 })
  })

  it('signs "weft-record-v2" || event CID || prev CID || pubKey || dag-cbor(cert)', async () => {
    const plain = await plainOf(delegated)
    const payload = recordSigningPayload(parseRecordNode(plain))
    const certBytes = encodeAuthorCertificate(certificate)
    expect(new TextDecoder().decode(payload.subarray(0, 14))).toBe('weft-record-v2')
    expect(payload.byteLength).toBe(14 + 36 + 36 + 36 + certBytes.byteLength)
    expect(payload.subarray(14 + 36 + 36 + 36)).toEqual(certBytes)
    expect(certBytes).toEqual(dagCbor.encode(certValue(certificate)))
    expect(await ed.verifyAsync(plain.sig as Uint8Array, payload, logKey.publicKey.raw, { zip215: false })).toBe(true)
  })

  it('keeps a delegated record node near 330 bytes, far under the 4096-byte block limit', async () => {
    expect(delegated.record.bytes.byteLength).toBeGreaterThan(300)
    expect(delegated.record.bytes.byteLength).toBeLessThan(360)
    const longest = await createAuthorCertificate(authorKey, logKey.publicKey, { nonce: randomBytes(64) })
    const big = await sealRecord({ body: 1, threadKey, logKey, author: authorKey.publicKey, certificate: longest, prev: self.record.cid, time: t1 })
    expect(big.record.bytes.byteLength).toBeLessThan(MAX_NODE_BLOCK_BYTES / 8)
    expect((await openRecordEnvelope(big, relayOpts())).author.equals(authorKey.publicKey)).toBe(true)
  })

  it('cross-verifies delegated records between the platform and the @noble/ed25519 backends', async () => {
    _setWebCryptoEnabled(false)
    const cert = await createAuthorCertificate(authorKey, logKey.publicKey)
    const blocks = await sealRecord({ body: { x: 1 }, threadKey, logKey, author: authorKey.publicKey, certificate: cert, time: t0 })
    await openRecord(delegated, opts())
    _setWebCryptoEnabled(true)
    expect((await openRecord(blocks, opts())).author.equals(authorKey.publicKey)).toBe(true)
  })
})

describe('unproven authors', () => {
  it('a record whose author is not the log key and carries no certificate is refused with UnprovenAuthorError', async () => {
    const forged = await reseal(self, (n) => { n.pubKey = publicKeyToBytes(authorKey.publicKey) })
    await expect(openRecord(forged, opts())).rejects.toMatchObject({ name: 'UnprovenAuthorError', code: 'ERR_UNPROVEN_AUTHOR' })
    await expect(openRecordEnvelope(forged, relayOpts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    const stripped = await reseal(delegated, (n) => { delete n.cert })
    await expect(openRecord(stripped, opts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    await expect(sealRecord({ body: 1, threadKey, logKey, author: authorKey.publicKey, time: t0 }))
      .rejects.toMatchObject({ name: 'UnprovenAuthorError' })
  })

  it('a certificate signed by another key is refused with UnprovenAuthorError', async () => {
    const byStranger = await createAuthorCertificate(strangerKey, logKey.publicKey)
    const forged = await reseal(delegated, (n) => { n.cert = certValue(byStranger) })
    await expect(openRecord(forged, opts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    await expect(openRecordEnvelope(forged, relayOpts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    await expect(sealRecord({ body: 1, threadKey, logKey, author: authorKey.publicKey, certificate: byStranger, time: t0 }))
      .rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    await expect(verifyAuthorCertificate(authorKey.publicKey, logKey.publicKey, byStranger)).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
  })

  it('a certificate the author made for another log key is refused with UnprovenAuthorError', async () => {
    const forOtherLog = await createAuthorCertificate(authorKey, otherLogKey.publicKey)
    const forged = await reseal(delegated, (n) => { n.cert = certValue(forOtherLog) })
    await expect(openRecord(forged, opts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    await expect(openRecordEnvelope(forged, relayOpts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    await expect(sealRecord({ body: 1, threadKey, logKey, author: authorKey.publicKey, certificate: forOtherLog, time: t0 }))
      .rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    // The record of the log the certificate was made for does open.
    const rightful = await sealRecord({ body: 1, threadKey, logKey: otherLogKey, author: authorKey.publicKey, certificate: forOtherLog, time: t0 })
    expect((await openRecordEnvelope(rightful, { ...relayOpts(), logPublicKey: otherLogKey.publicKey })).author.equals(authorKey.publicKey)).toBe(true)
  })

  it.each<[string, (c: { n: Uint8Array; s: Uint8Array }) => unknown]>([
    ['a 15-byte nonce', (c) => ({ ...c, n: c.n.subarray(1) })],
    ['a 65-byte nonce', (c) => ({ ...c, n: new Uint8Array(65) })],
    ['a 63-byte signature', (c) => ({ ...c, s: c.s.subarray(1) })],
    ['a missing signature', (c) => ({ n: c.n })],
    ['an extra field', (c) => ({ ...c, x: 1 })],
    ['a nonce that is a string', (c) => ({ ...c, n: 'nonce-nonce-nonce' })],
    ['bytes instead of a map', (c) => c.s],
    ['a list instead of a map', (c) => [c.n, c.s]],
    ['null', () => null]
  ])('a malformed certificate (%s) is refused with UnprovenAuthorError', async (_, mutate) => {
    const forged = await reseal(delegated, (n) => { n.cert = mutate(n.cert as { n: Uint8Array; s: Uint8Array }) }, { sign: false })
    await expect(openRecord(forged, opts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    await expect(openRecordEnvelope(forged, relayOpts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
  })

  it('a certificate on a record authored by its log key is refused with InvalidRecordError', async () => {
    const selfCert = await createAuthorCertificate(logKey, logKey.publicKey)
    const forged = await reseal(self, (n) => { n.cert = certValue(selfCert) })
    await expect(openRecord(forged, opts())).rejects.toMatchObject({ name: 'InvalidRecordError' })
    await expect(sealRecord({ body: 1, threadKey, logKey, certificate: selfCert, time: t0 })).rejects.toMatchObject({ name: 'InvalidRecordError' })
  })

  it('a delegated record presented as another log\'s is refused with BadSignatureError', async () => {
    await expect(openRecord(delegated, opts({ logPublicKey: strangerKey.publicKey }))).rejects.toMatchObject({ name: 'BadSignatureError' })
  })
})

describe('tampering with a delegated record', () => {
  it.each<[string, (n: Record<string, unknown>) => Promise<void> | void, string]>([
    ['the signature flipped', (n) => { (n.sig as Uint8Array)[5]! ^= 1 }, 'BadSignatureError'],
    ['the nonce changed', (n) => { const c = n.cert as { n: Uint8Array }; c.n = c.n.slice(); c.n[0]! ^= 1 }, 'BadSignatureError'],
    ['the certificate signature flipped', (n) => { const c = n.cert as { s: Uint8Array }; c.s = c.s.slice(); c.s[9]! ^= 1 }, 'BadSignatureError'],
    ['the certificate swapped for another valid one', async (n) => {
      n.cert = certValue(await createAuthorCertificate(authorKey, logKey.publicKey))
    }, 'BadSignatureError'],
    ['the author swapped for a stranger with its own valid certificate', async (n) => {
      n.pubKey = publicKeyToBytes(strangerKey.publicKey)
      n.cert = certValue(await createAuthorCertificate(strangerKey, logKey.publicKey))
    }, 'BadSignatureError'],
    ['the certificate removed', (n) => { delete n.cert }, 'BadSignatureError'],
    ['the prev link removed', (n) => { delete n.prev }, 'BadSignatureError'],
    ['the version removed (a v1 node has no cert)', (n) => { delete n.v }, 'InvalidRecordError'],
    ['the version and the certificate removed (a v1 node)', (n) => { delete n.v; delete n.cert }, 'BadSignatureError'],
    ['the version set to 1', (n) => { n.v = 1 }, 'InvalidRecordError'],
    ['the version set to "2"', (n) => { n.v = '2' }, 'InvalidRecordError'],
    ['the version set to 3', (n) => { n.v = 3 }, 'UnsupportedRecordVersionError'],
    ['an unknown field added', (n) => { n.extra = 1 }, 'InvalidRecordError']
  ])('is refused: %s', async (_, mutate, name) => {
    const plain = await plainOf(delegated)
    await mutate(plain)
    const forged = { ...delegated, record: await sealNode(plain, threadKey.service, randomBytes(12)) }
    await expect(openRecord(forged, opts())).rejects.toMatchObject({ name })
    await expect(openRecordEnvelope(forged, relayOpts())).rejects.toMatchObject({ name })
  })

  it('a self-authored version 1 record relabelled as version 2, and the reverse, fail their signature', async () => {
    const v1 = await _sealRecordV1({ body: 1, threadKey, logKey, time: t0 })
    const up = { ...v1, record: await sealNode({ ...await plainOf(v1), v: 2 }, threadKey.service, randomBytes(12)) }
    await expect(openRecord(up, opts())).rejects.toMatchObject({ name: 'BadSignatureError' })
    const { v: _v, ...downPlain } = await plainOf(self)
    const down = { ...self, record: await sealNode(downPlain, threadKey.service, randomBytes(12)) }
    await expect(openRecord(down, opts())).rejects.toMatchObject({ name: 'BadSignatureError' })
  })
})

describe('version 1 records', () => {
  it('a version 1 record authored by its log key still opens, as version 1', async () => {
    const v1 = await _sealRecordV1({ body: { legacy: true }, threadKey, logKey, time: t0 })
    expect(Object.keys(await plainOf(v1)).sort()).toEqual(['block', 'pubKey', 'sig'])
    const opened = await openRecord(v1, opts({ expectedPrev: null }))
    expect(opened.version).toBe(1)
    expect(opened.author.equals(logKey.publicKey)).toBe(true)
    expect(opened.event?.body).toEqual({ legacy: true })
    expect((await openRecordEnvelope(v1, relayOpts())).version).toBe(1)
    // A v2 record may follow a v1 record in the same log.
    const next = await sealRecord({ body: 2, threadKey, logKey, prev: v1.record.cid, time: t1 })
    expect((await openRecord(next, opts({ expectedPrev: v1.record.cid }))).version).toBe(2)
  })

  it('a version 1 record naming another author is refused with UnprovenAuthorError, on readers and on the relay', async () => {
    const v1 = await _sealRecordV1({ body: 1, threadKey, logKey, author: authorKey.publicKey, time: t0 })
    await expect(openRecord(v1, opts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    await expect(openRecordEnvelope(v1, relayOpts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
  })

  it('a version 1 node carrying a certificate is refused with InvalidRecordError', async () => {
    const v1 = await _sealRecordV1({ body: 1, threadKey, logKey, author: authorKey.publicKey, time: t0 })
    const forged = await reseal(v1, (n) => { n.cert = certValue(certificate) }, { sign: false })
    await expect(openRecord(forged, opts())).rejects.toMatchObject({ name: 'InvalidRecordError' })
  })
})

describe('the relay path (service key only)', () => {
  it('verifies a delegated record and refuses every forgery of its author', async () => {
    const env = await openRecordEnvelope(delegated, { ...relayOpts(), expectedPrev: self.record.cid })
    expect(env.author.equals(authorKey.publicKey)).toBe(true)
    expect(env.certificate).toEqual(certificate)
    expect('event' in env).toBe(false)
    const forgeries = await Promise.all([
      reseal(self, (n) => { n.pubKey = publicKeyToBytes(strangerKey.publicKey) }),
      reseal(delegated, (n) => { n.pubKey = publicKeyToBytes(strangerKey.publicKey) }),
      reseal(delegated, async (n) => { n.cert = certValue(await createAuthorCertificate(strangerKey, otherLogKey.publicKey)) })
    ])
    for (const forged of forgeries) {
      await expect(openRecordEnvelope(forged, relayOpts())).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    }
  })
})

describe('author certificates', () => {
  it('payload is "weft-author-v1" || marshalled log key || nonce, and parses back', () => {
    const nonce = fromHex('00112233445566778899aabbccddeeff')
    const payload = authorCertificatePayload(logKey.publicKey, nonce)
    expect(new TextDecoder().decode(payload.subarray(0, 14))).toBe('weft-author-v1')
    expect(payload.subarray(14, 50)).toEqual(publicKeyToBytes(logKey.publicKey))
    expect(payload.subarray(50)).toEqual(nonce)
    const parsed = parseAuthorCertificatePayload(payload)
    expect(parsed.logPublicKey.equals(logKey.publicKey)).toBe(true)
    expect(parsed.nonce).toEqual(nonce)
    expect(() => parseAuthorCertificatePayload(payload.subarray(0, 60))).toThrow(expect.objectContaining({ name: 'UnprovenAuthorError' }))
    expect(() => parseAuthorCertificatePayload(Uint8Array.of(1, 2, 3))).toThrow(expect.objectContaining({ name: 'UnprovenAuthorError' }))
  })

  it('nonces are 16 random bytes by default and 16–64 bytes when given', async () => {
    const [a, b] = await Promise.all([createAuthorCertificate(authorKey, logKey.publicKey), createAuthorCertificate(authorKey, logKey.publicKey)])
    expect(a.nonce.byteLength).toBe(16)
    expect(a.nonce).not.toEqual(b.nonce)
    expect((await createAuthorCertificate(authorKey, logKey.publicKey, { nonce: new Uint8Array(64) })).nonce.byteLength).toBe(64)
    for (const n of [0, 15, 65]) {
      await expect(createAuthorCertificate(authorKey, logKey.publicKey, { nonce: new Uint8Array(n) })).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
      expect(() => authorCertificatePayload(logKey.publicKey, new Uint8Array(n))).toThrow(expect.objectContaining({ name: 'UnprovenAuthorError' }))
    }
  })

  it('a client that signs the raw challenge bytes issues a certificate that proves records', async () => {
    // The remote-API token flow: the peer hands out the payload as a challenge, the client signs it as is.
    const challenge = authorCertificatePayload(logKey.publicKey, randomBytes(32))
    const signature = await ed.signAsync(challenge, authorKey.raw)
    const cert = { nonce: parseAuthorCertificatePayload(challenge).nonce, signature }
    await verifyAuthorCertificate(authorKey.publicKey, logKey.publicKey, cert)
    const blocks = await sealRecord({ body: 'via the hub', threadKey, logKey, author: authorKey.publicKey, certificate: cert, time: t0 })
    expect((await openRecordEnvelope(blocks, relayOpts())).author.equals(authorKey.publicKey)).toBe(true)
  })

  it('a certificate is not bound to a thread: the same delegation proves records in every thread of the log', async () => {
    const otherThread = newThreadKey()
    const blocks = await sealRecord({ body: 1, threadKey: otherThread, logKey, author: authorKey.publicKey, certificate, time: t0 })
    const env = await openRecordEnvelope(blocks, { serviceKey: otherThread.service, logPublicKey: logKey.publicKey })
    expect(env.author.equals(authorKey.publicKey)).toBe(true)
  })

  it('is refused with AbortError when the signal is aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(createAuthorCertificate(authorKey, logKey.publicKey, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('verification rejects keys that are not PublicKey objects with InvalidKeyError', async () => {
    await expect(verifyAuthorCertificate(authorKey.publicKey.raw as unknown as PublicKey, logKey.publicKey, certificate))
      .rejects.toMatchObject({ name: 'InvalidKeyError' })
  })
})

describe('the certificate cache', () => {
  /** The author's public key, counting its signature verifications. */
  function counting(key: PublicKey): PublicKey & { calls: number } {
    const counted = {
      calls: 0,
      type: key.type,
      raw: key.raw,
      equals: (o: PublicKey) => key.equals(o),
      toString: () => key.toString(),
      async verify(data: Uint8Array, sig: Uint8Array) { counted.calls++; return await key.verify(data, sig) }
    }
    return counted
  }

  it('verifies a certificate once, and stays within its bound (least recently used dropped first)', async () => {
    _authorCertificateCache.clear()
    _authorCertificateCache.maxEntries = 4
    const author = counting(authorKey.publicKey)
    const first = await createAuthorCertificate(authorKey, logKey.publicKey)
    await verifyAuthorCertificate(author, logKey.publicKey, first)
    await verifyAuthorCertificate(author, logKey.publicKey, first)
    expect(author.calls).toBe(1)
    for (let i = 0; i < 6; i++) {
      await verifyAuthorCertificate(author, logKey.publicKey, await createAuthorCertificate(authorKey, logKey.publicKey))
      expect(_authorCertificateCache.size).toBeLessThanOrEqual(4)
    }
    expect(author.calls).toBe(7)
    await verifyAuthorCertificate(author, logKey.publicKey, first)
    expect(author.calls).toBe(8)
  })

  it('does not remember a certificate that failed', async () => {
    _authorCertificateCache.clear()
    const author = counting(authorKey.publicKey)
    const bad = await createAuthorCertificate(strangerKey, logKey.publicKey)
    await expect(verifyAuthorCertificate(author, logKey.publicKey, bad)).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    await expect(verifyAuthorCertificate(author, logKey.publicKey, bad)).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    expect(author.calls).toBe(2)
    expect(_authorCertificateCache.size).toBe(0)
  })

  it('holds one entry for a delegated log however many of its records are opened', async () => {
    _authorCertificateCache.clear()
    let prev = self.record.cid
    const records: RecordBlocks[] = []
    for (let i = 0; i < 5; i++) {
      const r = await sealRecord({ body: i, threadKey, logKey, author: authorKey.publicKey, certificate, prev, time: { wall: t1.wall, counter: 2 + i } })
      records.push(r)
      prev = r.record.cid
    }
    await Promise.all(records.map(async (r) => await openRecordEnvelope(r, relayOpts())))
    expect(_authorCertificateCache.size).toBe(1)
  })
})

import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import {
  MAX_BODY_BYTES, aesGcmEncrypt, cidOf, createAuthorCertificate, encodeBlock, generateKeyPair, newThreadKey, openEvent, openNode, openRecord,
  openRecordEnvelope, publicKeyToBytes, recordSigningPayload, sealNode, sealRecord, sealRecordEvent, sealRecordOver, serviceKeyOnly, randomBytes
} from '../../src/core/index.js'
import type { Block, PrivateKey, PublicKey, ReadableThreadKey, RecordBlocks, OpenRecordOptions } from '../../src/core/index.js'
import { _setWebCryptoEnabled } from '../../src/core/ed25519.js'

let threadKey: ReadableThreadKey
let logKey: PrivateKey
let otherKey: PrivateKey
let genesis: RecordBlocks
let second: RecordBlocks
const t0 = { wall: 1_700_000_000_000, counter: 0 }
const t1 = { wall: 1_700_000_000_000, counter: 1 }

beforeAll(async () => {
  threadKey = newThreadKey()
  logKey = await generateKeyPair()
  otherKey = await generateKeyPair()
  genesis = await sealRecord({ body: { title: 'first', n: 1 }, threadKey, logKey, time: t0 })
  second = await sealRecord({ body: { title: 'second', n: 2 }, threadKey, logKey, prev: genesis.record.cid, time: t1 })
})

afterEach(() => {
  _setWebCryptoEnabled(undefined)
})

function opts(extra: Partial<OpenRecordOptions> = {}): OpenRecordOptions {
  return { serviceKey: threadKey.service, readKey: threadKey.read, logPublicKey: logKey.publicKey, ...extra }
}

function flip(block: Block, index = Math.floor(block.bytes.byteLength / 2)): Block {
  const bytes = block.bytes.slice()
  bytes[index]! ^= 0x01
  return { cid: block.cid, bytes }
}

async function rehash(bytes: Uint8Array): Promise<Block> {
  return { cid: await cidOf(bytes), bytes }
}

/** Decrypt a record node to its plaintext map (for building hostile variants). */
async function recordPlain(blocks: RecordBlocks): Promise<Record<string, unknown>> {
  return await openNode(blocks.record, threadKey.service) as Record<string, unknown>
}

/** Re-encrypt an arbitrary record plaintext with the real service key. */
async function forgeRecord(value: unknown): Promise<Block> {
  return await sealNode(value, threadKey.service, randomBytes(12))
}

describe('sealRecord / openRecord', () => {
  it('round-trips the body, time, author, prev and signature', async () => {
    const g = await openRecord(genesis, opts({ expectedPrev: null }))
    expect(g.cid.equals(genesis.record.cid)).toBe(true)
    expect(g.eventCID.equals(genesis.event.cid)).toBe(true)
    expect(g.prev).toBeNull()
    expect(g.author.equals(logKey.publicKey)).toBe(true)
    expect(g.sig.byteLength).toBe(64)
    expect(g.event?.body).toEqual({ title: 'first', n: 1 })
    expect(g.event?.time).toEqual(t0)
    expect(g.event?.header.time).toEqual(t0)
    expect(g.event?.header.key.byteLength).toBe(32)
    const s = await openRecord(second, opts({ expectedPrev: genesis.record.cid }))
    expect(s.prev?.equals(genesis.record.cid)).toBe(true)
    expect(s.event?.body).toEqual({ title: 'second', n: 2 })
    expect(s.event?.time).toEqual(t1)
  })

  it('records an author other than the log key, proven by its certificate', async () => {
    const certificate = await createAuthorCertificate(otherKey, logKey.publicKey)
    const blocks = await sealRecord({ body: 1, threadKey, logKey, author: otherKey.publicKey, certificate, time: t0 })
    const opened = await openRecord(blocks, opts())
    expect(opened.author.equals(otherKey.publicKey)).toBe(true)
    expect(opened.version).toBe(2)
    expect(opened.certificate).toEqual(certificate)
  })

  it('produces four CIDv1 dag-cbor sha2-256 blocks whose bytes hash to their CIDs', async () => {
    for (const block of [genesis.record, genesis.event, genesis.header, genesis.body]) {
      expect((await cidOf(block.bytes)).equals(block.cid)).toBe(true)
    }
    expect(dagCbor.decode(genesis.event.bytes)).toEqual({ body: genesis.body.cid, header: genesis.header.cid })
  })

  it('uses a fresh body key and fresh nonces for every record', async () => {
    const a = await sealRecord({ body: 'same', threadKey, logKey, time: t0 })
    const b = await sealRecord({ body: 'same', threadKey, logKey, time: t0 })
    expect(a.body.cid.equals(b.body.cid)).toBe(false)
    expect(a.header.cid.equals(b.header.cid)).toBe(false)
    const [ea, eb] = await Promise.all([openRecord(a, opts()), openRecord(b, opts())])
    expect(ea.event?.header.key).not.toEqual(eb.event?.header.key)
    const nonces = [a.record, a.header, a.body, b.record, b.header, b.body]
      .map((block) => (dagCbor.decode(block.bytes) as Uint8Array).subarray(0, 12).join(','))
    expect(new Set(nonces).size).toBe(6)
  })

  it('opens with the service key alone into a verified envelope without the event', async () => {
    const o = await openRecord(second, { serviceKey: threadKey.service, logPublicKey: logKey.publicKey, expectedPrev: genesis.record.cid })
    expect(o.event).toBeUndefined()
    expect(o.prev?.equals(genesis.record.cid)).toBe(true)
    const env = await openRecordEnvelope(second, opts())
    expect(env.eventCID.equals(second.event.cid)).toBe(true)
    expect('event' in env).toBe(false)
  })

  it('reads an event of a verified record with openEvent', async () => {
    const ev = await openEvent(second, threadKey.read)
    expect(ev.body).toEqual({ title: 'second', n: 2 })
    await expect(openEvent(second, undefined)).rejects.toMatchObject({ name: 'MissingReadKeyError' })
  })

  it('works with the noble Ed25519 backend, and records cross-verify between backends', async () => {
    _setWebCryptoEnabled(false)
    const blocks = await sealRecord({ body: { x: 1 }, threadKey, logKey, time: t0 })
    await openRecord(blocks, opts())
    await openRecord(genesis, opts())
    _setWebCryptoEnabled(true)
    expect((await openRecord(blocks, opts())).event?.body).toEqual({ x: 1 })
  })

  it('refuses to seal without the read key', async () => {
    await expect(sealRecord({ body: 1, threadKey: serviceKeyOnly(threadKey), logKey, time: t0 }))
      .rejects.toMatchObject({ name: 'MissingReadKeyError' })
  })

  it('refuses to seal with a malformed thread key, time or prev', async () => {
    await expect(sealRecord({ body: 1, threadKey: { service: new Uint8Array(5), read: threadKey.read }, logKey, time: t0 }))
      .rejects.toMatchObject({ name: 'InvalidThreadKeyError' })
    await expect(sealRecord({ body: 1, threadKey, logKey, time: { wall: -1, counter: 0 } }))
      .rejects.toMatchObject({ name: 'InvalidClockError' })
    await expect(sealRecord({ body: 1, threadKey, logKey, time: t0, prev: 'bafy' as unknown as CID }))
      .rejects.toMatchObject({ name: 'InvalidRecordError' })
  })

  it('refuses a body over MAX_BODY_BYTES with OversizedInputError', async () => {
    await expect(sealRecord({ body: new Uint8Array(MAX_BODY_BYTES + 1), threadKey, logKey, time: t0 }))
      .rejects.toMatchObject({ name: 'OversizedInputError' })
  })

  it('seals and opens a body of exactly MAX_BODY_BYTES encoded', async () => {
    const body = new Uint8Array(MAX_BODY_BYTES - 5) // 5-byte CBOR header
    const blocks = await sealRecord({ body, threadKey, logKey, time: t0 })
    const opened = await openRecord(blocks, opts())
    expect((opened.event?.body as Uint8Array).byteLength).toBe(MAX_BODY_BYTES - 5)
  })

  it('refuses a body that is not IPLD data with InvalidBlockError', async () => {
    await expect(sealRecord({ body: { a: undefined }, threadKey, logKey, time: t0 })).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })

  it('honours an aborted signal', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(sealRecord({ body: 1, threadKey, logKey, time: t0 }, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
    await expect(openRecord(genesis, opts({ signal: controller.signal }))).rejects.toMatchObject({ name: 'AbortError' })
  })
})

describe('sealRecordEvent / sealRecordOver', () => {
  it('seal events ahead of their place in the log, then chain them into records byte for byte as sealRecord does', async () => {
    let n = 0
    const random = (length: number): Uint8Array => Uint8Array.from({ length }, () => n++ % 251)
    const whole = await sealRecord({ body: { a: 1 }, threadKey, logKey, prev: genesis.record.cid, time: t1, random })
    n = 0
    const event = await sealRecordEvent({ body: { a: 1 }, threadKey, time: t1, random })
    const parts = await sealRecordOver({ threadKey, logKey, prev: genesis.record.cid }, event)
    for (const k of ['record', 'event', 'header', 'body'] as const) expect(parts[k].bytes).toEqual(whole[k].bytes)
    const opened = await openRecord(parts, opts({ expectedPrev: genesis.record.cid }))
    expect(opened.event?.body).toEqual({ a: 1 })
    expect(opened.event?.time).toEqual(t1)
  })

  it('refuses what sealRecord refuses: no read key, a bad time, a bad prev', async () => {
    await expect(sealRecordEvent({ body: 1, threadKey: serviceKeyOnly(threadKey), time: t0 })).rejects.toMatchObject({ name: 'MissingReadKeyError' })
    await expect(sealRecordEvent({ body: 1, threadKey, time: { wall: -1, counter: 0 } })).rejects.toMatchObject({ name: 'InvalidClockError' })
    const event = await sealRecordEvent({ body: 1, threadKey, time: t0 })
    await expect(sealRecordOver({ threadKey, logKey, prev: 'x' as never }, event)).rejects.toMatchObject({ name: 'InvalidRecordError' })
  })
})

describe('keys', () => {
  it('rejects the wrong service key with DecryptionError', async () => {
    await expect(openRecord(genesis, opts({ serviceKey: newThreadKey().service }))).rejects.toMatchObject({ name: 'DecryptionError' })
  })

  it('rejects the wrong read key with DecryptionError', async () => {
    await expect(openRecord(genesis, opts({ readKey: newThreadKey().read }))).rejects.toMatchObject({ name: 'DecryptionError' })
    await expect(openEvent(genesis, newThreadKey().read)).rejects.toMatchObject({ name: 'DecryptionError' })
  })

  it('rejects keys of the wrong length with InvalidThreadKeyError', async () => {
    await expect(openRecord(genesis, opts({ serviceKey: new Uint8Array(16) }))).rejects.toMatchObject({ name: 'InvalidThreadKeyError' })
    await expect(openRecord(genesis, opts({ readKey: new Uint8Array(16) }))).rejects.toMatchObject({ name: 'InvalidThreadKeyError' })
  })

  it('rejects a log public key that is not a PublicKey object with InvalidKeyError', async () => {
    await expect(openRecord(genesis, opts({ logPublicKey: logKey.publicKey.raw as unknown as PublicKey })))
      .rejects.toMatchObject({ name: 'InvalidKeyError' })
  })

  it('refuses to seal with a signer that does not produce a 64-byte signature', async () => {
    const broken = { publicKey: logKey.publicKey, sign: async (): Promise<Uint8Array> => new Uint8Array(10) }
    await expect(sealRecord({ body: 1, threadKey, logKey: broken, time: t0 })).rejects.toMatchObject({ name: 'InvalidRecordError' })
  })

  it('seals with any Identity, e.g. a key held elsewhere', async () => {
    const remote = { publicKey: logKey.publicKey, sign: async (data: Uint8Array): Promise<Uint8Array> => await logKey.sign(data) }
    await openRecord(await sealRecord({ body: 1, threadKey, logKey: remote, time: t0 }), opts())
  })

  it('rejects a record signed by another log key with BadSignatureError', async () => {
    const forged = await sealRecord({ body: { title: 'first', n: 1 }, threadKey, logKey: otherKey, time: t0 })
    await expect(openRecord(forged, opts())).rejects.toMatchObject({ name: 'BadSignatureError' })
    await expect(openRecord(genesis, opts({ logPublicKey: otherKey.publicKey }))).rejects.toMatchObject({ name: 'BadSignatureError' })
  })

  it('reports a bad signature even when the read key is wrong too (envelope errors win)', async () => {
    await expect(openRecord(genesis, opts({ logPublicKey: otherKey.publicKey, readKey: newThreadKey().read })))
      .rejects.toMatchObject({ name: 'BadSignatureError' })
  })
})

describe('prev links', () => {
  it('checks expectedPrev: null means genesis, a CID must match, undefined skips', async () => {
    await openRecord(genesis, opts({ expectedPrev: null }))
    await openRecord(second, opts({ expectedPrev: genesis.record.cid }))
    await openRecord(second, opts())
    await expect(openRecord(second, opts({ expectedPrev: null }))).rejects.toMatchObject({ name: 'PrevLinkMismatchError' })
    await expect(openRecord(genesis, opts({ expectedPrev: second.record.cid }))).rejects.toMatchObject({ name: 'PrevLinkMismatchError' })
    await expect(openRecord(second, opts({ expectedPrev: second.record.cid }))).rejects.toMatchObject({ name: 'PrevLinkMismatchError' })
  })

  it('rejects a swapped prev link (re-encrypted with the service key)', async () => {
    const plain = await recordPlain(second)
    const record = await forgeRecord({ ...plain, prev: second.record.cid })
    const forged = { ...second, record }
    await expect(openRecord(forged, opts({ expectedPrev: genesis.record.cid }))).rejects.toMatchObject({ name: 'PrevLinkMismatchError' })
    await expect(openRecord(forged, opts())).rejects.toMatchObject({ name: 'BadSignatureError' })
  })

  it('rejects a record whose prev was removed to pass as genesis', async () => {
    const { prev: _prev, ...plain } = await recordPlain(second)
    const forged = { ...second, record: await forgeRecord(plain) }
    await expect(openRecord(forged, opts({ expectedPrev: null }))).rejects.toMatchObject({ name: 'BadSignatureError' })
  })
})

describe('tampering', () => {
  it.each(['record', 'event', 'header', 'body'] as const)('rejects a flipped byte in the %s block with InvalidBlockError', async (which) => {
    const tampered = { ...second, [which]: flip(second[which]) }
    await expect(openRecord(tampered, opts())).rejects.toMatchObject({ name: 'InvalidBlockError' })
    await expect(openRecordEnvelope(tampered, opts())).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })

  it('rejects a flipped record byte with a recomputed CID as DecryptionError', async () => {
    const record = await rehash(flip(second.record, second.record.bytes.byteLength - 3).bytes)
    await expect(openRecord({ ...second, record }, opts())).rejects.toMatchObject({ name: 'DecryptionError' })
  })

  it.each(['header', 'body'] as const)('rejects a flipped %s byte with a recomputed CID (the event links the original)', async (which) => {
    const block = await rehash(flip(second[which], second[which].bytes.byteLength - 3).bytes)
    await expect(openRecord({ ...second, [which]: block }, opts())).rejects.toMatchObject({ name: 'InvalidRecordError' })
  })

  it('rejects an event rebuilt around a re-encrypted header (different time) with BadSignatureError', async () => {
    const opened = await openRecord(second, opts())
    const header = await sealNode({ key: opened.event!.header.key, time: [t1.wall + 99, 0] }, threadKey.read, randomBytes(12))
    const event = await encodeBlock({ body: second.body.cid, header: header.cid })
    const record = await forgeRecord({ ...await recordPlain(second), block: event.cid })
    await expect(openRecord({ record, event, header, body: second.body }, opts())).rejects.toMatchObject({ name: 'BadSignatureError' })
  })

  it('rejects an event rebuilt around a different body with BadSignatureError', async () => {
    const opened = await openRecord(second, opts())
    const body = await sealNode({ title: 'evil', n: 666 }, opened.event!.header.key, randomBytes(12))
    const event = await encodeBlock({ body: body.cid, header: second.header.cid })
    const record = await forgeRecord({ ...await recordPlain(second), block: event.cid })
    await expect(openRecord({ record, event, header: second.header, body }, opts())).rejects.toMatchObject({ name: 'BadSignatureError' })
  })

  it('rejects a genesis record whose event is swapped for another event (the genesis signature covers its event)', async () => {
    const other = await sealRecord({ body: { title: 'other' }, threadKey, logKey: otherKey, time: t0 })
    const record = await forgeRecord({ ...await recordPlain(genesis), block: other.event.cid })
    const forged = { record, event: other.event, header: other.header, body: other.body }
    await expect(openRecord(forged, opts({ expectedPrev: null }))).rejects.toMatchObject({ name: 'BadSignatureError' })
  })

  it('rejects a record whose author was replaced (the signature covers the author)', async () => {
    const record = await forgeRecord({ ...await recordPlain(genesis), pubKey: publicKeyToBytes(otherKey.publicKey) })
    await expect(openRecord({ ...genesis, record }, opts())).rejects.toMatchObject({ name: 'BadSignatureError' })
  })

  it('rejects a record whose event does not match the event block sent with it', async () => {
    await expect(openRecord({ ...second, record: genesis.record }, opts())).rejects.toMatchObject({ name: 'InvalidRecordError' })
  })

  it('rejects an event block whose links do not match the header and body sent with it', async () => {
    await expect(openRecord({ ...second, header: genesis.header }, opts())).rejects.toMatchObject({ name: 'InvalidRecordError' })
    await expect(openRecord({ ...second, body: genesis.body }, opts())).rejects.toMatchObject({ name: 'InvalidRecordError' })
  })
})

describe('hostile and malformed input', () => {
  async function withRecordPlain(value: unknown): Promise<RecordBlocks> {
    return { ...second, record: await forgeRecord(value) }
  }

  it.each<[string, (p: Record<string, unknown>) => unknown]>([
    ['not a map', (p) => [p.block, p.sig]],
    ['a missing sig', ({ sig: _s, ...p }) => p],
    ['a missing block', ({ block: _b, ...p }) => p],
    ['a missing pubKey', ({ pubKey: _k, ...p }) => p],
    ['a 63-byte sig', (p) => ({ ...p, sig: (p.sig as Uint8Array).subarray(1) })],
    ['a sig that is a string', (p) => ({ ...p, sig: 'x'.repeat(64) })],
    ['a block that is bytes, not a link', (p) => ({ ...p, block: (p.block as CID).bytes })],
    ['a prev that is a string', (p) => ({ ...p, prev: 'bafy' })],
    ['a prev that is null', (p) => ({ ...p, prev: null })],
    ['a pubKey of the wrong length', (p) => ({ ...p, pubKey: new Uint8Array(32) })],
    ['a pubKey that is not an Ed25519 key', (p) => ({ ...p, pubKey: Uint8Array.of(0x08, 0x02, 0x12, 0x20, ...new Uint8Array(32)) })],
    ['an unknown field', (p) => ({ ...p, extra: 1 })]
  ])('rejects a record node with %s as InvalidRecordError', async (_, mutate) => {
    const blocks = await withRecordPlain(mutate(await recordPlain(second)))
    await expect(openRecord(blocks, opts())).rejects.toMatchObject({ name: 'InvalidRecordError' })
  })

  it('rejects a record that is random bytes under a valid CID with DecryptionError', async () => {
    const record = await rehash(dagCbor.encode(randomBytes(40)))
    await expect(openRecord({ ...second, record }, opts())).rejects.toMatchObject({ name: 'DecryptionError' })
  })

  it('rejects a record whose decrypted plaintext is not dag-cbor with InvalidBlockError', async () => {
    const nonce = randomBytes(12)
    const ct = await aesGcmEncrypt(threadKey.service, nonce, Uint8Array.of(0xa1, 0x61))
    const record = await rehash(dagCbor.encode(Uint8Array.of(...nonce, ...ct)))
    await expect(openRecord({ ...second, record }, opts())).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })

  it.each<[string, unknown]>([
    ['a missing body link', (e: Block) => ({ header: (dagCbor.decode(e.bytes) as { header: CID }).header })],
    ['an extra field', (e: Block) => ({ ...(dagCbor.decode(e.bytes) as object), x: 1 })],
    ['a list', () => [1, 2]]
  ])('rejects an event node with %s as InvalidRecordError', async (_, make) => {
    const event = await encodeBlock((make as (e: Block) => unknown)(second.event))
    await expect(openRecord({ ...second, event }, opts())).rejects.toMatchObject({ name: 'InvalidRecordError' })
  })

  it('rejects an event block that is not dag-cbor with InvalidBlockError', async () => {
    const event = await rehash(Uint8Array.of(0xa1, 0x61))
    await expect(openRecord({ ...second, event }, opts())).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })

  async function withHeader(value: unknown): Promise<RecordBlocks> {
    const header = await sealNode(value, threadKey.read, randomBytes(12))
    const event = await encodeBlock({ body: second.body.cid, header: header.cid })
    return { record: second.record, event, header, body: second.body }
  }

  it('rejects a header with a short key as InvalidRecordError and a garbage time as InvalidClockError', async () => {
    await expect(openEvent(await withHeader({ key: new Uint8Array(31), time: [1, 0] }), threadKey.read))
      .rejects.toMatchObject({ name: 'InvalidRecordError' })
    await expect(openEvent(await withHeader({ key: new Uint8Array(32), time: 'now' }), threadKey.read))
      .rejects.toMatchObject({ name: 'InvalidClockError' })
    await expect(openEvent(await withHeader({ key: new Uint8Array(32) }), threadKey.read))
      .rejects.toMatchObject({ name: 'InvalidRecordError' })
  })

  it.each<[string, (b: RecordBlocks) => unknown]>([
    ['null blocks', () => null],
    ['a missing record block', (b) => ({ ...b, record: undefined })],
    ['a missing body block', (b) => ({ ...b, body: undefined })],
    ['a block whose bytes are a string', (b) => ({ ...b, header: { cid: b.header.cid, bytes: 'abc' } })],
    ['a block whose CID is a string', (b) => ({ ...b, event: { cid: b.event.cid.toString(), bytes: b.event.bytes } })]
  ])('rejects %s with InvalidBlockError', async (_, make) => {
    await expect(openRecord(make(second) as RecordBlocks, opts())).rejects.toMatchObject({ name: 'InvalidBlockError' })
  })

  it('rejects truncated blocks', async () => {
    for (const which of ['record', 'event', 'header', 'body'] as const) {
      const block = second[which]
      const truncated = await rehash(block.bytes.subarray(0, block.bytes.byteLength - 5))
      const err = await openRecord({ ...second, [which]: truncated }, opts()).catch((e: unknown) => e)
      expect(['InvalidBlockError', 'InvalidRecordError']).toContain((err as Error).name)
    }
  })

  it('rejects oversized blocks with OversizedInputError before hashing them', async () => {
    const big = { cid: second.record.cid, bytes: new Uint8Array(5000) }
    await expect(openRecord({ ...second, record: big }, opts())).rejects.toMatchObject({ name: 'OversizedInputError' })
    await expect(openRecord({ ...second, event: big }, opts())).rejects.toMatchObject({ name: 'OversizedInputError' })
    await expect(openRecord({ ...second, header: big }, opts())).rejects.toMatchObject({ name: 'OversizedInputError' })
    const huge = { cid: second.body.cid, bytes: new Uint8Array(MAX_BODY_BYTES + 65) }
    await expect(openRecord({ ...second, body: huge }, opts())).rejects.toMatchObject({ name: 'OversizedInputError' })
  })

  it('rejects random garbage in every block with a named error', async () => {
    for (let i = 0; i < 50; i++) {
      const garbage = async (): Promise<Block> => await rehash(randomBytes(1 + (i * 37) % 300))
      const blocks = { record: await garbage(), event: await garbage(), header: await garbage(), body: await garbage() }
      const err = await openRecord(blocks, opts()).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(Error)
      expect(['InvalidBlockError', 'InvalidRecordError', 'DecryptionError']).toContain((err as Error).name)
    }
  })

  it('signs exactly "weft-record-v2" || event CID || prev CID || pubKey for a self-authored record', async () => {
    const o = await openRecord(second, opts())
    expect(o.prev).not.toBeNull()
    const payload = recordSigningPayload({ version: 2, block: o.eventCID, prev: o.prev!, pubKey: publicKeyToBytes(o.author) })
    expect(new TextDecoder().decode(payload.subarray(0, 14))).toBe('weft-record-v2')
    expect(payload.byteLength).toBe(14 + 36 + 36 + 36)
    expect(await logKey.publicKey.verify(payload, o.sig)).toBe(true)
  })
})

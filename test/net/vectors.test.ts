import { createDecipheriv, createHash, createHmac } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import * as ed from '@noble/ed25519'
import { CID } from 'multiformats/cid'
import { privateKeyFromSeed } from '../../src/core/identity.js'
import { checkForkProof } from '../../src/net/forks.js'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.js'
import { decodeFrame, encodeFrame, type Frame } from '../../src/net/messages.js'
import { build, inputs } from '../vectors/generate-protocol.js'

const committed = JSON.parse(readFileSync(new URL('../vectors/protocol-v2.json', import.meta.url), 'utf8')) as {
  outputs: {
    kid: string; auth: string; requesterPeerId: string; responderPeerId: string; frames: Record<string, string>; framed: { ok: string }
    headsDigest: string; headsDigestFrozen: string
    addrs: { payload: string; sig: string }
    fork: { prev: string; records: [string, string]; cids: [string, string] }
  }
}
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const u16 = (b: Uint8Array): Uint8Array => concatBytes([new Uint8Array([b.byteLength >> 8, b.byteLength & 0xff]), b])

const invalid = expect.objectContaining({ name: 'InvalidMessageError' }) as Error

describe('protocol v2 test vectors', () => {
  it('recomputes every committed vector byte for byte', async () => {
    expect(await build()).toEqual(committed)
  })

  it('matches an independent computation of the key ID and the proof (node:crypto)', () => {
    const key = fromHex(inputs.serviceKey)
    const kid = createHash('sha256').update(utf8('weft-net-kid-v1')).update(key).digest().subarray(0, 16)
    expect(toHex(kid)).toBe(committed.outputs.kid)
    const auth = createHmac('sha256', key)
      .update(utf8('weft-net-auth-v1'))
      .update(u16(fromHex(inputs.thread)))
      .update(u16(fromHex(committed.outputs.requesterPeerId)))
      .update(u16(fromHex(committed.outputs.responderPeerId)))
      .digest()
    expect(toHex(auth)).toBe(committed.outputs.auth)
  })

  it('decodes every committed frame and encodes it back to the same bytes', () => {
    for (const [name, hex] of Object.entries(committed.outputs.frames)) {
      expect(toHex(encodeFrame(decodeFrame(fromHex(hex)))), name).toBe(hex)
    }
    // a frame on the wire: its length as an unsigned varint, then the frame
    const framed = fromHex(committed.outputs.framed.ok)
    expect(framed[0]).toBe(framed.byteLength - 1)
    expect(toHex(framed.subarray(1))).toBe(committed.outputs.frames.ok)
  })

  it('matches the heads digest and the signed address list as documented, computed independently (node:crypto, noble)', async () => {
    const o = committed.outputs
    const resId = fromHex(o.responderPeerId)
    const reqId = fromHex(o.requesterPeerId)
    const head = CID.parse(inputs.head)
    // dag-cbor rows by hand: a log, and the same log frozen (a fourth element, the fork's counter).
    const rows = (fork?: number): Uint8Array => dagCbor.encode([[reqId, new Uint8Array(0), 0], fork === undefined ? [resId, head.bytes, 7] : [resId, head.bytes, 7, fork]].sort((a, b) => Buffer.compare(Buffer.from(a[0] as Uint8Array), Buffer.from(b[0] as Uint8Array))))
    const digest = (b: Uint8Array): string => createHash('sha256').update(utf8('weft-net-heads-v1')).update(b).digest('hex')
    expect(digest(rows())).toBe(o.headsDigest)
    expect(digest(rows(inputs.forkCounter))).toBe(o.headsDigestFrozen)
    // The address list payload: domain, u16-prefixed thread and log, u64 seq, dag-cbor list.
    const u64 = Buffer.alloc(8)
    u64.writeBigUInt64BE(BigInt(inputs.addrs.seq))
    const payload = concatBytes([utf8('weft-log-addrs-v1'), u16(fromHex(inputs.thread)), u16(reqId), u64, dagCbor.encode(inputs.addrs.list)])
    expect(toHex(payload)).toBe(o.addrs.payload)
    const requester = await privateKeyFromSeed(fromHex(inputs.requesterSeed))
    expect(await ed.verifyAsync(fromHex(o.addrs.sig), payload, requester.publicKey.raw, { zip215: false })).toBe(true)
    const frame = decodeFrame(fromHex(o.frames.pushLogSigned!)) as Extract<Frame, { type: 'pushLog' }>
    expect(frame.log).toMatchObject({ addrs: inputs.addrs.list, addrSeq: inputs.addrs.seq })
    expect(toHex(frame.log.addrSig!)).toBe(o.addrs.sig)
  })

  it('holds a fork proof: two records the log key signed after the same record, found by checkForkProof', async () => {
    const o = committed.outputs
    const responder = await privateKeyFromSeed(fromHex(inputs.responderSeed))
    const records = o.fork.records.map(fromHex) as [Uint8Array, Uint8Array]
    const checked = await checkForkProof(fromHex(inputs.serviceKey), responder.publicKey, records)
    expect(checked.prev?.toString()).toBe(o.fork.prev)
    expect(checked.cids.map((c) => c.toString())).toEqual(o.fork.cids)
    // Independently: both record nodes decrypt (node:crypto AES-GCM) to maps that follow the same prev.
    for (const r of records) {
      const content = r.subarray(r[0] === 0x58 ? 2 : 3)
      const decipher = createDecipheriv('aes-256-gcm', fromHex(inputs.serviceKey), content.subarray(0, 12))
      decipher.setAuthTag(content.subarray(content.length - 16))
      const node = dagCbor.decode(Buffer.concat([decipher.update(content.subarray(12, content.length - 16)), decipher.final()])) as { prev: CID; v: number }
      expect([node.v, node.prev.toString()]).toEqual([2, o.fork.prev])
    }
    const frame = decodeFrame(fromHex(o.frames.pushLogFork!)) as Extract<Frame, { type: 'pushLog' }>
    expect(frame.log.fork?.counter).toBe(inputs.forkCounter)
    expect(frame.log.fork?.records.map(toHex)).toEqual(o.fork.records)
    // Not a proof: a record twice, or two records of another key.
    await expect(checkForkProof(fromHex(inputs.serviceKey), responder.publicKey, [records[0], records[0]])).rejects.toMatchObject({ name: 'InvalidMessageError' })
    const other = await privateKeyFromSeed(fromHex(inputs.requesterSeed))
    await expect(checkForkProof(fromHex(inputs.serviceKey), other.publicKey, records)).rejects.toMatchObject({ name: 'InvalidMessageError' })
  })

  it('rejects truncated, mistyped and ambiguous frames with InvalidMessageError', () => {
    const getLogs = fromHex(committed.outputs.frames.getLogs!)
    const decoded = decodeFrame(getLogs) as Extract<Frame, { type: 'getLogs' }>
    expect(() => decodeFrame(getLogs.subarray(0, getLogs.length - 3))).toThrow(invalid)
    // a thread ID too short, a proof too short, a key ID too long
    expect(() => decodeFrame(encodeFrame({ ...decoded, thread: new Uint8Array(2) }))).toThrow(invalid)
    expect(() => decodeFrame(encodeFrame({ ...decoded, auth: new Uint8Array(31) }))).toThrow(invalid)
    expect(() => decodeFrame(encodeFrame({ ...decoded, kid: new Uint8Array(17) }))).toThrow(invalid)
    // a request without an ID, an ID out of range, a credit over the limit
    expect(() => decodeFrame(encodeFrame({ ...decoded, id: undefined } as unknown as Frame))).toThrow(invalid)
    expect(() => decodeFrame(encodeFrame({ ...decoded, id: 2 ** 32 }))).toThrow(invalid)
    expect(() => decodeFrame(encodeFrame({ type: 'credit', id: 1, n: 16 * 1024 * 1024 + 1 }))).toThrow(invalid)
    // an error code that does not exist, a response type that does not exist
    expect(() => decodeFrame(encodeFrame({ type: 'error', re: 1, code: 'NOPE' as 'BUSY', message: 'x' }))).toThrow(invalid)
    expect(() => decodeFrame(encodeFrame({ type: 'getLogs', re: 1 } as unknown as Frame))).toThrow(invalid)
    // not a map
    expect(() => decodeFrame(new Uint8Array([0x82, 0x01, 0x02]))).toThrow(invalid)
  })
})

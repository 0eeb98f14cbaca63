import { createHash, createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.js'
import { decodeFrame, encodeFrame, type Frame } from '../../src/net/messages.js'
import { build, inputs } from '../vectors/generate-protocol.js'

const committed = JSON.parse(readFileSync(new URL('../vectors/protocol-v2.json', import.meta.url), 'utf8')) as {
  outputs: { kid: string; auth: string; requesterPeerId: string; responderPeerId: string; frames: Record<string, string>; framed: { ok: string } }
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

import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../src/core/bytes.js'
import { decodeRequest, decodeResponse, encodeMessage } from '../../src/net/messages.js'
import { build } from '../vectors/generate-protocol.js'

const committed = JSON.parse(readFileSync(new URL('../vectors/protocol-v1.json', import.meta.url), 'utf8')) as {
  outputs: { messages: Record<string, string> }
}

describe('protocol v1 test vectors', () => {
  it('recomputes every committed vector byte for byte', async () => {
    expect(await build()).toEqual(committed)
  })

  it('decodes every committed message and encodes it back to the same bytes', () => {
    const requests = new Set(['getLogs', 'pushLog', 'heads', 'getRecords', 'pushRecord'])
    for (const [name, hex] of Object.entries(committed.outputs.messages)) {
      const bytes = fromHex(hex)
      const decoded = requests.has(name) ? decodeRequest(bytes) : decodeResponse(bytes)
      expect(toHex(encodeMessage(decoded)), name).toBe(hex)
    }
  })

  it('rejects truncated and mistyped messages with InvalidMessageError', () => {
    const getLogs = fromHex(committed.outputs.messages.getLogs!)
    expect(() => decodeRequest(getLogs.subarray(0, getLogs.length - 3))).toThrow(expect.objectContaining({ name: 'InvalidMessageError' }) as Error)
    expect(() => decodeRequest(encodeMessage({ type: 'getLogs', thread: new Uint8Array(2), auth: new Uint8Array(32) }))).toThrow(expect.objectContaining({ name: 'InvalidMessageError' }) as Error)
    expect(() => decodeRequest(encodeMessage({ type: 'getLogs', thread: new Uint8Array(34), auth: new Uint8Array(31) }))).toThrow(expect.objectContaining({ name: 'InvalidMessageError' }) as Error)
    expect(() => decodeResponse(encodeMessage({ type: 'error', code: 'NOPE' as 'BUSY', message: 'x' }))).toThrow(expect.objectContaining({ name: 'InvalidMessageError' }) as Error)
    expect(() => decodeRequest(new Uint8Array([0x82, 0x01, 0x02]))).toThrow(expect.objectContaining({ name: 'InvalidMessageError' }) as Error)
  })
})

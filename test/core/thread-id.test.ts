import { describe, it, expect } from 'vitest'
import { bases } from 'multiformats/basics'
import {
  ThreadVariant, isThreadID, newThreadID, parseThreadID, threadIDFromBytes, threadIDToBytes, threadIDVariant
} from '../../src/core/index.js'

const fixed = (n: number) => (size: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i + n) & 0xff)

function idBytes(version: number, variant: number, random: number): Uint8Array {
  return Uint8Array.from([version, variant, ...fixed(1)(random)])
}

describe('thread IDs', () => {
  it('creates a Raw ID with a 32-byte random part by default, in canonical base32 (bafk…)', () => {
    const id = newThreadID()
    expect(id.startsWith('bafk')).toBe(true)
    expect(threadIDToBytes(id).byteLength).toBe(34)
    expect(threadIDVariant(id)).toBe(ThreadVariant.Raw)
    expect(isThreadID(id)).toBe(true)
  })

  it('creates AccessControlled IDs (bafy…)', () => {
    const id = newThreadID(ThreadVariant.AccessControlled)
    expect(id.startsWith('bafy')).toBe(true)
    expect(threadIDVariant(id)).toBe(ThreadVariant.AccessControlled)
  })

  it('creates different IDs each time', () => {
    expect(newThreadID()).not.toBe(newThreadID())
  })

  it('uses the injected random source and size', () => {
    const id = newThreadID(ThreadVariant.Raw, 16, fixed(7))
    expect([...threadIDToBytes(id)]).toEqual([1, 0x55, ...fixed(7)(16)])
  })

  it('rejects new IDs with a random part outside 16..128 bytes or an unknown variant', () => {
    expect(() => newThreadID(ThreadVariant.Raw, 15)).toThrow(expect.objectContaining({ name: 'InvalidThreadIDError' }))
    expect(() => newThreadID(ThreadVariant.Raw, 129)).toThrow(expect.objectContaining({ name: 'InvalidThreadIDError' }))
    expect(() => newThreadID(ThreadVariant.Raw, 16.5)).toThrow(expect.objectContaining({ name: 'InvalidThreadIDError' }))
    expect(() => newThreadID(0x56 as ThreadVariant)).toThrow(expect.objectContaining({ name: 'InvalidThreadIDError' }))
  })

  it('round-trips through bytes', () => {
    const bytes = idBytes(1, 0x55, 32)
    const id = threadIDFromBytes(bytes)
    expect(threadIDToBytes(id)).toEqual(bytes)
    expect(id).toBe(bases.base32.encode(bytes))
  })

  it.each(['base32', 'base32upper', 'base58btc', 'base36', 'base64', 'base64url', 'base16', 'base2', 'base256emoji'] as const)(
    'parses a %s string into the canonical base32 form',
    (name) => {
      const bytes = idBytes(1, 0x70, 24)
      const canonical = threadIDFromBytes(bytes)
      expect(parseThreadID(bases[name].encode(bytes))).toBe(canonical)
    }
  )

  it('accepts a 1-byte random part when parsing (go-threads compatibility) and up to 128 bytes', () => {
    expect(threadIDToBytes(threadIDFromBytes(idBytes(1, 0x55, 1))).byteLength).toBe(3)
    expect(threadIDToBytes(threadIDFromBytes(idBytes(1, 0x55, 128))).byteLength).toBe(130)
  })

  it.each([
    ['an empty random part', idBytes(1, 0x55, 0)],
    ['a truncated ID (version only)', Uint8Array.of(1)],
    ['no bytes at all', new Uint8Array(0)],
    ['an unknown version', idBytes(2, 0x55, 32)],
    ['version 0', idBytes(0, 0x55, 32)],
    ['a non-minimal varint version', Uint8Array.of(0x81, 0x00, 0x55, 1, 2, 3)],
    ['an unknown variant', idBytes(1, 0x71, 32)],
    ['a random part over 128 bytes', idBytes(1, 0x55, 129)]
  ])('rejects bytes with %s', (_, bytes) => {
    expect(() => threadIDFromBytes(bytes)).toThrow(expect.objectContaining({ name: 'InvalidThreadIDError' }))
    expect(() => parseThreadID(bases.base32.encode(bytes))).toThrow(expect.objectContaining({ name: 'InvalidThreadIDError' }))
  })

  it.each([
    ['the empty string', ''],
    ['a prefix alone', 'b'],
    ['an unknown multibase prefix', 'xafkreiabc'],
    ['characters outside the alphabet', 'bafk!!!!'],
    ['a non-string', 42 as unknown as string]
  ])('rejects %s', (_, input) => {
    expect(() => parseThreadID(input)).toThrow(expect.objectContaining({ name: 'InvalidThreadIDError' }))
  })

  it('rejects a huge string with OversizedInputError before decoding it', () => {
    expect(() => parseThreadID('b' + 'a'.repeat(5000))).toThrow(expect.objectContaining({ name: 'OversizedInputError' }))
  })

  it('recognises only canonical IDs', () => {
    const bytes = idBytes(1, 0x55, 32)
    expect(isThreadID(threadIDFromBytes(bytes))).toBe(true)
    expect(isThreadID(bases.base58btc.encode(bytes))).toBe(false)
    expect(isThreadID(bases.base32upper.encode(bytes))).toBe(false)
    expect(isThreadID('bafk')).toBe(false)
    expect(isThreadID(undefined)).toBe(false)
    expect(isThreadID(12)).toBe(false)
  })

  it('errors carry a stable code', () => {
    try {
      parseThreadID('b')
      expect.unreachable()
    } catch (err) {
      expect(err).toMatchObject({ name: 'InvalidThreadIDError', code: 'ERR_INVALID_THREAD_ID' })
    }
  })
})

import { describe, it, expect } from 'vitest'
import { bases } from 'multiformats/basics'
import {
  canRead, newThreadKey, parseThreadKey, serviceKeyOnly, threadKeyFromBytes, threadKeyToBytes, threadKeyToString,
  threadKeysEqual, assertThreadKey
} from '../../src/core/index.js'

const seq = (start: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff)

describe('thread keys', () => {
  it('creates a key with distinct random 32-byte service and read keys', () => {
    const key = newThreadKey()
    expect(key.service.byteLength).toBe(32)
    expect(key.read.byteLength).toBe(32)
    expect(key.service).not.toEqual(key.read)
    expect(canRead(key)).toBe(true)
    expect(threadKeysEqual(key, newThreadKey())).toBe(false)
  })

  it('encodes service || read as 64 bytes and round-trips', () => {
    const bytes = seq(0, 64)
    const key = threadKeyFromBytes(bytes)
    expect(key.service).toEqual(seq(0, 32))
    expect(key.read).toEqual(seq(32, 32))
    expect(threadKeyToBytes(key)).toEqual(bytes)
  })

  it('does not share memory with the bytes it was parsed from', () => {
    const bytes = seq(0, 64)
    const key = threadKeyFromBytes(bytes)
    bytes.fill(0)
    expect(key.service).toEqual(seq(0, 32))
  })

  it('encodes a service-only key as 32 bytes and round-trips', () => {
    const key = threadKeyFromBytes(seq(9, 32))
    expect(key.read).toBeUndefined()
    expect(canRead(key)).toBe(false)
    expect(threadKeyToBytes(key)).toEqual(seq(9, 32))
  })

  it('strips the read key for replicators', () => {
    const key = newThreadKey()
    const only = serviceKeyOnly(key)
    expect(only).toEqual({ service: key.service })
    expect(canRead(only)).toBe(false)
    expect(threadKeyToBytes(only).byteLength).toBe(32)
  })

  it('has a base32 string form and parses any multibase', () => {
    const key = threadKeyFromBytes(seq(100, 64))
    const str = threadKeyToString(key)
    expect(str.startsWith('b')).toBe(true)
    expect(str).toBe(bases.base32.encode(seq(100, 64)))
    expect(threadKeysEqual(parseThreadKey(str), key)).toBe(true)
    expect(threadKeysEqual(parseThreadKey(bases.base58btc.encode(seq(100, 64))), key)).toBe(true)
    expect(threadKeysEqual(parseThreadKey(bases.base64.encode(seq(100, 64))), key)).toBe(true)
    expect(threadKeysEqual(parseThreadKey(threadKeyToString(serviceKeyOnly(key))), serviceKeyOnly(key))).toBe(true)
  })

  it('compares keys by all their bytes', () => {
    const key = threadKeyFromBytes(seq(0, 64))
    expect(threadKeysEqual(key, threadKeyFromBytes(seq(0, 64)))).toBe(true)
    expect(threadKeysEqual(key, serviceKeyOnly(key))).toBe(false)
    expect(threadKeysEqual(key, threadKeyFromBytes(seq(1, 64)))).toBe(false)
  })

  it.each([0, 1, 31, 33, 48, 63, 65, 96])('rejects %i bytes', (n) => {
    expect(() => threadKeyFromBytes(seq(0, n))).toThrow(expect.objectContaining({ name: 'InvalidThreadKeyError' }))
    expect(() => parseThreadKey(bases.base32.encode(seq(0, n)))).toThrow(expect.objectContaining({ name: 'InvalidThreadKeyError' }))
  })

  it('rejects malformed strings and oversized input', () => {
    expect(() => parseThreadKey('')).toThrow(expect.objectContaining({ name: 'InvalidThreadKeyError' }))
    expect(() => parseThreadKey('b!!!')).toThrow(expect.objectContaining({ name: 'InvalidThreadKeyError' }))
    expect(() => parseThreadKey('qabc')).toThrow(expect.objectContaining({ name: 'InvalidThreadKeyError' }))
    expect(() => parseThreadKey('b' + 'a'.repeat(4000))).toThrow(expect.objectContaining({ name: 'OversizedInputError' }))
  })

  it('rejects key objects with wrong shapes', () => {
    expect(() => assertThreadKey(null)).toThrow(expect.objectContaining({ name: 'InvalidThreadKeyError' }))
    expect(() => assertThreadKey({ service: seq(0, 31) })).toThrow(expect.objectContaining({ name: 'InvalidThreadKeyError' }))
    expect(() => assertThreadKey({ service: seq(0, 32), read: seq(0, 16) })).toThrow(expect.objectContaining({ name: 'InvalidThreadKeyError' }))
    expect(() => assertThreadKey({ service: 'x'.repeat(32) })).toThrow(expect.objectContaining({ name: 'InvalidThreadKeyError' }))
    expect(() => threadKeyToBytes({ service: seq(0, 8) })).toThrow(expect.objectContaining({ name: 'InvalidThreadKeyError' }))
  })

  it('is structured-cloneable', () => {
    const key = newThreadKey()
    expect(threadKeysEqual(structuredClone(key), key)).toBe(true)
  })
})

import { describe, expect, it } from 'vitest'
import {
  compareBytes,
  concatBytes,
  decodeTuple,
  decodeUint64,
  encodeTuple,
  encodeUint64,
  prefixUpperBound,
  startsWith
} from '../../src/store/keys.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'))

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('key helpers', () => {
  it('encodes u64 counters big-endian so they sort numerically', () => {
    expect(hex(encodeUint64(0))).toBe('0000000000000000')
    expect(hex(encodeUint64(1))).toBe('0000000000000001')
    expect(hex(encodeUint64(2 ** 40 + 5))).toBe('0000010000000005')
    expect(hex(encodeUint64(Number.MAX_SAFE_INTEGER))).toBe('001fffffffffffff')
    for (const n of [0, 1, 255, 256, 65535, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) expect(decodeUint64(encodeUint64(n))).toBe(n)
    const ns = [7, 300, 2 ** 33, 1, 0, 256, 2 ** 32 - 1]
    const sorted = ns.map(encodeUint64).sort(compareBytes).map((b) => decodeUint64(b))
    expect(sorted).toEqual([...ns].sort((a, b) => a - b))
  })

  it('rejects counters that are negative, fractional or unsafe with InvalidStoreInputError', () => {
    for (const n of [-1, 1.5, 2 ** 53, Number.NaN]) expect(() => encodeUint64(n)).toThrow(expect.objectContaining({ name: 'InvalidStoreInputError' }))
  })

  it('computes the exclusive upper bound of a prefix', () => {
    expect(hex(prefixUpperBound(bytes('0102')) as Uint8Array)).toBe('0103')
    expect(hex(prefixUpperBound(bytes('01ff')) as Uint8Array)).toBe('02')
    expect(hex(prefixUpperBound(bytes('00ffff')) as Uint8Array)).toBe('01')
    expect(prefixUpperBound(bytes('ffff'))).toBeUndefined()
    expect(prefixUpperBound(new Uint8Array(0))).toBeUndefined()
  })

  it('encodes tuples with 0x00 escaped as 00 ff and 00 01 terminators', () => {
    expect(hex(encodeTuple(['ls', 'v']))).toBe('6c730001' + '760001')
    expect(hex(encodeTuple([bytes('010002')]))).toBe('0100ff02' + '0001')
    expect(hex(encodeTuple(['']))).toBe('0001')
    expect(hex(encodeTuple([bytes('00')]))).toBe('00ff0001')
  })

  it('decodes tuples and reports where a raw suffix starts', () => {
    const key = concatBytes(encodeTuple(['ls', bytes('00ff00'), 'x']), encodeUint64(9))
    const { segments, end } = decodeTuple(key, 3)
    expect(segments.map(hex)).toEqual([hex(new TextEncoder().encode('ls')), '00ff00', '78'])
    expect(decodeUint64(key, end)).toBe(9)
    expect(() => decodeTuple(bytes('6c7300'), 1)).toThrow(expect.objectContaining({ name: 'InvalidStoreInputError' }))
    expect(() => decodeTuple(bytes('000201'), 1)).toThrow(expect.objectContaining({ name: 'InvalidStoreInputError' }))
  })

  it('never lets one tuple encoding collide with or prefix another of different segments', () => {
    // ("a", "\xff") vs ("a\x00") is the classic collision of a 1-byte terminator.
    const a = encodeTuple(['a', bytes('ff')])
    const b = encodeTuple([concatBytes(new TextEncoder().encode('a'), bytes('00'))])
    expect(hex(a)).not.toBe(hex(b))
    expect(startsWith(a, encodeTuple(['a']))).toBe(true)
    expect(startsWith(b, encodeTuple(['a']))).toBe(false)
  })

  it('orders encoded tuples as their segments compare, one segment at a time (seeded random check)', () => {
    const seed = 20240611
    const random = prng(seed)
    const segment = (): Uint8Array => Uint8Array.from({ length: Math.floor(random() * 4) }, () => [0, 1, 0xfe, 0xff, 0x61][Math.floor(random() * 5)] as number)
    const tuples = Array.from({ length: 400 }, () => Array.from({ length: 1 + Math.floor(random() * 3) }, segment))
    const bySegments = (x: Uint8Array[], y: Uint8Array[]): number => {
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareBytes(x[i] as Uint8Array, y[i] as Uint8Array)
        if (c !== 0) return c
      }
      return x.length - y.length
    }
    for (let i = 0; i < tuples.length - 1; i++) {
      const x = tuples[i] as Uint8Array[]
      const y = tuples[i + 1] as Uint8Array[]
      const expected = Math.sign(bySegments(x, y))
      expect(Math.sign(compareBytes(encodeTuple(x), encodeTuple(y))), `seed ${seed}, pair ${i}`).toBe(expected)
      expect(decodeTuple(encodeTuple(x), x.length).segments.map(hex)).toEqual(x.map(hex))
    }
  })
})

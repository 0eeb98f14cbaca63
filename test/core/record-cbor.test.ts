/**
 * The direct DAG-CBOR writer of record values (src/core/record-cbor.ts) writes exactly the bytes
 * of `@ipld/dag-cbor`, and leaves to it everything it does not write.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { encodeNode } from '../../src/core/block.js'
import { encodeRecordValue } from '../../src/core/record-cbor.js'

const cid = CID.parse('bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

/** A deterministic pseudo-random value of the shapes the writer takes. */
function randomValue(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 6 : 9))
  switch (pick) {
    case 0: return Math.floor((next() - 0.5) * 2 ** (Math.floor(next() * 54)))
    case 1: return ['', 'a', 'b€', '😀', '\u0000', 'é'].slice(0, Math.floor(next() * 7)).join('') + String(Math.floor(next() * 1e6)).repeat(Math.floor(next() * 40))
    case 2: return bytes(Math.floor(next() * 300), Math.floor(next() * 255))
    case 3: return next() < 0.5
    case 4: return null
    case 5: return cid
    case 6: return Array.from({ length: Math.floor(next() * 5) }, () => randomValue(next, depth + 1))
    default: {
      const o: Record<string, unknown> = {}
      for (let i = Math.floor(next() * 7); i > 0; i--) o[['a', 'bb', 'ops', 'txn', 'weftdb', 'z', 'é', 'key', 'time', String(Math.floor(next() * 300))][Math.floor(next() * 10)]!] = randomValue(next, depth + 1)
      return o
    }
  }
}

describe('record values in DAG-CBOR', () => {
  it('writes the bytes @ipld/dag-cbor writes for the shapes of a record\'s nodes', () => {
    const values: unknown[] = [
      { weftdb: 2, ops: '[{"t":"create","c":"People","id":"01j","doc":{"name":"ada"}}]' },
      { weftdb: 2, ops: '[]', txn: { id: '01jx', part: 3, parts: 7 } },
      { key: bytes(32), time: [1_764_489_600_000, 0] },
      { key: bytes(32), time: [2 ** 53 - 1, 2 ** 32 + 5] },
      { body: cid, header: cid },
      { v: 2, block: cid, sig: bytes(64), pubKey: bytes(36), prev: cid },
      { v: 2, block: cid, sig: bytes(64), pubKey: bytes(36), cert: { author: bytes(36), sig: bytes(64), v: 1 } },
      'x'.repeat(23), 'x'.repeat(24), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(70_000),
      0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, -1, -24, -25, -(2 ** 53) + 1,
      [], {}, [[[]]], true, false, null, bytes(0), bytes(24), bytes(70_000)
    ]
    for (const v of values) expect(encodeRecordValue(v), JSON.stringify(v, (_, x) => x instanceof Uint8Array ? `bytes(${x.length})` : x)).toEqual(new Uint8Array(dagCbor.encode(v)))
  })

  it('writes the bytes @ipld/dag-cbor writes for 2,000 random values', () => {
    let seed = 42
    const next = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let i = 0; i < 2_000; i++) {
      const v = randomValue(next)
      expect(encodeRecordValue(v)).toEqual(new Uint8Array(dagCbor.encode(v)))
    }
  })

  it('leaves floats, bigints, -0, undefined, lone surrogates, Buffers and class instances to the general encoder', () => {
    class Thing { a = 1 }
    const others: unknown[] = [1.5, 10n, -0, undefined, { a: undefined }, 'a\ud800', { ['\udc00']: 1 }, Buffer.from([1, 2]), new Thing(), new Map(), [1, 0.25], () => 1]
    for (const v of others) expect(encodeRecordValue(v)).toBeUndefined()
    // encodeNode still encodes what dag-cbor encodes, and names what it refuses.
    expect(encodeNode(1.5)).toEqual(dagCbor.encode(1.5))
    expect(() => encodeNode({ a: undefined })).toThrow(expect.objectContaining({ name: 'InvalidBlockError' }))
  })
})

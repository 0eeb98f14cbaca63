/**
 * The direct encoder of stored events writes exactly the bytes of `@ipld/dag-cbor`, and leaves
 * every shape it does not know to it.
 */
import * as cbor from '@ipld/dag-cbor'
import { describe, expect, it } from 'vitest'
import { encodeStoredFast, type StoredShape } from '../../src/db/stored-cbor.js'

const long = (n: number, unit = 'x'): string => unit.repeat(n)

const SHAPES: StoredShape[] = [
  { a: 'bafzaajaiaejca', b: { weftdb: 2, ops: '[{"t":"create"}]' }, s: 0, u: '[["d","People","x",null]]' },
  { a: null, b: { weftdb: 1, ops: '' } },
  { a: 'é ü 漢字 😀', b: { ops: 'ops with ünïcödé 😀', weftdb: 2, txn: { id: 'txn-1', part: 0, parts: 3 } }, s: 0, u: '[]' },
  { a: 'w', b: { weftdb: 2, ops: long(23) }, s: 1, r: { name: 'UniqueConstraintError', message: 'unique constraint violation' } },
  { a: 'w', b: { weftdb: 2, ops: long(24) }, s: 1, r: { name: 'UnreadableEventError', message: long(300, 'é') }, f: 1 },
  { a: 'w', b: { weftdb: 2, ops: long(255) }, s: 0, u: long(256) },
  { a: 'w', b: { weftdb: 2, ops: long(65_535) }, s: 0, u: long(21_845, '€') },
  { a: 'w', b: { weftdb: 2, ops: long(70_000, '😀') }, s: 0, u: long(65_536) },
  { a: 'w', b: { weftdb: 300, ops: 'x', txn: { id: '', part: 65_536, parts: 2 ** 32 + 5 } }, s: 0, u: '' }
]

describe('stored event encoding', () => {
  it('writes the same bytes as dag-cbor for every shape the DB stores', () => {
    for (const e of SHAPES) {
      const fast = encodeStoredFast(e)
      expect(fast).toBeDefined()
      expect(Buffer.from(fast!).equals(Buffer.from(cbor.encode(e as object)))).toBe(true)
      expect(cbor.decode(fast!)).toEqual(e)
    }
  })

  it('leaves other shapes, numbers and ill-formed strings to dag-cbor', () => {
    const others: unknown[] = [
      { a: 'w', b: null },
      { a: 'w', b: { weftdb: 2, ops: 'x', extra: 1 } },
      { a: 'w', b: { weftdb: 2.5, ops: 'x' } },
      { a: 'w', b: { weftdb: -1, ops: 'x' } },
      { a: 'w', b: { weftdb: 2, ops: 'x', txn: { id: 'a', part: 0 } } },
      { a: 'w', b: { weftdb: 2, ops: '\ud800' } },
      { a: '\udc00', b: { weftdb: 2, ops: 'x' } },
      { a: 'w', b: ['x'] },
      { a: 'w', b: { weftdb: 2, ops: 'x' }, r: { name: 'E', message: 'm', cause: 'c' } },
      { a: 'w', b: Object.assign(Object.create({ inherited: 1 }) as object, { weftdb: 2, ops: 'x' }) }
    ]
    for (const e of others) expect(encodeStoredFast(e as StoredShape)).toBeUndefined()
  })
})

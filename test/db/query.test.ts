/**
 * Queries: operators on dot paths over strings, numbers and booleans, and/or nesting, sort before
 * skip and limit, the JSON form and the builder, and index use (proved by `explain`: instances
 * and index entries read). A property test checks that every plan returns exactly what a
 * brute-force filter and sort of all instances returns.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Query, Where, where, type Database, type JSONObject, type QueryJSON } from '../../src/db/index.js'
import { compareStrings, compareValues, getPath } from '../../src/db/json.js'
import { compareBytes, encodeIndexValue } from '../../src/db/keys.js'
import { createFakeWorld, replica, type TestReplica } from './helpers.js'

let r: TestReplica
let db: Database

const people = [
  { _id: 'p1', name: 'Alice', age: 30, active: true, address: { city: 'Paris', zip: 75001 } },
  { _id: 'p2', name: 'Bob', age: 25, active: false, address: { city: 'Berlin', zip: 10115 } },
  { _id: 'p3', name: 'Carol', age: 35, active: true, address: { city: 'Paris', zip: 75002 } },
  { _id: 'p4', name: 'Dave', age: 25, active: true },
  { _id: 'p5', name: 'Eve', age: 41.5, active: false, address: { city: 'Rome', zip: 100 } },
  { _id: 'p6', name: 'Ében', age: -3, active: true, address: { city: 'Zürich', zip: 8001 } }
]

beforeAll(async () => {
  r = await replica(createFakeWorld(), 'q')
  db = await r.manager.newDB(undefined, {
    collections: [{ name: 'People', indexes: [{ path: 'name', unique: true }, { path: 'age' }, { path: 'address.city' }, { path: 'active' }] }, { name: 'Plain' }]
  })
  await db.create('People', people)
  await db.create('Plain', people)
})
afterAll(async () => { await r.manager.close() })

const ids = (docs: JSONObject[]): string[] => docs.map((d) => d._id as string)

describe('operators', () => {
  for (const coll of ['People', 'Plain']) {
    it(`answers eq, ne, gt, ge, lt, le on strings, numbers, booleans and dot paths (${coll})`, async () => {
      expect(ids(await db.find(coll, where('name').eq('Bob')))).toEqual(['p2'])
      expect(ids(await db.find(coll, where('name').ne('Bob')))).toEqual(['p1', 'p3', 'p4', 'p5', 'p6'])
      expect(ids(await db.find(coll, where('age').gt(30)))).toEqual(['p3', 'p5'])
      expect(ids(await db.find(coll, where('age').ge(30)))).toEqual(['p1', 'p3', 'p5'])
      expect(ids(await db.find(coll, where('age').lt(25)))).toEqual(['p6'])
      expect(ids(await db.find(coll, where('age').le(25)))).toEqual(['p2', 'p4', 'p6'])
      expect(ids(await db.find(coll, where('active').eq(false)))).toEqual(['p2', 'p5'])
      expect(ids(await db.find(coll, where('address.city').eq('Paris')))).toEqual(['p1', 'p3'])
      expect(ids(await db.find(coll, where('address.zip').gt(10000)))).toEqual(['p1', 'p2', 'p3'])
      // Strings compare by code point: 'É' sorts after 'Z'.
      expect(ids(await db.find(coll, where('name').gt('Eve')))).toEqual(['p6'])
      // Types never mix: a number is not greater than a string.
      expect(ids(await db.find(coll, where('name').gt(0)))).toEqual([])
      // A missing field is "not equal" to anything and matches no other operator.
      expect(ids(await db.find(coll, where('address.city').ne('Paris')))).toEqual(['p2', 'p4', 'p5', 'p6'])
      // _id conditions go through the instance keys.
      expect(ids(await db.find(coll, where('_id').gt('p4')))).toEqual(['p5', 'p6'])
    })

    it(`nests and/or (${coll})`, async () => {
      // (age >= 30 and active) or name = Bob
      const q = where('age').ge(30).and('active').eq(true).or(where('name').eq('Bob'))
      expect(ids(await db.find(coll, q))).toEqual(['p1', 'p2', 'p3'])
      const nested: QueryJSON = {
        ors: [
          { ands: [{ fieldPath: 'address.city', operation: 0, value: { string: 'Rome' } }] },
          { ands: [{ fieldPath: 'age', operation: 3, value: { float: 0 } }], ors: [{ ands: [{ fieldPath: 'name', operation: 'eq', value: 'Dave' }] }] }
        ]
      }
      expect(ids(await db.find(coll, nested))).toEqual(['p4', 'p5', 'p6'])
    })

    it(`sorts before skip and limit, ascending and descending on any field (${coll})`, async () => {
      expect(ids(await db.find(coll, new Query().orderBy('age')))).toEqual(['p6', 'p2', 'p4', 'p1', 'p3', 'p5'])
      expect(ids(await db.find(coll, new Query().orderByDesc('age').skipNum(1).limitTo(2)))).toEqual(['p3', 'p1'])
      expect(ids(await db.find(coll, where('active').eq(true).orderByDesc('name').limitTo(2)))).toEqual(['p6', 'p4'])
      // Missing values sort first.
      expect(ids(await db.find(coll, new Query().orderBy('address.city').limitTo(2)))).toEqual(['p4', 'p2'])
      expect(ids(await db.find(coll, new Query().orderByIDDesc().limitTo(2)))).toEqual(['p6', 'p5'])
      expect(ids(await db.find(coll, { sort: { fieldPath: '_id' }, seek: 'p4' }))).toEqual(['p4', 'p5', 'p6'])
      expect(ids(await db.find(coll, { skip: 5 }))).toEqual(['p6'])
      expect(ids(await db.find(coll, { skip: 6 }))).toEqual([])
    })
  }

  it('accepts the original Where style and the wire form with numeric operations', async () => {
    expect(ids(await db.find('People', new Where('name').eq('Alice')))).toEqual(['p1'])
    expect(ids(await db.find('People', Query.where('age').lt(30).orderBy('name')))).toEqual(['p2', 'p4', 'p6'])
    const wire = JSON.parse(JSON.stringify(where('age').gt(30).limitTo(1))) as QueryJSON
    expect(wire).toEqual({ ands: [{ fieldPath: 'age', operation: 2, value: { float: 30 } }], ors: [], limit: 1 })
    expect(ids(await db.find('People', wire))).toEqual(['p3'])
    expect(ids(await db.find('People', structuredClone(where('active').eq(true).toJSON())))).toHaveLength(4)
  })
})

describe('index use', () => {
  it('answers equality on a unique index by reading one instance', async () => {
    expect(await db.explain('People', where('name').eq('Carol'))).toEqual({ plan: 'index', index: 'name', docsRead: 1, indexEntriesRead: 1, returned: 1 })
    expect(await db.explain('Plain', where('name').eq('Carol'))).toMatchObject({ plan: 'scan', docsRead: 6, returned: 1 })
  })

  it('answers ranges and non-unique equality through the index', async () => {
    expect(await db.explain('People', where('age').ge(30).and('age').lt(40))).toMatchObject({ plan: 'index', index: 'age', docsRead: 2, indexEntriesRead: 2, returned: 2 })
    expect(await db.explain('People', where('age').eq(25))).toMatchObject({ plan: 'index', docsRead: 2, returned: 2 })
    expect(await db.explain('People', where('address.city').eq('Paris').and('age').gt(31))).toMatchObject({ plan: 'index', docsRead: 2, returned: 1 })
    expect(await db.explain('People', where('_id').eq('p3'))).toMatchObject({ plan: 'id', docsRead: 1, returned: 1 })
    expect(await db.explain('People', where('age').gt(0).useIndex('age').orderByDesc('age').limitTo(1))).toMatchObject({ plan: 'index', docsRead: 1, returned: 1 })
  })

  it('stops reading once skip + limit instances matched in plan order', async () => {
    expect(await db.explain('Plain', new Query().limitTo(2))).toMatchObject({ plan: 'scan', docsRead: 2, returned: 2 })
  })
})

describe('index key encoding', () => {
  it('orders encoded numbers, strings and booleans as the values compare', () => {
    const scalar = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ unit: 'binary' }), fc.boolean())
    fc.assert(fc.property(scalar, scalar, (a, b) => {
      if (typeof a !== typeof b) return
      const ea = encodeIndexValue(a)!
      const eb = encodeIndexValue(b)!
      expect(Math.sign(compareBytes(ea, eb))).toBe(Math.sign(compareValues(a, b)))
    }), { numRuns: 2000, seed: 7 })
  })
})

describe('plans agree with a brute-force evaluation', () => {
  const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'b', 'ab', 'é', ''), fc.boolean(), fc.constant(null))
  const doc = fc.record({ x: value, y: value, z: fc.option(fc.record({ w: value }), { nil: undefined }) }, { requiredKeys: [] })
  const path = fc.constantFrom('x', 'y', 'z.w', '_id')
  const op = fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le')
  const scalar = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'ab', 'b', 'd3', 'd7'), fc.boolean())
  const crit = fc.record({ fieldPath: path, operation: op, value: scalar })
  const query = fc.record({
    ands: fc.array(crit, { maxLength: 3 }),
    ors: fc.array(fc.record({ ands: fc.array(crit, { maxLength: 2 }) }), { maxLength: 2 }),
    sort: fc.option(fc.record({ fieldPath: path, desc: fc.boolean() }), { nil: undefined }),
    limit: fc.integer({ min: 0, max: 4 }),
    skip: fc.integer({ min: 0, max: 3 })
  }, { requiredKeys: ['ands'] })

  it('returns what filtering and sorting every instance returns, on indexed and plain collections', async () => {
    const world = createFakeWorld()
    const p = await replica(world, 'p')
    try {
      const pdb = await p.manager.newDB(undefined, { collections: [{ name: 'Ix', indexes: [{ path: 'x' }, { path: 'y' }, { path: 'z.w' }] }, { name: 'Scan' }] })
      await fc.assert(fc.asyncProperty(fc.array(doc, { maxLength: 12 }), fc.array(query, { minLength: 1, maxLength: 4 }), async (docs, queries) => {
        const withIds = docs.map((d, i) => ({ ...d, _id: `d${i}` }))
        for (const c of ['Ix', 'Scan']) {
          const txn = pdb.writeTransaction(c)
          await txn.start()
          await txn.delete((await txn.find({})).map((d) => d._id as string))
          if (withIds.length > 0) await txn.create(withIds)
          await txn.end()
        }
        const { matchNode, normalizeQuery } = await import('../../src/db/query.js')
        for (const q of queries) {
          const nq = normalizeQuery(q)
          const expected = withIds.map((d) => JSON.parse(JSON.stringify(d)) as JSONObject).filter((d) => matchNode(nq.root, d))
          expected.sort((a, b) => {
            let c = nq.sort === undefined ? 0 : compareValues(getPath(a, nq.sort.parts), getPath(b, nq.sort.parts))
            if (c === 0) c = compareStrings(a._id as string, b._id as string)
            return nq.sort?.desc === true ? -c : c
          })
          const want = expected.slice(nq.skip, nq.limit > 0 ? nq.skip + nq.limit : undefined)
          expect(await pdb.find('Ix', q as QueryJSON)).toEqual(want)
          expect(await pdb.find('Scan', q as QueryJSON)).toEqual(want)
        }
      }), { numRuns: 60, seed: 11 })
    } finally {
      await p.manager.close()
    }
  })
})

describe('scans that test stored bytes before decoding', () => {
  it('find every instance whose field equals a value, whatever the value needs escaped or how it was written', async () => {
    const odd = [
      { _id: 'o1', s: 'say "hi"\\n', n: 1e21, b: false, deep: { v: 'Zürich\u2028' } },
      { _id: 'o2', s: 'tab\there', n: -0, b: true, deep: { v: '😀' } },
      { _id: 'o3', s: 'plain', n: 0.1, b: true, other: 'say "hi"\\n' },
      { _id: 'o4', s: 'x', n: 0, b: false, deep: { v: 'x' } }
    ]
    await db.create('Plain', odd)
    const q = async (path: string, value: string | number | boolean): Promise<string[]> => ids(await db.find('Plain', where(path).eq(value))).filter((id) => id.startsWith('o'))
    expect(await q('s', 'say "hi"\\n')).toEqual(['o1'])
    expect(await q('s', 'tab\there')).toEqual(['o2'])
    expect(await q('n', 1e21)).toEqual(['o1'])
    expect(await q('n', 0)).toEqual(['o2', 'o4'])
    expect(await q('n', 0.1)).toEqual(['o3'])
    expect(await q('b', false)).toEqual(['o1', 'o4'])
    expect(await q('deep.v', 'Zürich\u2028')).toEqual(['o1'])
    expect(await q('deep.v', '😀')).toEqual(['o2'])
    expect(await q('deep.v', 'x')).toEqual(['o4'])
    expect(ids(await db.find('Plain', where('s').eq('x').or(where('s').eq('plain')))).filter((id) => id.startsWith('o'))).toEqual(['o3', 'o4'])
    await db.delete('Plain', odd.map((o) => o._id))
  })

  it('match a field by its name and whole value, not by text that only looks like it', async () => {
    const odd = [
      { _id: 'm1', n: 100, 'wé"ird': 'v', z: 1e-7 },
      { _id: 'm2', n: 1000, note: '"n":100,', 'wé"ird': 'vv' },
      { _id: 'm3', inner: { n: 100 }, n: 7 },
      { _id: 'm4', n: 100 },
      { _id: 'm5', s: '"s":"x"}', t: { s: 'x' } }
    ]
    await db.create('Plain', odd)
    const q = async (path: string, value: string | number | boolean): Promise<string[]> => ids(await db.find('Plain', where(path).eq(value))).filter((id) => id.startsWith('m'))
    expect(await q('n', 100)).toEqual(['m1', 'm4'])
    expect(await q('n', 1000)).toEqual(['m2'])
    expect(await q('inner.n', 100)).toEqual(['m3'])
    expect(await q('wé"ird', 'v')).toEqual(['m1'])
    expect(await q('z', 1e-7)).toEqual(['m1'])
    expect(await q('s', 'x')).toEqual([])
    expect(await q('t.s', 'x')).toEqual(['m5'])
    await db.delete('Plain', odd.map((o) => o._id))
  })
})

/**
 * Bad input: each is refused with a named error, and nothing is written (no record in the log,
 * the state hash unchanged). The peer keeps working afterwards.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { newThreadID } from '../../src/core/thread-id.js'
import { MAX_DOCUMENT_BYTES, MAX_PARTS, where, type Database, type QueryJSON } from '../../src/db/index.js'
import { createFakeWorld, replica, take, type TestReplica } from './helpers.js'

let r: TestReplica
let db: Database
const controllers: AbortController[] = []

beforeEach(async () => {
  r = await replica(createFakeWorld(), 'a', {})
  db = await r.manager.newDB(undefined, {
    collections: [{
      name: 'Persons',
      schema: { type: 'object', properties: { _id: { type: 'string' }, name: { type: 'string' }, age: { type: 'integer', minimum: 0 }, bio: { type: 'string' } }, required: ['name'] },
      indexes: [{ path: 'name', unique: true }, { path: 'age' }]
    }]
  })
  await db.create('Persons', [{ _id: 'alice', name: 'Alice', age: 30 }])
})
afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort()
  await r.manager.close()
})

/** Run `fn`, expect the named error, and check that no record and no state change happened. */
async function refused(fn: () => Promise<unknown>, name: string): Promise<void> {
  const records = r.net.held(db.id).length
  const hash = await db.stateHash()
  await expect(fn()).rejects.toMatchObject({ name })
  expect(r.net.held(db.id).length).toBe(records)
  expect(await db.stateHash()).toBe(hash)
}

describe('bad instances', () => {
  it('refuses a schema-invalid instance with SchemaValidationError', async () => {
    await refused(async () => await db.create('Persons', [{ name: 'Bob', age: -1 }]), 'SchemaValidationError')
    await refused(async () => await db.create('Persons', [{ age: 3 }]), 'SchemaValidationError')
    await refused(async () => { await db.save('Persons', [{ _id: 'alice', name: 'Alice', age: 'old' }]) }, 'SchemaValidationError')
  })

  it('refuses an unknown collection with CollectionNotFoundError', async () => {
    await refused(async () => await db.create('Nope', [{ name: 'x' }]), 'CollectionNotFoundError')
    await refused(async () => await db.find('Nope', {}), 'CollectionNotFoundError')
    await refused(async () => { await db.deleteCollection('Nope') }, 'CollectionNotFoundError')
  })

  it('refuses a duplicate unique value with UniqueConstraintError', async () => {
    await refused(async () => await db.create('Persons', [{ name: 'Alice', age: 1 }]), 'UniqueConstraintError')
    await db.create('Persons', [{ _id: 'bob', name: 'Bob', age: 1 }])
    await refused(async () => { await db.save('Persons', [{ _id: 'bob', name: 'Alice' }]) }, 'UniqueConstraintError')
    // Two creates of the same value in one call: the whole call is refused.
    await refused(async () => await db.create('Persons', [{ name: 'Carol' }, { name: 'Carol' }]), 'UniqueConstraintError')
  })

  it('refuses a duplicate ID with InstanceExistsError', async () => {
    await refused(async () => await db.create('Persons', [{ _id: 'alice', name: 'Other' }]), 'InstanceExistsError')
  })

  it('refuses an oversized document with OversizedDocumentError', async () => {
    await refused(async () => await db.create('Persons', [{ name: 'Big', bio: 'x'.repeat(MAX_DOCUMENT_BYTES) }]), 'OversizedDocumentError')
  })

  it('refuses a transaction that would span more than MAX_PARTS records with OversizedTransactionError', async () => {
    const small = await replica(createFakeWorld(), 's', { maxEventBytes: 64 })
    try {
      const sdb = await small.manager.newDB(undefined, { collections: [{ name: 'Things' }] })
      const records = small.net.held(sdb.id).length
      await expect(sdb.create('Things', Array.from({ length: MAX_PARTS + 1 }, (_, i) => ({ _id: `t${i}` })))).rejects.toMatchObject({ name: 'OversizedTransactionError' })
      expect(small.net.held(sdb.id).length).toBe(records)
      expect(await sdb.find('Things', {})).toEqual([])
    } finally {
      await small.manager.close()
    }
  })

  it('refuses values that are not JSON with InvalidInstanceError', async () => {
    await refused(async () => await db.create('Persons', [{ name: 'F', bio: (() => 1) as unknown as string }]), 'InvalidInstanceError')
    await refused(async () => await db.create('Persons', [{ name: 'N', age: Number.NaN }]), 'InvalidInstanceError')
    await refused(async () => await db.create('Persons', [{ _id: 42, name: 'Num' }]), 'InvalidInstanceError')
    await refused(async () => await db.create('Persons', [new Date() as unknown as object]), 'InvalidInstanceError')
    await refused(async () => { await db.save('Persons', [{ name: 'no id' }]) }, 'InvalidInstanceError')
  })
})

describe('malformed queries', () => {
  const bad: Array<[string, unknown]> = [
    ['unknown operation', { ands: [{ fieldPath: 'name', operation: 9, value: { string: 'x' } }] }],
    ['unknown operation name', { ands: [{ fieldPath: 'name', operation: 'like', value: 'x' }] }],
    ['two value types', { ands: [{ fieldPath: 'name', operation: 0, value: { string: 'x', float: 1 } }] }],
    ['no value', { ands: [{ fieldPath: 'name', operation: 0 }] }],
    ['an object value', { ands: [{ fieldPath: 'name', operation: 0, value: { nested: 1 } }] }],
    ['a null value', { ands: [{ fieldPath: 'name', operation: 0, value: null }] }],
    ['an empty path', { ands: [{ fieldPath: '', operation: 0, value: 'x' }] }],
    ['a path with an empty segment', { ands: [{ fieldPath: 'a..b', operation: 0, value: 'x' }] }],
    ['ands not an array', { ands: 'name' }],
    ['ors not an array', { ors: {} }],
    ['a negative limit', { limit: -1 }],
    ['a fractional skip', { skip: 1.5 }],
    ['a sort without a path', { sort: { desc: true } }],
    ['a non-boolean sort order', { sort: { fieldPath: 'name', desc: 'yes' } }],
    ['an unknown field', { where: 'name' }],
    ['an index that does not exist', { index: 'bio' }],
    ['seek with a sort on another field', { seek: 'alice', sort: { fieldPath: 'name' } }],
    ['not an object', 'name = Alice'],
    ['NaN', { ands: [{ fieldPath: 'age', operation: 2, value: { float: Number.NaN } }] }]
  ]
  for (const [what, query] of bad) {
    it(`refuses a query with ${what} with InvalidQueryError`, async () => {
      await refused(async () => await db.find('Persons', query as QueryJSON), 'InvalidQueryError')
    })
  }
})

describe('bad collection configs', () => {
  it('refuses bad names, schemas, indexes and validator code by name', async () => {
    await refused(async () => { await db.newCollection({ name: 'bad name' }) }, 'InvalidNameError')
    await refused(async () => { await db.newCollection({ name: '-x' }) }, 'InvalidNameError')
    await refused(async () => { await db.newCollection({ name: 'NoId', schema: { type: 'object', properties: { name: { type: 'string' } } } }) }, 'InvalidSchemaError')
    await refused(async () => { await db.newCollection({ name: 'NumId', schema: { type: 'object', properties: { _id: { type: 'number' } } } }) }, 'InvalidSchemaError')
    await refused(async () => { await db.newCollection({ name: 'Broken', schema: { type: 'object', properties: { _id: { type: 'string' }, x: { type: 'nonsense' } } } }) }, 'InvalidSchemaError')
    await refused(async () => { await db.newCollection({ name: 'IdIndex', indexes: [{ path: '_id' }] }) }, 'InvalidIndexError')
    await refused(async () => {
      await db.newCollection({ name: 'ObjIndex', schema: { type: 'object', properties: { _id: { type: 'string' }, o: { type: 'object' } } }, indexes: [{ path: 'o' }] })
    }, 'InvalidIndexError')
    await refused(async () => { await db.newCollection({ name: 'Syntax', writeValidator: 'return (' }) }, 'InvalidValidatorError')
    await refused(async () => { await db.newCollection({ name: 'Syntax', readFilter: '}{' }) }, 'InvalidValidatorError')
    await refused(async () => { await db.newCollection({ name: 'Persons' }) }, 'CollectionExistsError')
  })

  it('refuses a unique index over existing duplicates with UniqueConstraintError', async () => {
    await db.create('Persons', [{ name: 'Bob', age: 30 }])
    await refused(async () => { await db.updateCollection({ name: 'Persons', indexes: [{ path: 'name', unique: true }, { path: 'age', unique: true }] }) }, 'UniqueConstraintError')
  })
})

describe('validators that misbehave', () => {
  const cases: Array<[string, string, string]> = [
    ['throws', 'throw new Error("no")', 'ValidatorError'],
    ['returns a reason', 'return "too young"', 'ValidatorRejectedError'],
    ['returns false', 'return false', 'ValidatorRejectedError'],
    ['loops forever', 'while (true) {}', 'ValidatorTimeoutError'],
    ['recurses without end', 'function f() { return f() } return f()', 'ValidatorError'],
    ['allocates without bound', 'var a = []; while (true) a.push({ x: a.length, s: "xxxxxxxxxxxxxxxx" + a.length })', 'ValidatorMemoryError'],
    ['allocates in builtins', 'var a = []; while (true) a.push(new Array(100000).fill(1))', 'ValidatorMemoryError'],
    ['uses Math.random', 'return Math.random() < 2', 'ValidatorError']
  ]
  for (const [what, code, name] of cases) {
    it(`rejects the write when the validator ${what} (${name}), writes nothing and keeps working`, async () => {
      await db.newCollection({ name: 'Guarded', writeValidator: `if (instance === undefined && event.patch.json_patch.ok === true) return true\n${code}` })
      await db.create('Guarded', [{ _id: 'fine', ok: true }])
      await refused(async () => await db.create('Guarded', [{ _id: 'x' }]), name)
      await refused(async () => { await db.verify('Guarded', [{ _id: 'y' }]) }, name)
      // The sandbox still serves the next call.
      expect(await db.create('Guarded', [{ _id: 'also-fine', ok: true }])).toEqual(['also-fine'])
    })
  }

  it('refuses findByID of an instance its read filter throws on with ReadFilterError', async () => {
    await db.newCollection({ name: 'Filtered', readFilter: 'if (instance.secret) throw new Error("nope"); return instance' })
    await db.create('Filtered', [{ _id: 's', secret: true }])
    await expect(db.findByID('Filtered', 's')).rejects.toMatchObject({ name: 'ReadFilterError' })
  })
})

describe('transactions used wrongly', () => {
  it('refuses operations before start, after end and after discard, and writes in read transactions', async () => {
    const w = db.writeTransaction('Persons')
    await expect(w.create([{ name: 'x' }])).rejects.toMatchObject({ name: 'TransactionClosedError' })
    await w.start()
    await w.create([{ name: 'Zoe' }])
    await w.discard()
    await expect(w.create([{ name: 'y' }])).rejects.toMatchObject({ name: 'TransactionDiscardedError' })
    await w.end() // ending a discarded transaction commits nothing
    expect(await db.find('Persons', where('name').eq('Zoe'))).toEqual([])
    await expect(w.start()).rejects.toMatchObject({ name: 'TransactionClosedError' })

    const rt = db.readTransaction('Persons')
    await rt.start()
    await expect((rt as unknown as { create(x: object[]): Promise<unknown> }).create([{ name: 'q' }])).rejects.toMatchObject({ name: 'ReadOnlyTransactionError' })
    await rt.end()
    await expect(rt.find({})).rejects.toMatchObject({ name: 'TransactionClosedError' })
  })
})

describe('DB lifecycle errors', () => {
  it('refuses an unknown DB with DBNotFoundError and a second DB on one thread with DBExistsError', async () => {
    const id = newThreadID()
    expect(() => r.manager.getDB(id)).toThrow(expect.objectContaining({ name: 'DBNotFoundError' }) as Error)
    await expect(r.manager.getDBInfo(id)).rejects.toMatchObject({ name: 'DBNotFoundError' })
    await expect(r.manager.newDB(db.id)).rejects.toMatchObject({ name: 'DBExistsError' })
    await expect(r.manager.newDB(undefined, { name: 'not ok!' })).rejects.toMatchObject({ name: 'InvalidNameError' })
  })
})

describe('remote events that are not DB events', () => {
  it('rejects a malformed record body visibly: a rejected listener event and a conflict', async () => {
    const world2 = createFakeWorld()
    const other = await replica(world2, 'x')
    try {
      const c = new AbortController()
      controllers.push(c)
      const rejected = take(db.listen([{ type: 'rejected' }], { signal: c.signal }), 2)
      // Another writer in the thread whose records are not DB events.
      const odd = await other.manager.newDB(db.id, { threadKey: (await r.manager.getDBInfo(db.id)).key })
      const before = await db.stateHash()
      await other.net.createRecord(odd.id, { hello: 'world' })
      await other.net.createRecord(odd.id, { weftdb: 1, ops: '[{"t":"create","c":"Persons","id":"x","doc":{"_id":"y"}}]' })
      await other.net.createRecord(odd.id, { weftdb: 1, ops: [{ t: 'create', c: 'Persons', id: 'x', doc: { _id: 'x' } }] })
      await other.net.createRecord(odd.id, { weftdb: 2, ops: '[]' })
      for (const rec of other.net.held(odd.id)) r.net.deliver(rec)
      const events = await rejected
      expect(events.map((e) => e.type === 'rejected' ? e.error.name : e.type)).toEqual(['InvalidEventError', 'InvalidEventError'])
      expect((await db.conflicts()).map((x) => x.error.name)).toEqual(['InvalidEventError', 'InvalidEventError', 'InvalidEventError', 'InvalidEventError'])
      expect(await db.stateHash()).toBe(before)
    } finally {
      await other.manager.close()
    }
  })
})

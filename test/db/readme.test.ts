/**
 * The seed README's examples (../shared/seed/threaddb-readme.txt), translated: DB creation and
 * joining, collections with a schema and a unique index, a write validator and a read filter,
 * updating a collection, creating with generated and custom IDs, saving, finding by query and by
 * ID, has, write and read transactions, and listening at DB, collection and instance level.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { newThreadID } from '../../src/core/thread-id.js'
import { where, type CollectionConfig, type Database, type JSONObject } from '../../src/db/index.js'
import { createFakeWorld, exchange, replica, take, type TestReplica } from './helpers.js'

// The schema the README reflects from `type Person struct { ID, Name, Age, CreatedAt }`.
const personSchema = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  $ref: '#/definitions/Person',
  definitions: {
    Person: {
      type: 'object',
      properties: { _id: { type: 'string' }, name: { type: 'string' }, age: { type: 'integer' }, created_at: { type: 'integer' } },
      additionalProperties: false,
      required: ['_id', 'name', 'age', 'created_at']
    }
  }
}

const persons: CollectionConfig = { name: 'Persons', schema: personSchema, indexes: [{ path: 'name', unique: true }] }

// The README's validator and filter bodies, verbatim.
const writeValidator = `
var type = event.patch.type
var patch = event.patch.json_patch
switch (type) {
  case "delete":
    if (writer != "the_boss") {
      return false // Not the boss? No deletes for you.
    }
  default:
    return true
}`
const readFilter = `
if (instance.Age > 50) {
  delete instance.Age // Getting old, let's hide just _how_ old hehe
}
return instance`

const open: TestReplica[] = []
const controllers: AbortController[] = []
afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort()
  await Promise.all(open.splice(0).map(async (r) => { await r.manager.close() }))
})

async function setup(): Promise<{ db: Database; world: ReturnType<typeof createFakeWorld>; a: TestReplica }> {
  const world = createFakeWorld()
  const a = await replica(world, 'a')
  open.push(a)
  const threadID = newThreadID()
  const db = await a.manager.newDB(threadID)
  expect(db.id).toBe(threadID)
  await db.newCollection(persons)
  return { db, world, a }
}

describe('README: database', () => {
  it('creates a DB and joins it from another peer with getDBInfo', async () => {
    const { db, world, a } = await setup()
    const info = await a.manager.getDBInfo(db.id)
    expect(info.name).toBe('unnamed')
    expect(info.key).toMatch(/^b/)
    const b = await replica(world, 'b')
    open.push(b)
    const joined = await b.manager.newDBFromAddr(info.addrs[0]!, info.key)
    expect(joined.id).toBe(db.id)
    // The collection definitions came with the thread.
    expect((await joined.getCollectionInfo('Persons')).indexes).toEqual([{ path: 'name', unique: true }])
    expect((await b.manager.listDBs()).map((d) => d.id)).toEqual([db.id])
  })
})

describe('README: collections', () => {
  it('creates a collection from a reflected schema with a unique index on name', async () => {
    const { db } = await setup()
    const info = await db.getCollectionInfo('Persons')
    expect(info.name).toBe('Persons')
    expect(info.indexes).toEqual([{ path: 'name', unique: true }])
    expect((await db.listCollections()).map((c) => c.name)).toEqual(['Persons'])
    await expect(db.newCollection(persons)).rejects.toMatchObject({ name: 'CollectionExistsError' })
  })

  it('runs the write validator and read filter', async () => {
    const { db } = await setup()
    await db.newCollection({
      name: 'Elders',
      schema: { type: 'object', properties: { _id: { type: 'string' }, Name: { type: 'string' }, Age: { type: 'integer' } } },
      writeValidator,
      readFilter
    })
    const [id] = await db.create('Elders', [{ Name: 'Alice', Age: 60 }])
    // The filter hides Age over 50.
    expect(await db.findByID('Elders', id!)).toEqual({ _id: id, Name: 'Alice' })
    expect(await db.find('Elders', where('Name').eq('Alice'))).toEqual([{ _id: id, Name: 'Alice' }])
    // Not the boss? No deletes for you.
    await expect(db.delete('Elders', [id!])).rejects.toMatchObject({ name: 'ValidatorRejectedError' })
    expect(await db.has('Elders', [id!])).toBe(true)
    // Saves pass, computed against the filtered value (the hidden Age is kept).
    await db.save('Elders', [{ _id: id, Name: 'Alice B.' }])
    expect(await db.findByID('Elders', id!)).toEqual({ _id: id, Name: 'Alice B.' })
    const [young] = await db.create('Elders', [{ Name: 'Bob', Age: 30 }])
    expect(await db.findByID('Elders', young!)).toEqual({ _id: young, Name: 'Bob', Age: 30 })
  })

  it('updates a collection, adding an index on created_at that is back-filled', async () => {
    const { db } = await setup()
    await db.create('Persons', [{ name: 'Alice', age: 30, created_at: 5 }, { name: 'Bob', age: 30, created_at: 7 }])
    await db.updateCollection({ ...persons, indexes: [{ path: 'name', unique: true }, { path: 'created_at' }] })
    expect(await db.getCollectionIndexes('Persons')).toEqual([{ path: 'name', unique: true }, { path: 'created_at', unique: false }])
    const explain = await db.explain('Persons', where('created_at').gt(6))
    expect(explain).toMatchObject({ plan: 'index', index: 'created_at', returned: 1, docsRead: 1 })
  })
})

describe('README: instances', () => {
  it('creates with an autogenerated ID and with a custom ID', async () => {
    const { db } = await setup()
    const alice = { _id: '', name: 'Alice', age: 30, created_at: Date.now() }
    const ids = await db.create('Persons', [alice])
    expect(ids[0]).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/)
    alice._id = ids[0]!
    const bob = { _id: '123', name: 'Bob', age: 30, created_at: Date.now() }
    expect(await db.create('Persons', [bob])).toEqual(['123'])
    await expect(db.create('Persons', [{ ...bob, name: 'Robert' }])).rejects.toMatchObject({ name: 'InstanceExistsError' })
  })

  it('saves, finds by query and by ID, and tells whether instances exist', async () => {
    const { db } = await setup()
    const alice = { _id: '', name: 'Alice', age: 30, created_at: 1 }
    alice._id = (await db.create('Persons', [alice]))[0]!
    alice.age = 31
    await db.save('Persons', [alice])
    const results = await db.find('Persons', where('name').eq('Alice'))
    expect(results).toEqual([alice])
    expect(await db.findByID('Persons', alice._id)).toEqual(alice)
    expect(await db.has('Persons', [alice._id])).toBe(true)
    expect(await db.has('Persons', [alice._id, 'nobody'])).toBe(false)
    await expect(db.findByID('Persons', 'nobody')).rejects.toMatchObject({ name: 'InstanceNotFoundError' })
  })
})

describe('README: transactions', () => {
  it('writes in a transaction that sees its own writes and commits as one event', async () => {
    const { db, a } = await setup()
    const alice = { _id: 'alice', name: 'Alice', age: 31, created_at: 1 }
    await db.create('Persons', [alice])
    const recordsBefore = a.net.held(db.id).length
    const txn = db.writeTransaction('Persons')
    const end = await txn.start()
    alice.age = 32
    await txn.save([alice])
    // The README creates a second "Bob" here; a unique index on name refuses that, and the
    // transaction goes on without it.
    await txn.create([{ name: 'Bob', age: 30, created_at: 2 }])
    await expect(txn.create([{ name: 'Bob', age: 30, created_at: 3 }])).rejects.toMatchObject({ name: 'UniqueConstraintError' })
    expect(await txn.find(where('name').eq('Bob'))).toHaveLength(1)
    expect((await txn.findByID('alice')).age).toBe(32)
    await end()
    expect(a.net.held(db.id).length).toBe(recordsBefore + 1)
    expect((await db.findByID('Persons', 'alice')).age).toBe(32)

    const rtxn = db.readTransaction('Persons')
    const endRead = await rtxn.start()
    expect(await rtxn.has(['alice'])).toBe(true)
    const found = await rtxn.find(where('name').eq('Bob'))
    expect((found[0] as JSONObject).name).toBe('Bob')
    await endRead()
  })
})

describe('README: listen', () => {
  it('listens at DB, collection and instance level', async () => {
    const { db } = await setup()
    await db.newCollection({ name: 'Things', schema: { type: 'object', properties: { _id: { type: 'string' } } } })
    const c1 = new AbortController()
    const c2 = new AbortController()
    const c3 = new AbortController()
    controllers.push(c1, c2, c3)
    const all = db.listen([], { signal: c1.signal })
    const persons = db.listen([{ type: 'all', collection: 'Persons' }], { signal: c2.signal })
    const bobOnly = db.listen([{ type: 'all', collection: 'Persons', instanceID: 'bob' }], { signal: c3.signal })
    const allP = take(all, 4)
    const personsP = take(persons, 3)
    const bobP = take(bobOnly, 2)
    await db.create('Persons', [{ _id: 'bob', name: 'Bob', age: 30, created_at: 1 }])
    await db.create('Things', [{ _id: 'thing' }])
    await db.create('Persons', [{ _id: 'eve', name: 'Eve', age: 30, created_at: 1 }])
    await db.save('Persons', [{ _id: 'bob', name: 'Bob', age: 31, created_at: 1 }])
    expect((await allP).map((e) => `${e.type}:${e.collection}/${e.instanceID}`)).toEqual(['create:Persons/bob', 'create:Things/thing', 'create:Persons/eve', 'save:Persons/bob'])
    expect((await personsP).map((e) => `${e.type}:${e.instanceID}`)).toEqual(['create:bob', 'create:eve', 'save:bob'])
    const bob = await bobP
    expect(bob.map((e) => e.type)).toEqual(['create', 'save'])
    expect(bob[1]).toMatchObject({ instance: { _id: 'bob', age: 31 } })
  })

  it('delivers remote changes to listeners', async () => {
    const { db, world, a } = await setup()
    const b = await replica(world, 'b')
    open.push(b)
    const info = await a.manager.getDBInfo(db.id)
    const dbB = await b.manager.newDBFromAddr(info.addrs[0]!, info.key)
    const c = new AbortController()
    controllers.push(c)
    const events = take(dbB.listen([{ type: 'create', collection: 'Persons' }], { signal: c.signal }), 1)
    await db.create('Persons', [{ _id: 'zed', name: 'Zed', age: 40, created_at: 1 }])
    exchange([a.net, b.net], db.id)
    expect(await events).toMatchObject([{ type: 'create', collection: 'Persons', instanceID: 'zed', instance: { name: 'Zed' } }])
  })
})

/**
 * The published go-threads JS client, `@textile/threads-client` 2.3, against the hub running as a
 * real process, doing what its own documentation shows: a token for an identity, a new DB,
 * collections with a schema and indexes (also inferred from an object), create/save/delete/has/
 * find/findByID, queries, transactions, listeners, write validators and read filters, and
 * listDBs/getDBInfo/deleteDB. The client speaks grpc-websockets to the hub's web port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, Where, type CollectionConfig, type Query, type QueryJSON, type Update } from '@textile/threads-client'
import { Context } from '@textile/context'
import { PrivateKey } from '@textile/crypto'
import { ThreadID } from '@textile/threads-id'
import { cleanupHubs, startHubProcess, type HubProcess } from './harness.js'

/** The client's Query as its own QueryJSON (its types do not allow for exactOptionalPropertyTypes). */
const q = (query: Query): QueryJSON => query as unknown as QueryJSON

interface Person { _id: string; name: string; age: number; owner?: string; secret?: string }

const personSchema = {
  title: 'Person',
  type: 'object',
  required: ['_id'],
  properties: { _id: { type: 'string' }, name: { type: 'string' }, age: { type: 'integer', minimum: 0 }, owner: { type: 'string' }, secret: { type: 'string' } }
}

let hub: HubProcess

beforeAll(async () => { hub = await startHubProcess() })
afterAll(async () => { await cleanupHubs() })

async function signedIn(): Promise<{ client: Client; user: PrivateKey }> {
  const user = PrivateKey.fromRandom()
  const client = new Client(new Context(hub.webUrl))
  await client.getToken(user)
  return { client, user }
}

async function newPeopleDB(client: Client): Promise<ThreadID> {
  const threadID = ThreadID.fromRandom()
  await client.newDB(threadID, 'people')
  await client.newCollection(threadID, { name: 'Person', schema: personSchema, indexes: [{ path: 'name', unique: true }, { path: 'age', unique: false }] })
  return threadID
}

/** The next `n` updates a listener reports. */
function updates(client: Client, threadID: ThreadID, filters: Parameters<Client['listen']>[1]) {
  const got: Array<Update<Person>> = []
  const waiters: Array<() => void> = []
  let failure: Error | undefined
  const listener = client.listen<Person>(threadID, filters, (update, err) => {
    if (err !== undefined) failure = err
    if (update !== undefined) got.push(update)
    for (const w of waiters.splice(0)) w()
  })
  return {
    close: () => { listener.close() },
    async take(n: number, timeoutMs = 15_000): Promise<Array<Update<Person>>> {
      const deadline = Date.now() + timeoutMs
      while (got.length < n) {
        if (failure !== undefined) throw failure
        if (Date.now() > deadline) throw new Error(`only ${got.length} of ${n} updates arrived`)
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 200) })
      }
      return got.splice(0, n)
    }
  }
}

describe('@textile/threads-client against the hub', () => {
  it('gets a token, creates a DB and works with instances', async () => {
    const { client } = await signedIn()
    const threadID = await newPeopleDB(client)
    const [aliceID, bobID] = await client.create(threadID, 'Person', [{ _id: '', name: 'Alice', age: 30 }, { name: 'Bob', age: 40 }])
    expect(aliceID).toMatch(/^[0-9a-z]{26}$/)
    const alice = await client.findByID<Person>(threadID, 'Person', aliceID!)
    expect(alice).toEqual({ _id: aliceID, name: 'Alice', age: 30 })
    await client.save(threadID, 'Person', [{ ...alice, age: 31 }])
    expect((await client.findByID<Person>(threadID, 'Person', aliceID!)).age).toBe(31)
    expect(await client.has(threadID, 'Person', [aliceID!, bobID!])).toBe(true)
    await client.verify(threadID, 'Person', [{ ...alice, age: 32 }])
    await expect(client.verify(threadID, 'Person', [{ ...alice, age: -1 }])).rejects.toThrow(/instance doesn't correspond to schema/)
    await client.delete(threadID, 'Person', [bobID!])
    expect(await client.has(threadID, 'Person', [bobID!])).toBe(false)
    await expect(client.findByID(threadID, 'Person', bobID!)).rejects.toThrow(/^instance not found/)
    await expect(client.create(threadID, 'Person', [{ name: 'Alice', age: 1 }])).rejects.toThrow(/unique constraint violation/)
  })

  it('runs queries built with Where', async () => {
    const { client } = await signedIn()
    const threadID = await newPeopleDB(client)
    await client.create(threadID, 'Person', [20, 30, 40, 50, 60].map((age, i) => ({ name: `P${i}`, age })))
    const older = await client.find<Person>(threadID, 'Person', q(new Where('age').ge(40).orderByDesc('age')))
    expect(older.map((p) => p.age)).toEqual([60, 50, 40])
    const either = await client.find<Person>(threadID, 'Person', q(new Where('age').le(20).or(new Where('name').eq('P4')).orderBy('age')))
    expect(either.map((p) => p.name)).toEqual(['P0', 'P4'])
    const page = await client.find<Person>(threadID, 'Person', q(new Where('age').ge(0).orderBy('age').skipNum(1).limitTo(2)))
    expect(page.map((p) => p.age)).toEqual([30, 40])
    const indexed = await client.find<Person>(threadID, 'Person', q(new Where('age').eq(30).useIndex('age')))
    expect(indexed.map((p) => p.name)).toEqual(['P1'])
    expect(await client.find(threadID, 'Person', {})).toHaveLength(5)
  })

  it('commits a write transaction at end and reads in a read transaction', async () => {
    const { client } = await signedIn()
    const threadID = await newPeopleDB(client)
    const w = client.writeTransaction(threadID, 'Person')
    await w.start()
    const [id] = await w.create([{ _id: '', name: 'Tx', age: 1 }])
    expect(await w.has([id!])).toBe(true)
    await w.save([{ _id: id!, name: 'Tx', age: 2 }])
    const inside = await w.find<Person>(q(new Where('name').eq('Tx')))
    expect(inside!.map((p) => p.age)).toEqual([2])
    await expect(w.create([{ _id: id!, name: 'Other', age: 3 }])).rejects.toThrow(/already existing instance/)
    await w.end()
    expect((await client.findByID<Person>(threadID, 'Person', id!)).age).toBe(2)

    const r = client.readTransaction(threadID, 'Person')
    await r.start()
    expect(await r.has([id!])).toBe(true)
    expect((await r.findByID<Person>(id!))!.name).toBe('Tx')
    // (2.3's Where.gt() sends the `ne` operation: ge() is used instead.)
    expect(await r.find<Person>(q(new Where('age').ge(100)))).toHaveLength(0)
    await r.end()

    const discarded = client.writeTransaction(threadID, 'Person')
    await discarded.start()
    await discarded.create([{ _id: 'never', name: 'Never', age: 9 }])
    await discarded.discard()
    await discarded.end()
    expect(await client.has(threadID, 'Person', ['never'])).toBe(false)
  })

  it('listens to creates, saves and deletes of a collection and of one instance', async () => {
    const { client } = await signedIn()
    const threadID = await newPeopleDB(client)
    const all = updates(client, threadID, [{ collectionName: 'Person' }])
    // The listener is live once an update reaches it: create until one does.
    let first: Array<Update<Person>> | undefined
    for (let i = 0; first === undefined; i++) {
      await client.create(threadID, 'Person', [{ _id: `early${i}`, name: `Early${i}`, age: i }])
      first = await all.take(1, 300).catch(() => undefined)
      if (i > 50) throw new Error('the listener never saw a create')
    }
    expect(first[0]).toMatchObject({ collectionName: 'Person', action: 'CREATE' })
    const [id] = await client.create(threadID, 'Person', [{ name: 'Lena', age: 5 }])
    const one = updates(client, threadID, [{ instanceID: id!, actionTypes: ['SAVE'] }])
    let saved: Array<Update<Person>> | undefined
    for (let age = 6; saved === undefined; age++) {
      await client.save(threadID, 'Person', [{ _id: id!, name: 'Lena', age }])
      saved = await one.take(1, 300).catch(() => undefined)
      if (age > 60) throw new Error('the instance listener never saw a save')
    }
    expect(saved[0]).toMatchObject({ action: 'SAVE', instanceID: id, instance: { _id: id, name: 'Lena' } })
    await client.delete(threadID, 'Person', [id!])
    const forLena: Array<Update<Person>> = []
    while (forLena.at(-1)?.action !== ('DELETE' as never)) {
      const [u] = await all.take(1)
      if (u!.instanceID === id) forLena.push(u!)
    }
    expect(forLena[0]).toMatchObject({ action: 'CREATE', instance: { name: 'Lena', age: 5 } })
    expect(forLena.slice(1, -1).every((u) => (u.action as unknown) === 'SAVE')).toBe(true)
    expect(forLena.at(-1)!.instance).toBeUndefined()
    all.close()
    one.close()
  })

  it('applies write validators and read filters with the token identity as reader', async () => {
    const { client: ownerClient, user: owner } = await signedIn()
    const threadID = ThreadID.fromRandom()
    await ownerClient.newDB(threadID, 'secrets')
    await ownerClient.newCollection(threadID, {
      name: 'Person',
      schema: personSchema,
      // A string result is the reason for refusing (the client's type says boolean).
      writeValidator: ((_writer: string, event: { patch: { type: string; json_patch?: { age?: number } } }) => {
        if (event.patch.type === 'delete') return 'deletes are not allowed'
        return !(event.patch.json_patch !== undefined && event.patch.json_patch.age !== undefined && event.patch.json_patch.age > 120)
      }) as unknown as NonNullable<CollectionConfig['writeValidator']>,
      readFilter: (reader: string, instance: Person) => {
        if (instance.owner !== reader) delete instance.secret
        return instance
      }
    })
    const info = await ownerClient.getCollectionInfo(threadID, 'Person')
    expect(info.writeValidator).toMatch(/deletes are not allowed/)
    const ownerID = owner.public.toString()
    const [id] = await ownerClient.create(threadID, 'Person', [{ name: 'Sam', age: 40, owner: ownerID, secret: 'rosebud' }])
    expect((await ownerClient.findByID<Person>(threadID, 'Person', id!)).secret).toBe('rosebud')
    const { client: other } = await signedIn()
    const seenByOther = await other.findByID<Person>(threadID, 'Person', id!)
    expect(seenByOther).toEqual({ _id: id, name: 'Sam', age: 40, owner: ownerID })
    await expect(ownerClient.create(threadID, 'Person', [{ name: 'Old', age: 500 }])).rejects.toThrow(/app denied net record body/)
    await expect(ownerClient.delete(threadID, 'Person', [id!])).rejects.toThrow(/deletes are not allowed/)
    // A save by the other reader leaves the field its filter hides alone.
    await other.save(threadID, 'Person', [{ ...seenByOther, age: 41 }])
    expect(await ownerClient.findByID<Person>(threadID, 'Person', id!)).toMatchObject({ age: 41, secret: 'rosebud' })
  })

  it('writes as each client\'s token identity: validators see it as writer, and only the DB\'s creator defines collections', async () => {
    const { client: alice, user: aliceKey } = await signedIn()
    const { client: bob, user: bobKey } = await signedIn()
    const threadID = ThreadID.fromRandom()
    await alice.newDB(threadID, 'owned')
    await alice.newCollection(threadID, {
      name: 'Person',
      schema: personSchema,
      writeValidator: ((writer: string, event: { patch: { type: string; json_patch?: { owner?: string } } }, instance?: { owner?: string }) => {
        if (event.patch.type === 'create') return event.patch.json_patch?.owner === writer || 'the writer must be the owner'
        return instance?.owner === writer || 'only the owner changes it'
      }) as unknown as NonNullable<CollectionConfig['writeValidator']>
    })
    const [mine] = await alice.create(threadID, 'Person', [{ name: 'A', age: 1, owner: aliceKey.public.toString() }])
    await bob.create(threadID, 'Person', [{ name: 'B', age: 2, owner: bobKey.public.toString() }])
    await expect(bob.create(threadID, 'Person', [{ name: 'C', age: 3, owner: aliceKey.public.toString() }])).rejects.toThrow(/the writer must be the owner/)
    await expect(bob.delete(threadID, 'Person', [mine!])).rejects.toThrow(/only the owner changes it/)
    await expect(bob.newCollection(threadID, { name: 'Other' })).rejects.toThrow(/owner/)
    await alice.delete(threadID, 'Person', [mine!])
    expect((await bob.find<Person>(threadID, 'Person', {})).map((p) => p.name)).toEqual(['B'])
  })

  it('lists DBs, gives their info, infers collections from objects and deletes DBs', async () => {
    const { client } = await signedIn()
    const threadID = ThreadID.fromRandom()
    await client.newDB(threadID, 'astronauts')
    await client.newCollectionFromObject(threadID, { _id: '', name: 'Buzz', missions: 2 }, { name: 'Astronaut' })
    expect((await client.listCollections(threadID)).map((c) => c.name)).toEqual(['Astronaut'])
    await client.create(threadID, 'Astronaut', [{ _id: '', name: 'Buzz', missions: 2 }])
    const listed = await client.listDBs()
    expect(listed).toContainEqual({ id: threadID.toString(), name: 'astronauts' })
    const info = await client.getDBInfo(threadID)
    expect(info.addrs.some((a) => a.endsWith(`/p2p/${hub.peerId}/thread/${threadID.toString()}`))).toBe(true)
    expect(info.key).toMatch(/^b[a-z2-7]+$/)
    await client.deleteDB(threadID)
    expect((await client.listDBs()).some((d) => d.id === threadID.toString())).toBe(false)
    await expect(client.getDBInfo(threadID)).rejects.toThrow(/^db not found/)
  })
})

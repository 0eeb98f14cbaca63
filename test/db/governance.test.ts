/**
 * Governed schema (docs/SECURITY.md G2): a DB made by `newDB()` is owned by its creator, whose
 * identity its thread ID commits to. Collection, owner and writer changes by anyone else are
 * rejected at their place in the order on every peer and listed in conflicts — also when the
 * member runs modified code, stamps its events before the genesis, or copies the genesis.
 */
import { describe, expect, it } from 'vitest'
import { toHex } from '../../src/core/bytes.js'
import { generateKeyPair, identityToString } from '../../src/core/identity.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { createDBManager } from '../../src/db/index.js'
import { body, closeAfterEach, createFakeWorld, exchange, forger, group, onEveryBackend, replica, type Group } from './helpers.js'

const NOTES = { name: 'Notes', schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' } } } }
const config = (name: string): object => ({ name, schema: { type: 'object', properties: { _id: { type: 'string' } }, required: ['_id'] }, indexes: [], writeValidator: '', readFilter: '' })

const { keep } = closeAfterEach()

/** What every replica must agree on. */
async function views(g: Group): Promise<Array<{ hash: string; collections: string[]; owners: string[]; conflicts: string[] }>> {
  return await Promise.all(g.dbs.map(async (db) => ({
    hash: await db.stateHash(),
    collections: (await db.listCollections()).map((c) => c.name),
    owners: (await db.getGovernance()).owners,
    conflicts: (await db.conflicts()).map((c) => `${c.author.slice(-8)}:${c.counter}:${c.error.name}`)
  })))
}

onEveryBackend((make) => {
  describe('owners', () => {
    it('a collection change by a member who is not an owner is rejected on every peer and listed in conflicts', async () => {
      const g = keep(await group(make, 3, { collections: [NOTES] }))
      const [a, b] = g.dbs
      // The member's own API refuses, and writes nothing.
      const before = g.replicas[1]!.net.held(g.id).length
      await expect(b!.newCollection({ name: 'Mine' })).rejects.toMatchObject({ name: 'NotAnOwnerError' })
      await expect(b!.updateCollection({ name: 'Notes', schema: { type: 'object', properties: { _id: { type: 'string' } } } })).rejects.toMatchObject({ name: 'NotAnOwnerError' })
      await expect(b!.deleteCollection('Notes')).rejects.toMatchObject({ name: 'NotAnOwnerError' })
      await expect(b!.updateOwners({ add: [b!.identity!] })).rejects.toMatchObject({ name: 'NotAnOwnerError' })
      await expect(b!.setWriters([b!.identity!])).rejects.toMatchObject({ name: 'NotAnOwnerError' })
      expect(g.replicas[1]!.net.held(g.id).length).toBe(before)
      // Running modified code, it writes the changes anyway.
      const net = g.replicas[1]!.net
      await net.createRecord(g.id, body({ t: 'newCollection', c: 'Mine', config: config('Mine') }))
      await net.createRecord(g.id, body({ t: 'deleteCollection', c: 'Notes' }))
      await net.createRecord(g.id, body({ t: 'updateCollection', c: 'Notes', config: config('Notes') }))
      await net.createRecord(g.id, body({ t: 'owners', add: [b!.identity!] }))
      await net.createRecord(g.id, body({ t: 'writers', set: [b!.identity!] }))
      await a!.create('Notes', [{ _id: 'n1', text: 'still here' }])
      await g.settle()
      const seen = await views(g)
      for (const v of seen) expect(v).toEqual(seen[0])
      expect(seen[0]!.collections).toEqual(['Notes'])
      expect(seen[0]!.owners).toEqual([a!.identity])
      expect(seen[0]!.conflicts).toEqual([1, 2, 3, 4, 5].map((n) => `${b!.identity!.slice(-8)}:${n}:NotAnOwnerError`))
      for (const db of g.dbs) expect(await db.findByID('Notes', 'n1')).toEqual({ _id: 'n1', text: 'still here' })
      const info = await g.replicas[2]!.manager.getDBInfo(g.id)
      expect({ governed: info.governed, owners: info.owners, writers: info.writers }).toEqual({ governed: true, owners: [a!.identity], writers: null })
    })

    it('an event stamped before the genesis cannot claim ownership', async () => {
      const g = keep(await group(make, 2, { collections: [NOTES] }))
      const [a] = g.dbs
      const genesis = g.replicas[0]!.net.held(g.id)[0]!
      expect(JSON.parse((genesis.body as { ops: string }).ops)[0].t).toBe('genesis')
      const m = await forger(g.id)
      const past = genesis.time!.wall - 60_000
      const records = [
        // A copy of the creator's genesis (and its collections) in the member's own log.
        m.record(genesis.body, { wall: past, counter: 0 }),
        // A genesis naming the member, with a salt of its own.
        m.record(body({ t: 'genesis', owner: m.author, salt: toHex(new Uint8Array(16).fill(7)) }), { wall: past + 1, counter: 0 }),
        m.record(body({ t: 'owners', add: [m.author] }), { wall: past + 2, counter: 0 }),
        m.record(body({ t: 'newCollection', c: 'Evil', config: config('Evil') }), { wall: past + 3, counter: 0 }),
        m.record(body({ t: 'owners', add: [m.author] }), { wall: genesis.time!.wall + 1, counter: 5 })
      ]
      for (const r of g.replicas) for (const rec of records) r.net.deliver(rec)
      await g.settle()
      const seen = await views(g)
      for (const v of seen) expect(v).toEqual(seen[0])
      const tag = m.author.slice(-8)
      expect(seen[0]!.conflicts).toEqual([`${tag}:1:InvalidGenesisError`, `${tag}:2:InvalidGenesisError`, `${tag}:3:NotAnOwnerError`, `${tag}:4:NotAnOwnerError`, `${tag}:5:NotAnOwnerError`])
      expect(seen[0]!.owners).toEqual([a!.identity])
      expect(seen[0]!.collections).toEqual(['Notes'])
    })

    it('a peer that saw a member\'s collection change before the creator\'s genesis folds it away when the genesis arrives', async () => {
      const g = keep(await group(make, 1, { collections: [NOTES] }))
      const world = createFakeWorld()
      const m = await forger(g.id)
      const early = g.replicas[0]!.net.held(g.id)[0]!.time!.wall - 1_000
      const evil = m.record(body({ t: 'newCollection', c: 'Evil', config: config('Evil') }), { wall: early, counter: 0 })
      // A peer that first meets the thread through the member: it cannot know yet that the ID commits.
      const relay = keep(await replica(world, 'x', { store: await make() }))
      const c = keep(await replica(world, 'c', { store: await make() }))
      const key = (await g.replicas[0]!.manager.getDBInfo(g.id)).key
      await relay.net.addThread(`fake://nowhere/${g.id}`, { threadKey: key })
      relay.net.deliver(evil)
      const dbC = await c.manager.newDBFromAddr(`fake://x/${g.id}`, key)
      expect((await dbC.listCollections()).map((x) => x.name)).toEqual(['Evil'])
      expect((await dbC.getGovernance()).governed).toBe(false)
      // The creator's records arrive: the ID commits, everything is folded again.
      exchange([g.replicas[0]!.net, c.net], g.id)
      await dbC.sync()
      expect((await dbC.listCollections()).map((x) => x.name)).toEqual(['Notes'])
      expect(await dbC.getGovernance()).toEqual({ governed: true, owners: [g.dbs[0]!.identity], writers: null })
      expect((await dbC.conflicts()).map((x) => x.error.name)).toEqual(['NotAnOwnerError'])
      g.replicas[0]!.net.deliver(evil)
      await g.dbs[0]!.sync()
      expect(await dbC.stateHash()).toBe(await g.dbs[0]!.stateHash())
    })

    it('owners add and remove owners, and the last owner cannot be removed', async () => {
      const g = keep(await group(make, 2, { collections: [NOTES] }))
      const [a, b] = g.dbs
      await a!.updateOwners({ add: [b!.identity!] })
      await g.settle()
      expect((await b!.getGovernance()).owners).toEqual([a!.identity, b!.identity].sort())
      await b!.newCollection({ name: 'Extra' })
      await b!.updateOwners({ remove: [a!.identity!] })
      await g.settle()
      expect((await a!.getGovernance()).owners).toEqual([b!.identity])
      await expect(a!.newCollection({ name: 'Late' })).rejects.toMatchObject({ name: 'NotAnOwnerError' })
      await expect(b!.updateOwners({ remove: [b!.identity!] })).rejects.toMatchObject({ name: 'LastOwnerError' })
      await expect(b!.updateOwners({ add: ['not an identity'] })).rejects.toMatchObject({ name: 'InvalidOwnerError' })
      const seen = await views(g)
      expect(seen[1]).toEqual(seen[0])
      expect(seen[0]!.collections).toEqual(['Extra', 'Notes'])
    })
  })

  describe('writers', () => {
    it('with a writer list, instance writes by other members are rejected on every peer', async () => {
      const g = keep(await group(make, 3, { collections: [NOTES] }))
      const [a, b, c] = g.dbs
      await a!.setWriters([b!.identity!])
      await g.settle()
      expect((await c!.getGovernance()).writers).toEqual([b!.identity])
      await b!.create('Notes', [{ _id: 'by-b' }])
      await a!.create('Notes', [{ _id: 'by-owner' }])
      await expect(c!.create('Notes', [{ _id: 'by-c' }])).rejects.toMatchObject({ name: 'NotAWriterError' })
      await g.replicas[2]!.net.createRecord(g.id, body({ t: 'create', c: 'Notes', id: 'forced', doc: { _id: 'forced' } }))
      await g.settle()
      const seen = await views(g)
      for (const v of seen) expect(v).toEqual(seen[0])
      expect(seen[0]!.conflicts).toEqual([`${c!.identity!.slice(-8)}:1:NotAWriterError`])
      for (const db of g.dbs) expect((await db.find('Notes')).map((d) => d._id)).toEqual(['by-b', 'by-owner'])
      await a!.setWriters(null)
      await g.settle()
      await c!.create('Notes', [{ _id: 'by-c' }])
      expect((await c!.getGovernance()).writers).toBeNull()
    })
  })

  describe('thread IDs that do not commit', () => {
    it('a DB given an owner is governed by that owner on every peer given the same owner', async () => {
      const world = createFakeWorld()
      const ownerKey = await generateKeyPair()
      const owner = identityToString(ownerKey.publicKey)
      const server = keep(await replica(world, 's', { store: await make() }))
      const client = keep(await replica(world, 'c', { store: await make(), identity: ownerKey }))
      const id = newThreadID()
      const dbS = await server.manager.newDB(id, { owner })
      const info = await server.manager.getDBInfo(id)
      expect({ governed: info.governed, owners: info.owners }).toEqual({ governed: true, owners: [owner] })
      await expect(dbS.newCollection(NOTES)).rejects.toMatchObject({ name: 'NotAnOwnerError' })
      const dbC = await client.manager.newDBFromAddr(`fake://s/${id}`, info.key, { owner })
      await dbC.newCollection(NOTES)
      await dbC.create('Notes', [{ _id: 'n', text: 'hi' }])
      exchange([server.net, client.net], id)
      await dbS.sync()
      expect(await dbS.findByID('Notes', 'n')).toEqual({ _id: 'n', text: 'hi' })
      expect(await dbS.stateHash()).toBe(await dbC.stateHash())
      // The registry keeps the owner across a restart.
      await server.manager.close()
      const again = await createDBManager({ net: server.net, kv: server.store })
      try {
        expect((await again.getDBInfo(id)).owners).toEqual([owner])
      } finally {
        await again.close()
      }
    })

    it('a DB on a given thread ID without an owner is ungoverned: any member changes its collections', async () => {
      const world = createFakeWorld()
      const a = keep(await replica(world, 'a', { store: await make() }))
      const b = keep(await replica(world, 'b', { store: await make() }))
      const id = newThreadID()
      const dbA = await a.manager.newDB(id, { collections: [NOTES] })
      const info = await a.manager.getDBInfo(id)
      expect({ governed: info.governed, owners: info.owners, writers: info.writers }).toEqual({ governed: false, owners: [], writers: null })
      const dbB = await b.manager.newDBFromAddr(`fake://a/${id}`, info.key)
      await dbB.newCollection({ name: 'Extra' })
      // Version 1 events (older peers) still apply here.
      await b.net.createRecord(id, { weftdb: 1, ops: JSON.stringify([{ t: 'create', c: 'Notes', id: 'old', doc: { _id: 'old' } }]) })
      exchange([a.net, b.net], id)
      await dbA.sync()
      await dbB.sync()
      expect((await dbA.listCollections()).map((c) => c.name)).toEqual(['Extra', 'Notes'])
      expect(await dbA.findByID('Notes', 'old')).toEqual({ _id: 'old' })
      await expect(dbB.updateOwners({ add: [dbB.identity!] })).rejects.toMatchObject({ name: 'NotAnOwnerError' })
    })
  })

  describe('formats', () => {
    it('a version 1 event does not apply in a DB whose thread ID commits to its owner', async () => {
      const g = keep(await group(make, 2, { collections: [NOTES] }))
      await g.replicas[1]!.net.createRecord(g.id, { weftdb: 1, ops: JSON.stringify([{ t: 'create', c: 'Notes', id: 'old', doc: { _id: 'old' } }]) })
      await g.settle()
      for (const db of g.dbs) {
        expect(await db.find('Notes')).toEqual([])
        expect((await db.conflicts()).map((c) => c.error.name)).toEqual(['InvalidEventError'])
      }
    })

    it('a net that keys every log with one identity gets a thread ID that commits to that identity', async () => {
      const world = createFakeWorld()
      const key = await generateKeyPair()
      const r = keep(await replica(world, 'w', { store: await make(), identity: key }))
      const db = await r.manager.newDB(undefined, { collections: [NOTES] })
      expect(db.identity).toBe(identityToString(key.publicKey))
      expect((await db.getGovernance()).owners).toEqual([db.identity])
      expect((await db.listCollections()).map((c) => c.name)).toEqual(['Notes'])
      await expect(r.manager.newDB(undefined, { owner: identityToString((await generateKeyPair()).publicKey) })).rejects.toMatchObject({ name: 'InvalidOwnerError' })
      expect(r.net.held(db.id).length).toBe(1)
    })
  })
})

/**
 * Each remote identity writes through its own log: the token's identity is the proven `writer` of
 * a client's writes on the hub and on every peer that receives them, a DB made through NewDB is
 * owned by its caller (the hub without a token), and the delegations behind it survive a restart.
 * The hub runs as a real process; a Node peer joins over TCP on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Code } from '@connectrpc/connect'
import { generateKeyPair, identityToString } from '../../src/core/identity.js'
import { newThreadID, threadIDToBytes } from '../../src/core/thread-id.js'
import { threadKeyFromBytes, threadKeyToString } from '../../src/core/thread-key.js'
import type { Database, DBManager } from '../../src/db/index.js'
import { threadAddrFromBytes } from '../../hub/codec.js'
import { bearer, cleanupHubs, clientsFor, dec, enc, getToken, rejection, startHubProcess, startNodeDBPeer, type Clients } from './harness.js'
import { until } from '../helpers/until.js'

/** Only the author named in an instance may create, change or delete it. */
const AUTHORS_ONLY = `
  if (event.patch.type === 'create') return event.patch.json_patch.author === writer || 'the author must write it'
  if (instance !== undefined && instance.author !== writer) return 'only its author may change it'
  return true`


let manager: DBManager
let stopPeer: () => Promise<void>

beforeAll(async () => {
  ({ manager, stop: stopPeer } = await startNodeDBPeer(1000))
})

afterAll(async () => {
  await stopPeer()
  await cleanupHubs()
})

/** Join a hub DB on the Node peer, with the owner GetDBInfo names. */
async function join(c: Clients, dbID: Uint8Array): Promise<Database> {
  const info = await c.db.getDBInfo({ dbID })
  return await manager.newDBFromAddr(threadAddrFromBytes(info.addrs[0]!), threadKeyToString(threadKeyFromBytes(info.key)), { owner: info.owners[0]! })
}

describe('identities through the hub', () => {
  it('two clients write as themselves: an authors-only rule holds on the hub and on a Node peer alike', async () => {
    const hub = await startHubProcess({ env: { WEFT_HUB_SYNC_INTERVAL_MS: '1000' } })
    const c = clientsFor('grpc', hub)
    const alice = await getToken(c.db)
    const bob = await getToken(c.db)
    const dbID = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID, name: 'notes', collections: [{ name: 'Notes', writeValidator: AUTHORS_ONLY }] }, bearer(alice.token))
    expect((await c.db.getDBInfo({ dbID })).owners).toEqual([alice.identity])

    const create = async (as: typeof alice, author: string, text: string): Promise<string> =>
      (await c.db.create({ dbID, collectionName: 'Notes', instances: [enc({ author, text })] }, bearer(as.token))).instanceIDs[0]!
    const byAlice = await create(alice, alice.identity, 'by alice')
    const byBob = await create(bob, bob.identity, 'by bob')
    // Bob cannot write as Alice, nor touch her note; he is not an owner either.
    expect((await rejection(create(bob, alice.identity, 'forged'))).code).toBe(Code.PermissionDenied)
    expect((await rejection(c.db.delete({ dbID, collectionName: 'Notes', instanceIDs: [byAlice] }, bearer(bob.token)))).code).toBe(Code.PermissionDenied)
    const notOwner = await rejection(c.db.newCollection({ dbID, config: { name: 'Other' } }, bearer(bob.token)))
    expect(notOwner.code).toBe(Code.PermissionDenied)
    expect(notOwner.rawMessage).toContain('owner')
    // A call without a token is the hub, which is not Alice either.
    expect((await rejection(c.db.delete({ dbID, collectionName: 'Notes', instanceIDs: [byAlice] }))).code).toBe(Code.PermissionDenied)
    // A write transaction commits as its caller too.
    async function * txn() {
      yield { option: { case: 'startTransactionRequest' as const, value: { dbID, collectionName: 'Notes' } } }
      yield { option: { case: 'saveRequest' as const, value: { instances: [enc({ _id: byBob, author: bob.identity, text: 'edited by bob' })] } } }
    }
    for await (const reply of c.db.writeTransaction(txn(), bearer(bob.token))) expect(reply.option.value).not.toHaveProperty('transactionError', expect.stringMatching(/./))

    // The Node peer applies the same records with the same writers.
    const db = await join(c, dbID)
    await until(async () => await db.has('Notes', [byAlice, byBob]), 'both notes on the peer')
    expect(await db.findByID('Notes', byBob)).toMatchObject({ author: bob.identity, text: 'edited by bob' })
    expect(await db.conflicts()).toEqual([])
    expect((await db.getGovernance()).owners).toEqual([alice.identity])
    // The peer is neither author: the rule refuses it there as the hub refused Bob.
    await expect(db.delete('Notes', [byAlice])).rejects.toMatchObject({ name: 'ValidatorRejectedError' })
    await expect(db.newCollection({ name: 'Mine' })).rejects.toMatchObject({ name: 'NotAnOwnerError' })
    // Each author deletes its own note through the hub; the peer applies both deletes.
    await c.db.delete({ dbID, collectionName: 'Notes', instanceIDs: [byAlice] }, bearer(alice.token))
    await c.db.delete({ dbID, collectionName: 'Notes', instanceIDs: [byBob] }, bearer(bob.token))
    await until(async () => !(await db.has('Notes', [byAlice])) && !(await db.has('Notes', [byBob])), 'both deletes on the peer')
    expect(await db.conflicts()).toEqual([])

    // What the peer writes as itself, the hub accepts under the same rule.
    const me = db.identity!
    const [byPeer] = await db.create('Notes', [{ author: me, text: 'by the peer' }])
    await until(async () => (await c.db.has({ dbID, collectionName: 'Notes', instanceIDs: [byPeer!] })).exists, 'the peer\'s note on the hub')
    expect(dec((await c.db.findByID({ dbID, collectionName: 'Notes', instanceID: byPeer! })).instance)).toMatchObject({ author: me })
    expect((await rejection(c.db.delete({ dbID, collectionName: 'Notes', instanceIDs: [byPeer!] }, bearer(alice.token)))).code).toBe(Code.PermissionDenied)
  })

  it('a DB made without a token is owned by the hub, whose writes carry its own identity', async () => {
    const hub = await startHubProcess()
    const c = clientsFor('grpc', hub)
    const dbID = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID, collections: [{ name: 'Notes', writeValidator: AUTHORS_ONLY }] })
    const [owner] = (await c.db.getDBInfo({ dbID })).owners
    expect(owner).toBeDefined()
    // The hub's identity is its peer key's, the same one its tokens name as issuer.
    const { instanceIDs: [id] } = await c.db.create({ dbID, collectionName: 'Notes', instances: [enc({ author: owner, text: 'by the hub' })] })
    expect(dec((await c.db.findByID({ dbID, collectionName: 'Notes', instanceID: id! })).instance)).toMatchObject({ author: owner })
    const alice = await getToken(c.db)
    expect((await rejection(c.db.newCollection({ dbID, config: { name: 'Other' } }, bearer(alice.token)))).code).toBe(Code.PermissionDenied)
    expect((await rejection(c.db.create({ dbID, collectionName: 'Notes', instances: [enc({ author: owner, text: 'forged' })] }, bearer(alice.token)))).code).toBe(Code.PermissionDenied)
  })

  it('after a restart, a token issued before it keeps verifying and its client keeps writing as itself, in old DBs and new ones', async () => {
    let hub = await startHubProcess()
    const repo = hub.repo
    let c = clientsFor('grpc', hub)
    const alice = await getToken(c.db)
    const before = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID: before, collections: [{ name: 'Notes', writeValidator: AUTHORS_ONLY }] }, bearer(alice.token))
    await c.db.create({ dbID: before, collectionName: 'Notes', instances: [enc({ author: alice.identity })] }, bearer(alice.token))
    expect(await hub.stop()).toEqual({ code: 0, signal: null })

    hub = await startHubProcess({ repo })
    c = clientsFor('grpc', hub)
    await c.db.create({ dbID: before, collectionName: 'Notes', instances: [enc({ author: alice.identity, text: 'after' })] }, bearer(alice.token))
    const after = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID: after, collections: [{ name: 'Notes', writeValidator: AUTHORS_ONLY }] }, bearer(alice.token))
    expect((await c.db.getDBInfo({ dbID: after })).owners).toEqual([alice.identity])
    await c.db.create({ dbID: after, collectionName: 'Notes', instances: [enc({ author: alice.identity })] }, bearer(alice.token))
    expect((await c.db.find({ dbID: before, collectionName: 'Notes' }, bearer(alice.token))).instances).toHaveLength(2)
  })

  it('an identity whose delegation was dropped keeps its logs but is Unauthenticated in a new DB until it calls GetToken again', async () => {
    const hub = await startHubProcess({ env: { WEFT_HUB_MAX_DELEGATIONS: '1' } })
    const c = clientsFor('grpc', hub)
    const key = await generateKeyPair()
    const alice = await getToken(c.db, key)
    const first = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID: first, collections: [{ name: 'Notes', writeValidator: AUTHORS_ONLY }] }, bearer(alice.token))
    await getToken(c.db) // Bob's delegation drops Alice's.
    await c.db.create({ dbID: first, collectionName: 'Notes', instances: [enc({ author: identityToString(key.publicKey) })] }, bearer(alice.token))
    const second = threadIDToBytes(newThreadID())
    const refused = await rejection(c.db.newDB({ dbID: second }, bearer(alice.token)))
    expect(refused.code).toBe(Code.Unauthenticated)
    expect(refused.rawMessage).toContain('GetToken')
    expect((await c.db.listDBs({})).dbs).toHaveLength(1)
    const again = await getToken(c.db, key)
    await c.db.newDB({ dbID: second }, bearer(again.token))
    expect((await c.db.getDBInfo({ dbID: second })).owners).toEqual([alice.identity])
  })
})

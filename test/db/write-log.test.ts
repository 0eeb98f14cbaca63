/**
 * Writes through a chosen log of ours (`{ log }` on writes, transactions and collection changes):
 * the events carry that log's author, so validators and owners' rules see that identity as the
 * `writer` on the writing peer and on every peer that receives the records (real libp2p peers on
 * loopback).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createAuthorCertificate } from '../../src/core/author.js'
import { generateKeyPair, identityToString, privateKeyToBytes } from '../../src/core/identity.js'
import { logIDFromPublicKey } from '../../src/core/log-id.js'
import { newThreadID } from '../../src/core/thread-id.js'
import type { LogID } from '../../src/core/types.js'
import { createDBManager, dbNetFromNet, type DBManager } from '../../src/db/index.js'
import type { Peer } from '../../src/node/peer.js'
import { memoryStore } from '../../src/store/memory.js'
import { startPeer, stopAll, until } from '../net/helpers.js'

const managers: DBManager[] = []
afterEach(async () => {
  await Promise.all(managers.splice(0).map(async (m) => { await m.close() }))
  await stopAll()
})

async function dbPeer(peer: Peer): Promise<DBManager> {
  const m = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore), kv: memoryStore() })
  managers.push(m)
  return m
}

/** Only the author of an instance (named in it) may create, change or delete it. */
const AUTHORS_ONLY = `
  if (event.patch.type === 'create') return event.patch.json_patch.author === writer || 'the author must write it'
  if (instance !== undefined && instance.author !== writer) return 'only its author may change it'
  return true`

describe('DB writes through a chosen log', () => {
  it('carry that log\'s author as the writer on the writing peer and on a peer that receives them', async () => {
    const [a, b] = await Promise.all([startPeer(), startPeer()])
    const ma = await dbPeer(a!)
    const mb = await dbPeer(b!)
    const alice = await generateKeyPair()
    const aliceID = identityToString(alice.publicKey)
    const id = newThreadID()
    const dbA = await ma.newDB(id, { owner: aliceID })
    // A log of A's that writes as Alice (she signed its certificate).
    const logKey = await generateKeyPair()
    const log = logIDFromPublicKey(logKey.publicKey)
    await a!.net.addLog(id, { logKey: privateKeyToBytes(logKey), author: aliceID, certificate: await createAuthorCertificate(alice, logKey.publicKey) })

    // Only the owner defines collections: A's own log may not, Alice's log may.
    const config = { name: 'Notes', writeValidator: AUTHORS_ONLY }
    await expect(dbA.newCollection(config)).rejects.toMatchObject({ name: 'NotAnOwnerError' })
    await dbA.newCollection(config, { log })
    const [note] = await dbA.create('Notes', [{ author: aliceID, text: 'hi' }], { log })
    await expect(dbA.create('Notes', [{ author: aliceID, text: 'forged' }])).rejects.toMatchObject({ name: 'ValidatorRejectedError' })
    // A transaction through the log commits as Alice too.
    const txn = dbA.writeTransaction('Notes', { log })
    await txn.start()
    await txn.save([{ _id: note!, author: aliceID, text: 'edited' }])
    await txn.end()
    await expect(dbA.delete('Notes', [note!])).rejects.toMatchObject({ name: 'ValidatorRejectedError' })

    const info = await ma.getDBInfo(id)
    const dbB = await mb.newDBFromAddr(info.addrs.find((x) => x.includes('/tcp/') && !x.includes('/ws'))!, info.key, { owner: aliceID })
    await until(async () => (await dbB.has('Notes', [note!])), 20_000, 'B to apply Alice\'s note')
    expect(await dbB.findByID('Notes', note!)).toEqual({ _id: note, author: aliceID, text: 'edited' })
    expect(await dbB.conflicts()).toEqual([])
    // B is neither Alice nor an owner: the same rules refuse it there.
    await expect(dbB.delete('Notes', [note!])).rejects.toMatchObject({ name: 'ValidatorRejectedError' })
    await expect(dbB.deleteCollection('Notes')).rejects.toMatchObject({ name: 'NotAnOwnerError' })
    // Alice's delete through her log applies on both.
    await dbA.delete('Notes', [note!], { log })
    await until(async () => !(await dbB.has('Notes', [note!])), 20_000, 'B to apply Alice\'s delete')
    expect(await dbB.stateHash()).toBe(await dbA.stateHash())
  })

  it('refuses a log that is not ours in the thread with LogNotFoundError', async () => {
    const [a] = await Promise.all([startPeer()])
    const ma = await dbPeer(a!)
    const db = await ma.newDB(newThreadID(), { collections: [{ name: 'Notes' }] })
    const stranger = logIDFromPublicKey((await generateKeyPair()).publicKey) as LogID
    await expect(db.create('Notes', [{ text: 'x' }], { log: stranger })).rejects.toMatchObject({ name: 'LogNotFoundError' })
    await expect(db.newCollection({ name: 'Other' }, { log: stranger })).rejects.toMatchObject({ name: 'LogNotFoundError' })
    expect(await db.find('Notes')).toEqual([])
  })
})

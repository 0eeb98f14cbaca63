/**
 * G2, governed schema, and G5, JSON hygiene (docs/SECURITY.md), against a member running modified
 * code: Mallory joins the owner's DB as a member and writes events her own DB API refuses — a
 * validator replaced by `return true`, then a delete of a task the validator protects, then the
 * whole collection erased; a merge patch whose `__proto__` would supply a required field the
 * patch removes. Before owners existed the first attack erased the task list on every peer, and
 * before the JSON checks the second stored a document without its required field. Now each event
 * is rejected at its place on every peer (Mallory's own included) and listed in conflicts, the
 * states agree, and honest writes go on.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/index.js'
import { dbBody } from './member.js'
import {
  cleanupWorld, converged, heldLogs, honestPeer, honestWriteArrives, penaltiesAmongHonest, startRelayProcess, TASKS, team, until, type Honest, type Team
} from './world.js'

afterEach(async () => { await cleanupWorld() })

/** Mallory: a member who joined from the owner's address, with a DB of her own. */
async function mallory(t: Team): Promise<{ m: Honest; db: Database }> {
  const m = await honestPeer('mallory')
  const addr = (await t.owner.manager.getDBInfo(t.id)).addrs.find((a) => a.includes(t.owner.peer.peerId) && a.includes('/tcp/') && !a.includes('/ws'))!
  const db = await m.manager.newDBFromAddr(addr, t.key)
  await converged([...t.dbs, db])
  return { m, db }
}

/** Her modified code: the ops go straight into a record of her log, past her DB's checks. */
async function raw(m: Honest, t: Team, ops: string): Promise<number> {
  return (await m.peer.net.createRecord(t.id, { weftdb: 2, ops })).counter
}

/** Her rejected events, as each DB lists them: `<counter>:<error name>`. */
async function rejectedOf(db: Database, log: string): Promise<string[]> {
  return (await db.conflicts()).filter((c) => c.log === log).map((c) => `${c.counter}:${c.error.name}`)
}

describe('a member running modified code', () => {
  it('a member cannot replace a validator, delete a protected instance or erase a collection of a DB it does not own', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob'], relay)
    const [annDb, bobDb] = t.dbs as [Database, Database]
    const { m, db: mDb } = await mallory(t)
    const mLog = (await m.peer.net.getThread(t.id)).logs.find((l) => l.managed)!.id
    const permissive = { ...TASKS, indexes: [{ path: 'owner', unique: false }], writeValidator: 'return true', readFilter: '' }

    // Her own API refuses, and writes nothing.
    await expect(mDb.updateCollection(permissive)).rejects.toMatchObject({ name: 'NotAnOwnerError' })
    await expect(mDb.deleteCollection('Tasks')).rejects.toMatchObject({ name: 'NotAnOwnerError' })
    await expect(mDb.delete('Tasks', ['task-bob'])).rejects.toMatchObject({ name: 'ValidatorRejectedError' })

    // Her modified code writes them anyway, one by one and all in one event.
    const sent = [
      await raw(m, t, dbBody({ t: 'updateCollection', c: 'Tasks', config: permissive }).ops),
      await raw(m, t, dbBody({ t: 'delete', c: 'Tasks', id: 'task-bob' }).ops),
      await raw(m, t, dbBody({ t: 'deleteCollection', c: 'Tasks' }).ops),
      await raw(m, t, dbBody({ t: 'updateCollection', c: 'Tasks', config: permissive }, { t: 'delete', c: 'Tasks', id: 'task-ann' }, { t: 'deleteCollection', c: 'Tasks' }).ops),
      await raw(m, t, dbBody({ t: 'owners', add: [mDb.identity] }).ops),
      await raw(m, t, dbBody({ t: 'writers', set: [mDb.identity] }).ops),
      await raw(m, t, dbBody({ t: 'newCollection', c: 'Mine', config: { ...permissive, name: 'Mine' } }).ops)
    ]
    await honestWriteArrives(bobDb, annDb)

    const expected = [
      `${sent[0]}:NotAnOwnerError`, `${sent[1]}:ValidatorRejectedError`, `${sent[2]}:NotAnOwnerError`, `${sent[3]}:NotAnOwnerError`,
      `${sent[4]}:NotAnOwnerError`, `${sent[5]}:NotAnOwnerError`, `${sent[6]}:NotAnOwnerError`
    ]
    const dbs = [...t.dbs, mDb]
    await converged(dbs, async (db) => (await rejectedOf(db, mLog)).length === expected.length)
    for (const db of dbs) {
      expect(await rejectedOf(db, mLog)).toEqual(expected)
      expect((await db.listCollections()).map((c) => c.name).sort()).toEqual(['Board', 'Tasks'])
      expect((await db.getCollectionInfo('Tasks')).writeValidator).toBe(TASKS.writeValidator)
      expect(await db.has('Tasks', ['task-ann', 'task-bob'])).toBe(true)
      expect(await db.getGovernance()).toEqual({ governed: true, owners: [annDb.identity], writers: null })
    }
    // The protection still holds afterwards: her delete through the API is still refused.
    await expect(mDb.delete('Tasks', ['task-bob'])).rejects.toMatchObject({ name: 'ValidatorRejectedError' })

    // The relay holds her records (valid records it cannot read); a newcomer through it alone
    // folds them to the same state. Nobody honest was penalised for passing them on.
    await until(async () => ((await heldLogs(relay.tcpAddr, t.id, t.threadKey)).get(mLog) ?? 0) >= sent.at(-1)!, 'the relay to hold her records')
    const carol = await honestPeer('carol')
    const carolDb = await carol.manager.newDBFromAddr(`${relay.tcpAddr}/thread/${t.id}`, t.key)
    await converged([...dbs, carolDb], async (db) => (await rejectedOf(db, mLog)).length === expected.length)
    expect(await penaltiesAmongHonest([t.owner, ...t.members, m, carol], t.id, [relay.peerId])).toEqual([])
  }, 120_000)

  it('a remote save carrying __proto__ is rejected on every peer', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob'], relay)
    const [annDb, bobDb] = t.dbs as [Database, Database]
    const { m, db: mDb } = await mallory(t)
    const mLog = (await m.peer.net.getThread(t.id)).logs.find((l) => l.managed)!.id
    // Her own task, so the validator would let her change it.
    await mDb.create('Tasks', [{ _id: 'task-mallory', title: 'her task', owner: mDb.identity! }])
    await converged([...t.dbs, mDb], async (db) => await db.has('Tasks', ['task-mallory']))
    // Her API refuses the key.
    await expect(mDb.save('Tasks', [JSON.parse('{"_id":"task-mallory","title":"x","__proto__":{"y":1}}')])).rejects.toMatchObject({ name: 'InvalidInstanceError' })

    // JSON text written by hand: a patch that removes the required title and offers one through
    // __proto__, a create whose title is only in __proto__, and one nested deeper.
    const owner = JSON.stringify(mDb.identity)
    const sent = [
      await raw(m, t, `[{"c":"Tasks","id":"task-mallory","patch":{"__proto__":{"title":"from the prototype"},"title":null},"t":"save"}]`),
      await raw(m, t, `[{"c":"Tasks","doc":{"__proto__":{"title":"from the prototype"},"_id":"proto","owner":${owner}},"id":"proto","t":"create"}]`),
      await raw(m, t, `[{"c":"Tasks","id":"task-mallory","patch":{"done":true,"meta":{"deep":{"__proto__":{"polluted":true}}}},"t":"save"}]`)
    ]
    // constructor and prototype are plain data: stored as such, everywhere.
    const plain = await raw(m, t, `[{"c":"Tasks","id":"task-mallory","patch":{"constructor":{"name":"data"},"prototype":"data too"},"t":"save"}]`)
    await honestWriteArrives(annDb, bobDb)

    const dbs = [...t.dbs, mDb]
    const expected = sent.map((n) => `${n}:InvalidInstanceError`)
    await converged(dbs, async (db) => (await rejectedOf(db, mLog)).length === expected.length && (await db.findByID('Tasks', 'task-mallory')).prototype === 'data too')
    for (const db of dbs) {
      expect(await rejectedOf(db, mLog)).toEqual(expected)
      const stored = await db.findByID('Tasks', 'task-mallory')
      expect(stored).toEqual({ _id: 'task-mallory', title: 'her task', owner: mDb.identity, constructor: { name: 'data' }, prototype: 'data too' })
      expect(Object.getPrototypeOf(stored)).toBe(Object.prototype)
      expect(await db.has('Tasks', ['proto'])).toBe(false)
    }
    expect(plain).toBe(sent.at(-1)! + 1)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(await penaltiesAmongHonest([t.owner, ...t.members, m], t.id, [relay.peerId])).toEqual([])
  }, 120_000)
})

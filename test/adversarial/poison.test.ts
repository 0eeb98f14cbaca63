/**
 * G6, poison-proof sync (docs/SECURITY.md): Mallory seals records whose service layer verifies —
 * so the relay, which holds only the service key, stores them as the valid records of a valid log
 * they are — but whose header is sealed under a read key of her own, whose body does not decrypt,
 * or whose body is no event. Before this work the first such record aborted every pull past it
 * (`DecryptionError`), cutting every newcomer off the relay, and readers banned the relay for
 * serving it. Now readers store and pass them like any record, reject them as events (listed in
 * conflicts), and a newcomer catches up through the relay alone, banning nobody.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { newThreadKey } from '../../src/core/thread-key.js'
import type { Database } from '../../src/db/index.js'
import { startAttacker } from './attacker.js'
import { ForgedLog } from './forge.js'
import { dbBody, HostileMember } from './member.js'
import {
  cleanupWorld, converged, heldLogs, honestPeer, honestWriteArrives, metric, penaltiesAmongHonest, startRelayProcess, tcpOf, team
} from './world.js'

afterEach(async () => { await cleanupWorld() })

/** Her rejected events, as a DB lists them: `<counter>:<error name>`. */
async function rejectedOf(db: Database, log: string): Promise<string[]> {
  return (await db.conflicts()).filter((c) => c.log === log).map((c) => `${c.counter}:${c.error.name}`)
}

describe('poison records', () => {
  it('a newcomer catches up through the relay past poison records and bans nobody', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob'], relay)
    const [annDb, bobDb] = t.dbs as [Database, Database]
    const rejectedBefore = await metric(relay, 'weft_relay_rejected_total')
    const strikesBefore = [t.owner, ...t.members].map((h) => h.peer.net.stats().strikes)

    // Her log: a valid event, three poisoned records, another valid event.
    const poison = await ForgedLog.create(t.threadKey)
    await poison.append({ body: dbBody({ t: 'create', c: 'Board', id: 'before', doc: { _id: 'before', text: 'before the poison' } }) })
    await poison.append({ body: dbBody({ t: 'create', c: 'Board', id: 'hidden', doc: { _id: 'hidden', text: 'x' } }), headerKey: newThreadKey().read })
    await poison.append({ body: dbBody({ t: 'create', c: 'Board', id: 'hidden', doc: { _id: 'hidden', text: 'x' } }), wrongBodyKey: true })
    await poison.append({ body: { not: 'an event' } })
    await poison.append({ body: dbBody({ t: 'create', c: 'Board', id: 'after', doc: { _id: 'after', text: 'after the poison' } }) })
    const expected = ['2:DecryptionError', '3:DecryptionError', '4:InvalidEventError']

    // She hands them to the relay, which can check the envelopes only, and to Ann.
    const mallory = new HostileMember(await startAttacker({ ip: '127.0.0.2' }), t.id, t.threadKey)
    for (const target of [relay.tcpAddr, tcpOf(t.owner.peer.addrs())]) {
      expect(await mallory.announce(target, poison.wire())).toMatchObject({ type: 'ok' })
      for (let c = 1; c <= poison.counter; c++) expect(await mallory.push(target, poison, c), `${c} → ${target}`).toMatchObject({ type: 'ok' })
    }
    await mallory.attacker.stop()
    await honestWriteArrives(annDb, bobDb)

    // A newcomer joins through the relay alone and catches up past the poison.
    const carol = await honestPeer('carol')
    const carolDb = await carol.manager.newDBFromAddr(`${relay.tcpAddr}/thread/${t.id}`, t.key)
    const dbs = [...t.dbs, carolDb]
    await converged(dbs, async (db) => await db.has('Board', ['before', 'after']) && (await rejectedOf(db, poison.id)).length === expected.length, 30_000)
    for (const db of dbs) {
      expect(await rejectedOf(db, poison.id)).toEqual(expected)
      expect(await db.has('Board', ['hidden'])).toBe(false)
      expect(await db.has('Tasks', ['task-ann', 'task-bob'])).toBe(true)
    }
    // Everyone stores her log whole (it is a valid log), passes it on, and bans nobody.
    for (const target of [relay.tcpAddr, tcpOf(t.owner.peer.addrs()), tcpOf(t.members[0]!.peer.addrs()), tcpOf(carol.peer.addrs())]) {
      expect((await heldLogs(target, t.id, t.threadKey)).get(poison.id), target).toBe(poison.counter)
    }
    expect(await penaltiesAmongHonest([t.owner, ...t.members, carol], t.id, [relay.peerId])).toEqual([])
    expect([t.owner, ...t.members].map((h) => h.peer.net.stats().strikes)).toEqual(strikesBefore)
    expect(carol.peer.net.stats().strikes).toBe(0)
    expect(await metric(relay, 'weft_relay_rejected_total')).toBe(rejectedBefore)
    await honestWriteArrives(carolDb, annDb)
  }, 120_000)
})

/**
 * G1, proven authors (docs/SECURITY.md): a member running modified code writes records in another
 * member's name — with no certificate, a certificate it signed itself, a garbage one, a version 1
 * record, a real certificate copied from another log — and pushes them to every honest peer and
 * to the relay, and serves them to peers that pull from it. Before record format version 2 such a
 * forged delete of someone else's task was accepted on every peer. Now every one is refused where
 * it arrives, stored nowhere, and honest replication goes on.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createAuthorCertificate } from '../../src/core/author.js'
import { randomBytes } from '../../src/core/bytes.js'
import { generateKeyPair, identityToString, parseIdentity } from '../../src/core/identity.js'
import { startAttacker } from './attacker.js'
import { ForgedLog } from './forge.js'
import { dbBody, HostileMember } from './member.js'
import { logServer } from './server.js'
import {
  cleanupWorld, converged, heldLogs, honestPeer, honestWriteArrives, metric, penaltiesAmongHonest, startRelayProcess, tcpOf, team, until
} from './world.js'

afterEach(async () => { await cleanupWorld() })

describe('forged authors', () => {
  it('a record forged in another member\'s name is refused by every honest peer and by the relay', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob'], relay)
    const [annDb, bobDb] = t.dbs as [typeof t.dbs[0], typeof t.dbs[0]]
    const targets = [tcpOf(t.owner.peer.addrs()), tcpOf(t.members[0]!.peer.addrs()), relay.tcpAddr]
    const victim = parseIdentity(bobDb.identity!)
    const forgedDelete = dbBody({ t: 'delete', c: 'Tasks', id: 'task-bob' })
    const before = await metric(relay, 'weft_relay_rejected_total')

    // Mallory holds the thread key. Each forgery comes from a fresh peer ID on 127.0.0.2 (a peer
    // that is refused and struck simply comes back under another ID).
    const log = await ForgedLog.create(t.threadKey)
    const forgeries = [
      { name: 'no certificate', author: victim },
      { name: 'a certificate Mallory signed herself', author: victim, certificate: await createAuthorCertificate(log.key, log.key.publicKey) },
      { name: 'a garbage certificate', author: victim, certificate: { nonce: randomBytes(16), signature: randomBytes(64) } },
      { name: 'a version 1 record', author: victim, version: 1 as const }
    ]
    for (const f of forgeries) {
      const mallory = new HostileMember(await startAttacker({ ip: '127.0.0.2' }), t.id, t.threadKey)
      const forged = log.fork(0)
      await forged.append({ body: forgedDelete, author: f.author, ...(f.certificate != null ? { certificate: f.certificate } : {}), ...(f.version != null ? { version: f.version } : {}) })
      for (const target of targets) {
        expect(await mallory.announce(target, log.wire()), `${f.name} → ${target}`).toMatchObject({ type: 'ok' })
        expect(await mallory.push(target, forged, 1), `${f.name} → ${target}`).toMatchObject({ type: 'error', code: 'INVALID_RECORD' })
      }
      // Honest replication goes on while she tries.
      await honestWriteArrives(bobDb, annDb)
      await mallory.attacker.stop()
    }

    // She also serves a forged record to whoever pulls from her: Ann learns her log (at counter
    // 1, with her address), pulls, refuses the record and strikes her.
    const server = await startAttacker({ ip: '127.0.0.2' })
    const served = await ForgedLog.create(t.threadKey)
    await served.append({ body: forgedDelete, author: victim })
    const pulls = logServer([{ id: t.id, logs: () => [served], addrs: () => [server.tcpAddr()] }])
    await server.serve(pulls.handler)
    const strikesBefore = t.owner.peer.net.stats().strikes
    const announcer = new HostileMember(server, t.id, t.threadKey)
    expect(await announcer.announce(targets[0]!, served.wire([server.tcpAddr()]))).toMatchObject({ type: 'ok' })
    await until(() => (pulls.served.getRecords ?? 0) > 0 && t.owner.peer.net.stats().strikes > strikesBefore, 'Ann to pull the forged record and strike Mallory')

    // Every honest peer and the relay: the victim's task is there, the forged logs hold nothing,
    // the states agree, no forged event reached any DB, and no honest peer was penalised.
    await honestWriteArrives(annDb, bobDb)
    await converged(t.dbs)
    for (const db of t.dbs) {
      expect(await db.findByID('Tasks', 'task-bob')).toMatchObject({ owner: bobDb.identity })
      expect((await db.conflicts()).filter((c) => c.log === log.id || c.log === served.id)).toEqual([])
    }
    for (const target of targets) {
      const held = await heldLogs(target, t.id, t.threadKey)
      expect(held.get(log.id) ?? 0, target).toBe(0)
      expect(held.get(served.id) ?? 0, target).toBe(0)
    }
    expect(await metric(relay, 'weft_relay_rejected_total')).toBeGreaterThanOrEqual(before + forgeries.length)
    expect(await penaltiesAmongHonest([t.owner, ...t.members], t.id, [relay.peerId])).toEqual([])

    // A newcomer joining through the relay alone reaches the same state.
    const carol = await honestPeer('carol')
    const carolDb = await carol.manager.newDBFromAddr(`${relay.tcpAddr}/thread/${t.id}`, t.key)
    await converged([...t.dbs, carolDb], async (db) => await db.has('Tasks', ['task-bob']))
  }, 120_000)

  it('a real certificate proves its author only in the log it was signed for', async () => {
    const t = await team(['ann', 'bob'])
    const [annDb, bobDb] = t.dbs as [typeof t.dbs[0], typeof t.dbs[0]]
    const target = tcpOf(t.owner.peer.addrs())
    // Vic (a key held by a tab, say) delegated one of Mallory's log keys: records of that log may
    // name Vic. Mallory copies the certificate into another log of hers.
    const vic = await generateKeyPair()
    const trusted = await ForgedLog.create(t.threadKey)
    const other = await ForgedLog.create(t.threadKey)
    const certificate = await createAuthorCertificate(vic, trusted.key.publicKey)
    const mallory = new HostileMember(await startAttacker({ ip: '127.0.0.2' }), t.id, t.threadKey)
    await other.append({ body: dbBody({ t: 'create', c: 'Tasks', id: 'copied', doc: { _id: 'copied', title: 'as Vic', owner: 'x' } }), author: vic.publicKey, certificate })
    expect(await mallory.announce(target, other.wire())).toMatchObject({ type: 'ok' })
    expect(await mallory.push(target, other, 1)).toMatchObject({ type: 'error', code: 'INVALID_RECORD' })

    // In the log Vic delegated, the same certificate proves Vic: the record is taken, and the
    // DB's validator sees Vic as the writer (a task Vic owns is accepted).
    const vicTask = { _id: 'vic', title: 'by Vic through a delegated log', owner: identityToString(vic.publicKey) }
    await trusted.append({ body: dbBody({ t: 'create', c: 'Tasks', id: 'vic', doc: vicTask }), author: vic.publicKey, certificate })
    expect(await mallory.announce(target, trusted.wire())).toMatchObject({ type: 'ok' })
    expect(await mallory.push(target, trusted, 1)).toMatchObject({ type: 'ok' })
    await converged(t.dbs, async (db) => await db.has('Tasks', ['vic']))
    expect(await bobDb.findByID('Tasks', 'vic')).toEqual(vicTask)
    expect(await annDb.has('Tasks', ['copied'])).toBe(false)
    expect((await heldLogs(target, t.id, t.threadKey)).get(other.id) ?? 0).toBe(0)
  }, 60_000)
})

/**
 * G4, bounded clocks (docs/SECURITY.md): a member chooses the time its events carry. Mallory
 * stamps a save of the shared headline a hundred years ahead and pushes it to every honest peer
 * and the relay — before clocks were bounded it outranked every later honest write while the
 * victim's `save()` resolved as if it had worked. Now it is held (not applied) and later honest
 * saves win everywhere. Within the drift her event applies, but honest clocks follow it, so the
 * next honest save still lands after it; a time that goes back in her log is rejected everywhere.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/index.js'
import { startAttacker } from './attacker.js'
import { ForgedLog } from './forge.js'
import { dbBody, HostileMember } from './member.js'
import { cleanupWorld, converged, heldLogs, honestPeer, honestWriteArrives, startRelayProcess, tcpOf, team, until } from './world.js'

afterEach(async () => { await cleanupWorld() })

const YEAR = 365 * 24 * 60 * 60_000

describe('clocks', () => {
  it('a save stamped a hundred years ahead does not outrank later honest saves', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob'], relay)
    const [annDb, bobDb] = t.dbs as [Database, Database]
    const targets = [tcpOf(t.owner.peer.addrs()), tcpOf(t.members[0]!.peer.addrs()), relay.tcpAddr]
    await annDb.create('Board', [{ _id: 'headline', text: 'v0' }])
    await converged(t.dbs, async (db) => await db.has('Board', ['headline']))

    const mallory = new HostileMember(await startAttacker({ ip: '127.0.0.2' }), t.id, t.threadKey)
    const far = await ForgedLog.create(t.threadKey)
    await far.append({ body: dbBody({ t: 'save', c: 'Board', id: 'headline', patch: { text: 'Mallory, a hundred years ahead' } }), time: { wall: Date.now() + 100 * YEAR, counter: 0 } })
    for (const target of targets) {
      expect(await mallory.announce(target, far.wire())).toMatchObject({ type: 'ok' })
      // A valid record of her log: stored and acknowledged; it is the DB that holds it.
      expect(await mallory.push(target, far, 1)).toMatchObject({ type: 'ok' })
    }

    // The victim saves after the attack: the save resolves, and it is what everyone holds.
    await bobDb.save('Board', [{ _id: 'headline', text: 'Bob, after the attack' }])
    await converged(t.dbs, async (db) => (await db.findByID('Board', 'headline')).text === 'Bob, after the attack')
    await annDb.save('Board', [{ _id: 'headline', text: 'Ann, later still' }])
    await converged(t.dbs, async (db) => (await db.findByID('Board', 'headline')).text === 'Ann, later still')

    // Within the drift (30 s ahead) her save applies, but the honest clocks moved past it: the
    // next honest save lands after it. Then a time that goes back in her log is rejected.
    const near = await ForgedLog.create(t.threadKey)
    await near.append({ body: dbBody({ t: 'save', c: 'Board', id: 'headline', patch: { text: 'Mallory, 30 s ahead' } }), time: { wall: Date.now() + 30_000, counter: 0 } })
    await near.append({ body: dbBody({ t: 'save', c: 'Board', id: 'headline', patch: { text: 'Mallory, back in time' } }), time: { wall: Date.now() - 60_000, counter: 0 } })
    for (const target of targets) {
      expect(await mallory.announce(target, near.wire())).toMatchObject({ type: 'ok' })
      expect(await mallory.push(target, near, 1)).toMatchObject({ type: 'ok' })
      expect(await mallory.push(target, near, 2)).toMatchObject({ type: 'ok' })
    }
    await converged(t.dbs, async (db) => (await db.findByID('Board', 'headline')).text === 'Mallory, 30 s ahead')
    await honestWriteArrives(bobDb, annDb)
    await bobDb.save('Board', [{ _id: 'headline', text: 'Bob, after the near attack' }])
    await converged(t.dbs, async (db) => (await db.findByID('Board', 'headline')).text === 'Bob, after the near attack')

    for (const db of t.dbs) {
      const mine = (await db.conflicts()).filter((c) => c.log === near.id || c.log === far.id)
      expect(mine.map((c) => `${c.log === near.id ? 'near' : 'far'}:${c.counter}:${c.error.name}`)).toEqual(['near:2:ClockRegressionError'])
    }
    // Every peer holds both her logs (they are valid), and a newcomer through the relay folds
    // them to the same state.
    for (const target of targets) {
      const held = await heldLogs(target, t.id, t.threadKey)
      expect([held.get(far.id), held.get(near.id)]).toEqual([1, 2])
    }
    const carol = await honestPeer('carol')
    const carolDb = await carol.manager.newDBFromAddr(`${relay.tcpAddr}/thread/${t.id}`, t.key)
    await converged([...t.dbs, carolDb], async (db) => (await db.findByID('Board', 'headline')).text === 'Bob, after the near attack')
  }, 120_000)

  it('events stamped in the past, pushed one after another, do not keep honest reads and writes waiting', async () => {
    const t = await team(['ann', 'bob'], undefined, { persistent: true })
    const [annDb, bobDb] = t.dbs as [Database, Database]
    const ann = tcpOf(t.owner.peer.addrs())
    const base = Date.now()
    const mallory = new HostileMember(await startAttacker({ ip: '127.0.0.2' }), t.id, t.threadKey)
    // A thousand events of hers, a few seconds ahead (within the drift): each late event below
    // sorts before all of them, so each one rewinds and replays a thousand events.
    const bulk = await ForgedLog.create(t.threadKey)
    for (let i = 0; i < 1000; i++) await bulk.append({ body: dbBody({ t: 'create', c: 'Board', id: `b${i}`, doc: { _id: `b${i}`, text: 'bulk' } }), time: { wall: base + 5_000 + i, counter: 0 } })
    expect(await mallory.announce(ann, bulk.wire())).toMatchObject({ type: 'ok' })
    for (let c = 1; c <= bulk.counter; c++) await mallory.push(ann, bulk, c)
    await until(async () => await annDb.has('Board', ['b999']), 'Ann to apply the thousand events', 60_000)

    // Then late events, one push at a time, for as long as the test looks.
    const late = await ForgedLog.create(t.threadKey)
    expect(await mallory.announce(ann, late.wire())).toMatchObject({ type: 'ok' })
    // One every 50 ms, without waiting for the answers (her pushes queue at Ann as they would
    // from a peer of her own, whatever Ann is busy with).
    let sent = 0
    let chain = Promise.resolve()
    const timer = setInterval(() => {
      chain = chain.then(async () => {
        await late.append({ body: dbBody({ t: 'save', c: 'Board', id: 'b0', patch: { text: `late ${sent}` } }), time: { wall: base + sent + 1, counter: 0 } })
        void mallory.push(ann, late, late.counter).catch(() => undefined)
        sent++
      })
    }, 50)
    try {
      await until(() => sent >= 20, 'the late events to flow')
      // Ann reads and writes, and Bob's writes reach her, each in a bounded time.
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now()
        expect((await annDb.findByID('Board', 'b1')).text).toBe('bulk')
        await annDb.create('Board', [{ _id: `ann-${i}`, text: 'during the attack' }])
        expect(Date.now() - t0, `a read and a write took ${Date.now() - t0} ms`).toBeLessThan(5_000)
        await honestWriteArrives(bobDb, annDb, 10_000)
      }
    } finally {
      clearInterval(timer)
      await chain
    }
    await converged(t.dbs, async (db) => (await db.findByID('Board', 'b0')).text === `late ${sent - 1}`, 60_000)
  }, 180_000)
})

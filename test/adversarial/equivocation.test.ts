/**
 * G3, equivocation is detected and resolved identically (docs/SECURITY.md): Mallory signs two
 * different records at the same position of her log — one branch for Ann, another for Bob (and,
 * in a second log, two different first records). Before fork detection each peer acknowledged
 * the other's branch `ok` as a record it already held, and the two stayed apart forever (and Bob
 * once struck honest Ann for forwarding). Now the branches meet as honest peers forward and pull
 * them, the peers find the fork, keep the proof, freeze the log at it and fold the same state;
 * the proof reaches the relay and a newcomer joining through it; and no honest peer is penalised
 * for passing either branch on.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/index.js'
import type { Response } from '../../src/net/messages.js'
import { startAttacker } from './attacker.js'
import { ForgedLog } from './forge.js'
import { dbBody, HostileMember } from './member.js'
import {
  cleanupWorld, converged, honestPeer, honestWriteArrives, metric, penaltiesAmongHonest, startRelayProcess, tcpOf, team, type Team
} from './world.js'

afterEach(async () => { await cleanupWorld() })

/** The forks each DB lists: `<log>:<counter>` of its EquivocationError conflicts. */
async function forksOf(db: Database): Promise<string[]> {
  return (await db.conflicts()).filter((c) => c.error.name === 'EquivocationError').map((c) => `${c.log}:${c.counter}`).sort()
}

function outcome(r: Response | 'closed'): string {
  return r === 'closed' ? r : r.type === 'error' ? `${r.code} ${r.message}` : r.type
}

/**
 * Mallory's two logs, forked: `main` shares a first record and splits at counter 2 (each branch
 * two records long); `twin` has two different first records. Branch X goes to Ann, Y to Bob.
 */
async function equivocate(t: Team): Promise<{ main: ForgedLog; twin: ForgedLog; forks: string[] }> {
  const [annAddr, bobAddr] = [tcpOf(t.owner.peer.addrs()), tcpOf(t.members[0]!.peer.addrs())]
  const mallory = new HostileMember(await startAttacker({ ip: '127.0.0.2' }), t.id, t.threadKey)
  const mainX = await ForgedLog.create(t.threadKey)
  await mainX.append({ body: dbBody({ t: 'create', c: 'Board', id: 'common', doc: { _id: 'common', text: 'before the fork' } }) })
  const mainY = mainX.fork()
  await mainX.append({ body: dbBody({ t: 'create', c: 'Board', id: 'x', doc: { _id: 'x', text: 'only Ann sees this' } }) })
  await mainX.append({ body: dbBody({ t: 'save', c: 'Board', id: 'common', patch: { text: 'changed in X' } }) })
  await mainY.append({ body: dbBody({ t: 'create', c: 'Board', id: 'y', doc: { _id: 'y', text: 'only Bob sees this' } }) })
  await mainY.append({ body: dbBody({ t: 'save', c: 'Board', id: 'common', patch: { text: 'changed in Y' } }) })
  const twinX = await ForgedLog.create(t.threadKey)
  const twinY = twinX.fork()
  await twinX.append({ body: dbBody({ t: 'create', c: 'Board', id: 'twin', doc: { _id: 'twin', text: 'X' } }) })
  await twinY.append({ body: dbBody({ t: 'create', c: 'Board', id: 'twin', doc: { _id: 'twin', text: 'Y' } }) })

  // Both at once, so that each holds its branch before the other's comes forwarded.
  await Promise.all(([[annAddr, mainX, twinX], [bobAddr, mainY, twinY]] as const).map(async ([addr, main, twin]) => {
    expect(await mallory.announce(addr, main.wire())).toMatchObject({ type: 'ok' })
    expect(await mallory.announce(addr, twin.wire())).toMatchObject({ type: 'ok' })
    // Taken, or — when the other branch came forwarded first — refused as a fork.
    expect(outcome(await mallory.push(addr, twin, 1))).toMatch(/^ok$|^INVALID_RECORD .*frozen/)
    for (let c = 1; c <= main.counter; c++) expect(outcome(await mallory.push(addr, main, c))).toMatch(/^ok$|^INVALID_RECORD .*frozen/)
  }))
  await mallory.attacker.stop()
  return { main: mainX, twin: twinX, forks: [`${mainX.id}:2`, `${twinX.id}:1`].sort() }
}

describe('equivocation', () => {
  it('peers given different branches of one log find the fork, freeze the log at it and converge', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob'], relay)
    const [annDb, bobDb] = t.dbs as [Database, Database]
    const { forks } = await equivocate(t)

    // Ann and Bob pass their branches on (forwarding, pulls, the relay): each finds the fork.
    const agreed = await converged(t.dbs, async (db) => (await forksOf(db)).join() === forks.join(), 30_000)
    for (const db of t.dbs) {
      expect(await forksOf(db)).toEqual(forks)
      // Before the fork her log counts; at and past it, nothing of either branch.
      expect(await db.findByID('Board', 'common')).toEqual({ _id: 'common', text: 'before the fork' })
      expect(await db.has('Board', ['x'])).toBe(false)
      expect(await db.has('Board', ['y'])).toBe(false)
      expect(await db.has('Board', ['twin'])).toBe(false)
    }
    await honestWriteArrives(bobDb, annDb)
    await honestWriteArrives(annDb, bobDb)

    // The proof reached the relay: a newcomer joining through it alone folds the same state.
    const carol = await honestPeer('carol')
    const carolDb = await carol.manager.newDBFromAddr(`${relay.tcpAddr}/thread/${t.id}`, t.key)
    await converged([...t.dbs, carolDb], async (db) => (await forksOf(db)).join() === forks.join(), 30_000)
    expect(await carolDb.stateHash()).not.toBe('')
    expect(agreed).not.toBe('')
  }, 120_000)

  it('the honest peer that forwards a branch is not penalised', async () => {
    const relay = await startRelayProcess()
    const t = await team(['ann', 'bob', 'cy'], relay)
    const strikesBefore = t.dbs.map(() => 0)
    for (const [i, h] of [t.owner, ...t.members].entries()) strikesBefore[i] = h.peer.net.stats().strikes
    const rejectedBefore = await metric(relay, 'weft_relay_rejected_total')
    const { forks } = await equivocate(t)
    await converged(t.dbs, async (db) => (await forksOf(db)).join() === forks.join(), 30_000)

    // Ann forwarded X to Bob and Cy, Bob forwarded Y to Ann and Cy, both reached the relay:
    // nobody counted any of it against an honest peer, and they all still talk.
    expect(await penaltiesAmongHonest([t.owner, ...t.members], t.id, [relay.peerId])).toEqual([])
    for (const [i, h] of [t.owner, ...t.members].entries()) expect(h.peer.net.stats().strikes, h.name).toBe(strikesBefore[i])
    expect(await metric(relay, 'weft_relay_rejected_total')).toBe(rejectedBefore)
    await honestWriteArrives(t.dbs[0]!, t.dbs[1]!)
    await honestWriteArrives(t.dbs[1]!, t.dbs[2]!)
    await honestWriteArrives(t.dbs[2]!, t.dbs[0]!)
  }, 120_000)
})

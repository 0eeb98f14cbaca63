/**
 * A Byzantine member for the convergence property: a member of the thread running modified code.
 * Its log holds whatever the record layer lets a member sign — so it never claims another
 * identity (such records are refused below the DB, as if the net dropped them) — and it:
 *
 * - writes collection, owner and writer changes it has no right to, copies the creator's
 *   genesis, forges a genesis of its own, writes version 1 and malformed bodies, `__proto__`
 *   keys, lone surrogates, schema-invalid and validator-rejected instances;
 * - stamps events far ahead (held by every peer until their time), in the past (before the
 *   genesis), and going back within its log;
 * - sends records readers cannot read;
 * - equivocates: a second record at a counter it already used, given to some peers; each fork
 *   becomes a notice, delivered to some peers during the run and to all at the end.
 */
import type { HLC } from '../../src/core/hlc.js'
import type { ThreadID } from '../../src/core/types.js'
import type { DBRecord } from '../../src/db/index.js'
import type { FakeNet } from './fake-net.js'
import { forger, type Forger } from './helpers.js'

export interface Rand { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean }

export interface Byzantine {
  readonly log: string
  readonly author: string
  /** Fork notices it caused. */
  readonly forks: Array<{ log: string; counter: number }>
  /** Records in another member's name it tried to write (the record layer refuses them). */
  readonly impersonations: number
  /** Do one random thing. */
  act(replicas: readonly FakeNet[]): void
}

const LONE = '\ud800'
const JUNK = { name: 'Junk', schema: { type: 'object', properties: { _id: { type: 'string' } } }, indexes: [], writeValidator: '', readFilter: '' }
const NOTES_CONFIG = { name: 'Notes', schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' }, item: { type: 'string' } } }, indexes: [], writeValidator: '', readFilter: '' }

export async function byzantine(init: { thread: ThreadID; rnd: Rand; now: () => number; genesis: DBRecord; ids: readonly string[]; tags: readonly string[] }): Promise<Byzantine> {
  const { thread, rnd, now, genesis, ids, tags } = init
  const me: Forger = await forger(thread)
  const chain: DBRecord[] = []
  const forks: Array<{ log: string; counter: number }> = []
  let last: HLC = { wall: 0, counter: 0 }
  let impersonations = 0

  const ops = (...list: object[]): string => JSON.stringify(list)
  const v2 = (text: string): object => ({ weftdb: 2, ops: text })

  function stamp(): HLC {
    const roll = rnd.next()
    let t: HLC
    if (roll < 0.08) t = { wall: now() + 61_000 + rnd.int(300_000), counter: 0 } // beyond the drift: held
    else if (roll < 0.14) t = { wall: now() - 5_000 - rnd.int(100_000), counter: 0 } // in the past, maybe before the genesis
    else if (roll < 0.22) t = { wall: Math.max(0, last.wall - rnd.int(50)), counter: last.counter } // going back within its log
    else if (roll < 0.27) t = { wall: now() + rnd.int(30_000), counter: rnd.int(3) } // ahead, within the drift
    else t = { wall: Math.max(now() + rnd.int(40) - 20, last.wall + 1), counter: 0 }
    if (t.wall > last.wall || (t.wall === last.wall && t.counter > last.counter)) last = t
    return t
  }

  function body(): unknown {
    const id = rnd.pick(ids)
    switch (rnd.int(16)) {
      case 0: return v2(ops({ t: 'newCollection', c: 'Junk', config: JUNK }))
      case 1: return v2(ops({ t: 'deleteCollection', c: rnd.pick(['Notes', 'Items']) }))
      case 2: return v2(ops({ t: 'updateCollection', c: 'Notes', config: NOTES_CONFIG }))
      case 3: return v2(ops({ t: 'owners', add: [me.author] }))
      case 4: return v2(ops({ t: 'writers', set: rnd.chance(0.5) ? [me.author] : null }))
      case 5: return genesis.body
      case 6: return v2(ops({ t: 'genesis', owner: me.author, salt: '0123456789abcdef0123456789abcdef' }))
      case 7: return { weftdb: 1, ops: ops({ t: 'create', c: 'Items', id, doc: { _id: id, n: 1 } }) }
      case 8: return rnd.chance(0.5) ? { hello: 'world' } : v2('[]')
      case 9: return v2(`[{"t":"save","c":"Items","id":${JSON.stringify(id)},"patch":{"__proto__":{"locked":true},"n":2}}]`)
      case 10: {
        const bid = `b-${rnd.int(3)}`
        return v2(ops({ t: 'create', c: 'Items', id: bid, doc: { _id: bid, color: `x${LONE}` } }))
      }
      case 11: return v2(ops({ t: 'save', c: 'Items', id, patch: { n: 'many' } }))
      case 12: return v2(ops({ t: 'save', c: 'Items', id, patch: { n: rnd.int(4) - 2, tag: rnd.pick(tags) } }))
      case 13: return v2(ops({ t: 'delete', c: 'Items', id }))
      case 14: {
        const nid = `bn-${rnd.int(4)}`
        return v2(ops({ t: 'create', c: 'Notes', id: nid, doc: { _id: nid, text: 'byzantine' } }, { t: 'newCollection', c: 'Junk', config: JUNK }))
      }
      default: {
        const bid = `b-${rnd.int(3)}`
        return v2(ops({ t: 'create', c: 'Items', id: bid, doc: { _id: bid, n: rnd.int(5), color: 'black', ...(rnd.chance(0.5) ? { tag: rnd.pick(tags) } : {}) } }))
      }
    }
  }

  function write(): void {
    if (rnd.chance(0.06)) {
      chain.push(me.unreadable())
      return
    }
    chain.push(me.record(body(), stamp()))
  }

  function push(replicas: readonly FakeNet[]): void {
    const dst = rnd.pick(replicas)
    let given = 0
    const want = 1 + rnd.int(4)
    for (const r of chain) {
      if (given >= want) break
      if (dst.deliver(r) === 'new') given++
    }
  }

  /** A second record at a counter already used, to a peer that has not taken that counter yet. */
  function equivocate(replicas: readonly FakeNet[]): void {
    if (chain.length === 0) return
    const counter = chain.length
    const alt: DBRecord = { ...chain[counter - 1]!, body: v2(ops({ t: 'create', c: 'Notes', id: `alt-${counter}`, doc: { _id: `alt-${counter}`, text: 'other branch' } })) }
    if (!forks.some((f) => f.counter === counter)) forks.push({ log: me.log, counter })
    for (const dst of replicas) if (rnd.chance(0.5)) dst.deliver(alt)
  }

  function notify(replicas: readonly FakeNet[]): void {
    if (forks.length === 0) return
    const f = rnd.pick(forks)
    rnd.pick(replicas).fork(thread, f.log as never, f.counter)
  }

  return {
    log: me.log,
    author: me.author,
    forks,
    get impersonations() { return impersonations },
    act(replicas) {
      const roll = rnd.next()
      if (roll < 0.45) write()
      else if (roll < 0.85) push(replicas)
      else if (roll < 0.9) equivocate(replicas)
      else if (roll < 0.96) notify(replicas)
      else impersonations++ // a record in another member's name: refused by the record layer, never delivered
    }
  }
}

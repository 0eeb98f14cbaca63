/**
 * One simulated run per seed: 2–4 members of a thread (sometimes with a replicator), real record
 * crypto, the real log store over `memoryStore()` (kept across a peer's restart), the real net
 * layer on the simulated transport and virtual time. The seed draws the writes and the faults —
 * lossy periods, connections cut in the middle of requests, partitions that heal, process
 * restarts and stop/start on the same store, peers away for hours — then everything heals and we
 * measure how long (virtual time) the peers take to hold the same heads, and collect every
 * penalty any honest peer gave another.
 *
 * Some seeds have a Byzantine member (byzantine.ts): it equivocates, appends records readers
 * cannot open and forges address lists, and the honest peers must still converge — the same
 * heads, its log frozen at the same counter everywhere — and penalise nobody honest.
 *
 * A seed replays the same scenario and the same scheduling (the PRNG drives every choice, the
 * clock is virtual, keys are derived from the seed); only the bytes of records differ between
 * runs, because AES-GCM nonces and body keys come from the platform's random source.
 */
import { privateKeyFromSeed, privateKeyToBytes } from '../../src/core/identity.js'
import { logIDFromPublicKey } from '../../src/core/log-id.js'
import { threadIDFromBytes } from '../../src/core/thread-id.js'
import { threadKeyFromBytes, threadKeyToString } from '../../src/core/thread-key.js'
import type { ThreadID } from '../../src/core/types.js'
import { createNet } from '../../src/net/net.js'
import type { Net, NetInit } from '../../src/net/index.js'
import { createLogStore } from '../../src/store/logstore.js'
import { memoryStore } from '../../src/store/memory.js'
import type { KVStore } from '../../src/store/kv.js'
import { equivocate, forgeAddrs, ownLog, poison, type ByzantineCtx } from './byzantine.js'
import { createRng, createSimNetwork, type Rng, type SimNetwork, type SimNode } from './sim-network.js'
import { createVirtualClock, type VirtualClock } from './virtual-time.js'

/** Time allowed, after the network heals, for every peer to hold the same heads. */
export const CONVERGENCE_BOUND_MS = 7 * 60_000

/** Net options of simulated peers (everything else at its default). */
export const SIM_NET_INIT: NetInit = { syncIntervalMs: 60_000, allowPrivateAddrs: true }

const MIN = 60_000
const HOUR = 60 * MIN

export interface SimPeer {
  readonly name: string
  readonly node: SimNode
  readonly replicator: boolean
  readonly logKey: Uint8Array
  readonly kv: KVStore
  net: Net | undefined
  /** Nets this peer ran (a restart makes a new one): their stats are summed. */
  readonly nets: Net[]
  written: number
}

export type SimEvent =
  | { at: number; kind: 'write'; peer: number }
  | { at: number; kind: 'loss'; rate: number; forMs: number }
  | { at: number; kind: 'cut'; peer: number; other?: number }
  | { at: number; kind: 'partition'; groups: number[][]; forMs: number }
  | { at: number; kind: 'restart'; peer: number; downMs: number }
  | { at: number; kind: 'stopstart'; peer: number; downMs: number }
  | { at: number; kind: 'away'; peer: number; forMs: number; restart: boolean }
  | { at: number; kind: 'fork'; peer: number; victim: number }
  | { at: number; kind: 'poison'; peer: number }
  | { at: number; kind: 'forge'; peer: number; victim: number; other: number }

export interface Scenario {
  seed: number
  members: number
  relay: boolean
  /** The Byzantine member, if the seed has one (never the thread's creator). */
  byzantine: number | undefined
  events: SimEvent[]
  /** When the last fault has ended: the network is whole again. */
  healAt: number
}

export interface Outcome {
  seed: number
  scenario: Scenario
  /** Virtual ms from the heal until every peer held the same heads; undefined if not within the bound. */
  convergedAfterMs: number | undefined
  records: number
  /** Per peer: heads summary at the end. */
  heads: string[]
  /** Records each peer should hold at the end (a frozen log's up to its fork). */
  expected: number
  /** Strikes against honest peers (`<who> struck <whom>: <why>`); the Byzantine member's are not counted. */
  penalties: string[]
  /** Strikes against the Byzantine member (by design: it forged). */
  byzantineStrikes: number
  strikes: number
  bans: number
  rejected: number
  /** Names of every last error seen in sync status. */
  errors: string[]
  /** Anything that went wrong running the scenario itself. */
  failure?: string
  virtualMs: number
  framesSent: number
  framesLost: number
}

function seedBytes(rng: Rng, n = 32): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(0, 255))
}

export function makeScenario(seed: number): Scenario {
  const rng = createRng(seed)
  const members = rng.int(2, 4)
  const relay = rng.chance(0.3)
  const peers = members + (relay ? 1 : 0)
  const events: SimEvent[] = []
  const span = 20 * MIN
  for (let p = 0; p < members; p++) {
    const writes = rng.int(1, 5)
    for (let i = 0; i < writes; i++) events.push({ at: rng.int(0, span), kind: 'write', peer: p })
  }
  // A Byzantine member in some seeds: one to three misdeeds among its writes.
  const byzantine = rng.chance(0.25) ? rng.int(1, members - 1) : undefined
  if (byzantine !== undefined) {
    const others = Array.from({ length: peers }, (_, k) => k).filter((k) => k !== byzantine)
    const honestMembers = others.filter((k) => k < members)
    for (let i = rng.int(1, 3); i > 0; i--) {
      const at = rng.int(0, span)
      switch (rng.int(0, 2)) {
        case 0: events.push({ at, kind: 'fork', peer: byzantine, victim: rng.pick(others) }); break
        case 1: events.push({ at, kind: 'poison', peer: byzantine }); break
        default: events.push({ at, kind: 'forge', peer: byzantine, victim: rng.pick(others), other: rng.pick(honestMembers) })
      }
    }
  }
  let healAt = span
  const faults = rng.int(1, 4)
  for (let i = 0; i < faults; i++) {
    const at = rng.int(0, span)
    switch (rng.int(0, 6)) {
      case 0: {
        const forMs = rng.int(MIN, 5 * MIN)
        events.push({ at, kind: 'loss', rate: rng.pick([0.05, 0.1, 0.2, 0.3]), forMs })
        healAt = Math.max(healAt, at + forMs)
        break
      }
      case 1: {
        // cuts land right after writes, while their pushes are in flight
        const burst = rng.int(1, 4)
        for (let k = 0; k < burst; k++) {
          const w = events.filter((e) => e.kind === 'write')
          const after = rng.pick(w).at + rng.int(0, 120)
          const peer = rng.int(0, peers - 1)
          events.push(rng.chance(0.5) ? { at: after, kind: 'cut', peer } : { at: after, kind: 'cut', peer, other: rng.int(0, peers - 1) })
        }
        break
      }
      case 2: {
        const forMs = rng.int(MIN, 20 * MIN)
        const order = Array.from({ length: peers }, (_, k) => k).sort(() => rng.next() - 0.5)
        const split = rng.int(1, peers - 1)
        events.push({ at, kind: 'partition', groups: [order.slice(0, split), order.slice(split)], forMs })
        healAt = Math.max(healAt, at + forMs)
        break
      }
      case 3:
      case 4: {
        const downMs = rng.int(0, 2 * MIN)
        events.push({ at, kind: rng.chance(0.5) ? 'restart' : 'stopstart', peer: rng.int(0, peers - 1), downMs })
        healAt = Math.max(healAt, at + downMs + 1000)
        break
      }
      default: {
        const forMs = rng.int(HOUR, 3 * HOUR)
        events.push({ at, kind: 'away', peer: rng.int(0, members - 1), forMs, restart: rng.chance(0.5) })
        healAt = Math.max(healAt, at + forMs + 1000)
      }
    }
  }
  events.sort((a, b) => a.at - b.at)
  return { seed, members, relay, byzantine, events, healAt }
}

interface World {
  clock: VirtualClock
  network: SimNetwork
  rng: Rng
  peers: SimPeer[]
  thread: ThreadID
  key: string
  trace: string[]
  verbose: boolean
  /** Every strike any peer gave: who, whom (peer ID), why. */
  strikes: Array<{ by: string; against: string; reason: string }>
}

async function startNet(w: World, p: SimPeer, i: number, seed: number): Promise<Net> {
  const logStore = await createLogStore(p.kv, { verifyBlocks: false })
  const transport = w.network.transport(p.node)
  const jitter = createRng(seed * 101 + i)
  const net = createNet({ transport, logStore, timers: w.clock, random: () => jitter.next() }, {
    ...SIM_NET_INIT, replicator: p.replicator, logPrefix: `sim:${p.name}`,
    onStrike: (peer, reason) => { w.strikes.push({ by: p.name, against: peer, reason }) }
  })
  p.nets.push(net)
  await net.start()
  p.net = net
  return net
}

function log(w: World, what: string): void {
  const line = `${String(w.clock.now() - START).padStart(9)} ms  ${what}`
  w.trace.push(line)
  if (w.verbose) process.stdout.write(`${line}\n`)
}

const START = 1_700_000_000_000

async function headsOf(p: SimPeer, thread: ThreadID): Promise<string> {
  if (p.net == null) return 'stopped'
  const info = await p.net.getThread(thread)
  return info.logs.map((l) => `${l.id.slice(-6)}:${l.head.counter}:${l.head.cid?.toString().slice(-6) ?? '-'}${l.frozenAt !== undefined ? `:f${l.frozenAt}` : ''}`).join(' ')
}

/** The records every peer should hold: each member's written ones, a frozen log's up to its fork. */
async function expectedRecords(w: World): Promise<number> {
  const info = await w.peers[0]!.net?.getThread(w.thread)
  let n = 0
  for (const p of w.peers) {
    if (p.replicator) continue
    const { log } = await ownLog(p)
    const frozenAt = info?.logs.find((l) => l.id === log)?.frozenAt
    n += frozenAt !== undefined ? Math.min(p.written, frozenAt - 1) : p.written
  }
  return n
}

/** Run one seed; never throws (failures are in the outcome). */
export async function runSeed(seed: number, options: { verbose?: boolean } = {}): Promise<Outcome> {
  const scenario = makeScenario(seed)
  const rng = createRng(seed ^ 0x5eed)
  const clock = createVirtualClock(START)
  const network = createSimNetwork({ clock, rng })
  const w: World = {
    clock, network, rng, peers: [], thread: threadIDFromBytes(Uint8Array.from([1, 0x55, ...seedBytes(rng)])), key: '', trace: [], verbose: options.verbose ?? false, strikes: []
  }
  w.key = threadKeyToString(threadKeyFromBytes(seedBytes(rng, 64)))
  const total = scenario.members + (scenario.relay ? 1 : 0)
  const outcome: Outcome = {
    seed, scenario, convergedAfterMs: undefined, records: 0, heads: [], expected: 0, penalties: [], byzantineStrikes: 0,
    strikes: 0, bans: 0, rejected: 0, errors: [], virtualMs: 0, framesSent: 0, framesLost: 0
  }
  const tasks = new Set<Promise<unknown>>()
  const pendingWork = new Set<string>()
  const track = (p: Promise<unknown>, what: string): void => {
    tasks.add(p)
    pendingWork.add(what)
    void p.catch(() => undefined).finally(() => { tasks.delete(p); pendingWork.delete(what) })
  }
  try {
    for (let i = 0; i < total; i++) {
      const peerKey = await privateKeyFromSeed(seedBytes(rng))
      const id = logIDFromPublicKey(peerKey.publicKey)
      const logKey = privateKeyToBytes(await privateKeyFromSeed(seedBytes(rng)))
      const replicator = i === scenario.members
      const name = replicator ? 'relay' : `p${i}`
      w.peers.push({ name, node: network.addNode(id, `/ip4/10.0.0.${i + 1}/tcp/4001/p2p/${id}`), replicator, logKey, kv: memoryStore(), net: undefined, nets: [], written: 0 })
    }
    for (const [i, p] of w.peers.entries()) await clock.settle(startNet(w, p, i, seed), HOUR, `starting ${p.name}`)
    // The first member creates the thread; with a relay it hands it over and the others join there.
    const owner = w.peers[0]!
    const info = await clock.settle(owner.net!.createThread(w.thread, { threadKey: w.key, logKey: owner.logKey }), HOUR, 'createThread')
    let joinAt = info.addrs[0]!
    if (scenario.relay) {
      const relay = w.peers[scenario.members]!
      await clock.settle(owner.net!.addReplicator(w.thread, relay.node.addr), HOUR, 'addReplicator')
      joinAt = `${relay.node.addr}/thread/${w.thread}`
    }
    for (const p of w.peers.slice(1, scenario.members)) {
      await clock.settle(p.net!.addThread(joinAt, { threadKey: w.key, logKey: p.logKey }), HOUR, `${p.name} joining`)
    }
    log(w, `thread ${w.thread.slice(-8)} joined by ${scenario.members} members${scenario.relay ? ' and a relay' : ''}`)

    const t0 = clock.now()
    for (const [n, e] of scenario.events.entries()) clock.setTimeout(() => { track(apply(w, e, seed), `${e.kind}#${n}@${e.at}`) }, t0 + e.at - clock.now())
    await clock.runFor(scenario.healAt + 5000)
    // Everything heals: the network is whole, every peer online and running.
    await clock.settle(Promise.all([...tasks]), HOUR, `the scenario's events (${[...pendingWork].join(', ')})`)
    network.heal()
    network.loss = 0
    for (const [i, p] of w.peers.entries()) {
      if (!p.node.online) network.setOnline(p.node, true)
      if (p.net == null) await clock.settle(startNet(w, p, i, seed), HOUR, `restarting ${p.name}`)
    }
    log(w, 'network healed')
    const healedAt = clock.now()
    let converged = false
    const check = async (): Promise<void> => {
      const all = await Promise.all(w.peers.map(async (p) => await headsOf(p, w.thread)))
      converged = all.every((h) => h === all[0])
    }
    const poll = (): void => {
      void check().catch(() => undefined)
      if (!converged) clock.setTimeout(poll, 5000)
    }
    poll()
    if (await clock.runUntil(() => converged, CONVERGENCE_BOUND_MS)) outcome.convergedAfterMs = clock.now() - healedAt
    log(w, outcome.convergedAfterMs != null ? `converged after ${outcome.convergedAfterMs} ms` : 'NOT converged')
  } catch (err) {
    outcome.failure = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    log(w, `scenario failed: ${outcome.failure}`)
  } finally {
    outcome.heads = await Promise.all(w.peers.map(async (p) => await headsOf(p, w.thread).catch((e: Error) => e.message)))
    outcome.records = w.peers.reduce((n, p) => n + p.written, 0)
    outcome.expected = await expectedRecords(w).catch(() => -1)
    const byzId = scenario.byzantine !== undefined ? w.peers[scenario.byzantine]?.node.id : undefined
    const nameOf = (id: string): string => w.peers.find((p) => p.node.id === id)?.name ?? id
    for (const s of w.strikes) {
      if (s.against === byzId) outcome.byzantineStrikes++
      else outcome.penalties.push(`${s.by} struck ${nameOf(s.against)}: ${s.reason}`)
    }
    for (const p of w.peers) {
      for (const net of p.nets) {
        const s = net.stats()
        outcome.strikes += s.strikes
        outcome.bans += s.bans
        outcome.rejected += s.rejected
      }
      // A ban of an honest peer shows in the status of those who gave it.
      for (const peer of (await p.net?.syncStatus(w.thread).catch(() => undefined))?.peers ?? []) {
        if (peer.bannedUntil !== undefined && peer.peer !== byzId) outcome.penalties.push(`${p.name} bans ${nameOf(peer.peer)}`)
      }
      const status = await p.net?.syncStatus(w.thread).catch(() => undefined)
      if (status?.lastError != null && !outcome.errors.includes(status.lastError.name)) outcome.errors.push(status.lastError.name)
    }
    outcome.virtualMs = clock.now() - START
    outcome.framesSent = network.frames.sent
    outcome.framesLost = network.frames.lost
    for (const p of w.peers) {
      if (p.net != null) await clock.settle(p.net.stop(), HOUR, `stopping ${p.name}`).catch((err: Error) => { outcome.failure ??= err.message })
      await p.kv.close().catch(() => undefined)
    }
  }
  return outcome
}

async function apply(w: World, e: SimEvent, seed: number): Promise<void> {
  const { clock, network, peers } = w
  const ctx: ByzantineCtx = { clock, rng: w.rng, thread: w.thread, key: w.key }
  switch (e.kind) {
    case 'fork':
      log(w, `${peers[e.peer]!.name} (Byzantine) ${await equivocate(ctx, peers[e.peer]!, peers[e.victim]!).catch((err: Error) => `could not fork: ${err.name}: ${err.message}`)}`)
      return
    case 'poison':
      log(w, `${peers[e.peer]!.name} (Byzantine) ${await poison(ctx, peers[e.peer]!).catch((err: Error) => `could not poison: ${err.name}: ${err.message}`)}`)
      return
    case 'forge':
      log(w, `${peers[e.peer]!.name} (Byzantine) ${await forgeAddrs(ctx, peers[e.peer]!, peers[e.victim]!, peers[e.other]!).catch((err: Error) => `could not forge: ${err.name}: ${err.message}`)}`)
      return
    case 'write': {
      const p = peers[e.peer]!
      if (p.net == null) { log(w, `${p.name} is down: no write`); return }
      try {
        await p.net.createRecord(w.thread, { from: p.name, n: p.written })
        p.written++
        log(w, `${p.name} wrote record ${p.written}`)
      } catch (err) {
        log(w, `${p.name} could not write: ${(err as Error).name}`)
      }
      return
    }
    case 'loss':
      network.loss = e.rate
      log(w, `frames lost at ${e.rate * 100} % for ${e.forMs} ms`)
      clock.setTimeout(() => { network.loss = 0; log(w, 'no more loss') }, e.forMs)
      return
    case 'cut': {
      const p = peers[e.peer]!
      const other = e.other != null ? peers[e.other] : undefined
      network.cut(p.node, other?.node)
      log(w, `cut connections of ${p.name}${other != null ? ` with ${other.name}` : ''}`)
      return
    }
    case 'partition':
      network.partition(e.groups.map((g) => g.map((i) => peers[i]!.node.id)))
      log(w, `partition ${e.groups.map((g) => g.map((i) => peers[i]!.name).join('+')).join(' | ')} for ${e.forMs} ms`)
      clock.setTimeout(() => { network.heal(); log(w, 'partition healed') }, e.forMs)
      return
    case 'restart':
    case 'stopstart':
    case 'away': {
      const i = e.peer
      const p = peers[i]!
      if (p.net == null) return
      const net = p.net
      p.net = undefined
      const downMs = e.kind === 'away' ? e.forMs : e.downMs
      log(w, `${p.name} ${e.kind === 'away' ? 'goes away' : e.kind === 'restart' ? 'restarts' : 'stops its net'} for ${downMs} ms`)
      if (e.kind === 'away') network.setOnline(p.node, false)
      if (e.kind !== 'away' || e.restart) await net.stop()
      await new Promise<void>((resolve) => clock.setTimeout(resolve, downMs))
      if (e.kind === 'away') network.setOnline(p.node, true)
      if (e.kind === 'stopstart' || (e.kind === 'away' && !e.restart)) {
        await net.start()
        p.net = net
      } else {
        await startNet(w, p, i, seed)
      }
      log(w, `${p.name} is back`)
    }
  }
}

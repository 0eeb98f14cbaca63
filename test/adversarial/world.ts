/**
 * The honest side of an attack: peers as users run them (`createPeer`, a DB manager on
 * `dbNetFromNet`), the relay as a process (test/relay/harness.ts), a shared task list whose write
 * validator lets only a task's owner change or delete it, and what the tests measure on them —
 * whether their states agree, what the relay stores, that an honest write still arrives while an
 * attack runs, the relay's memory and disk.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { parseThreadKey, type ReadableThreadKey } from '../../src/core/thread-key.js'
import type { ThreadID } from '../../src/core/types.js'
import { logIDFromBytes } from '../../src/core/log-id.js'
import { createDBManager, dbNetFromNet, type CollectionConfig, type Database, type DBManager, type DBNet } from '../../src/db/index.js'
import { forkSource } from '../../src/net/index.js'
import { memoryStore } from '../../src/store/memory.js'
import { createPeer, type Peer, type PeerInit } from '../../src/node/peer.js'
import { cleanupRelays, metricByLabel, metricValue, scrape, startRelayProcess, type RelayProcess } from '../relay/harness.js'
import { startAttacker, stopAttackers } from './attacker.js'
import { until } from '../helpers/until.js'

export { metricByLabel, metricValue, scrape, startRelayProcess, type RelayProcess }

/** Tasks: each has an owner; only its owner may change or delete it (the application's rule). */
export const TASKS: CollectionConfig = {
  name: 'Tasks',
  schema: {
    type: 'object',
    properties: { _id: { type: 'string' }, title: { type: 'string' }, owner: { type: 'string' }, done: { type: 'boolean' } },
    required: ['_id', 'title', 'owner']
  },
  indexes: [{ path: 'owner' }],
  writeValidator: [
    "if (event.patch.type === 'create') return event.patch.json_patch.owner === writer || 'a task is created by its owner'",
    "if (instance === undefined) return 'no such task'",
    "return instance.owner === writer || 'only its owner changes or deletes a task'"
  ].join('\n')
}

/** A board anyone in the DB may write to: no validator. */
export const BOARD: CollectionConfig = {
  name: 'Board',
  schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' } }, required: ['_id', 'text'] }
}

export interface Honest {
  readonly name: string
  readonly peer: Peer
  readonly manager: DBManager
}

const honest: Honest[] = []

/** The DB's view of a peer's net, with the net's forks (as every composition that opens DBs wires it). */
export function dbNetOf(peer: Peer): DBNet {
  return dbNetFromNet(peer.net, peer.logStore, forkSource(peer.net))
}

export interface HonestInit extends PeerInit {
  /** Keep the log store and the DB in LevelDB under a temporary repo (as a Node program does), not in memory. @default false */
  persistent?: boolean
}

const repos: string[] = []

/** An honest peer on 127.0.0.1 (TCP and WebSocket) with a DB manager, as an application runs one. */
export async function honestPeer(name: string, init: HonestInit = {}): Promise<Honest> {
  const { persistent, ...peerInit } = init
  let repo: string | undefined
  if (persistent === true) {
    repo = await mkdtemp(join(tmpdir(), `weft-adv-${name}-`))
    repos.push(repo)
  }
  const peer = await createPeer({
    allowPrivateAddrs: true,
    listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
    logPrefix: name,
    ...(repo != null ? { repo } : {}),
    ...peerInit
  })
  const manager = await createDBManager({ net: dbNetOf(peer), kv: repo != null ? peer.kv : memoryStore(), logPrefix: name })
  const h = { name, peer, manager }
  honest.push(h)
  return h
}

export async function stopHonest(h: Honest): Promise<void> {
  const i = honest.indexOf(h)
  if (i >= 0) honest.splice(i, 1)
  await h.manager.close()
  await h.peer.stop()
}

/** Stop every honest peer, attacker and relay process. */
export async function cleanupWorld(): Promise<void> {
  await stopAttackers()
  await Promise.all(honest.splice(0).map(async (h) => {
    await h.manager.close().catch(() => undefined)
    await h.peer.stop().catch(() => undefined)
  }))
  await cleanupRelays()
  await Promise.all(repos.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
}

export function tcpOf(addrs: string[]): string {
  const a = addrs.find((s) => s.includes('/tcp/') && !s.includes('/ws') && !s.includes('p2p-circuit'))
  if (a == null) throw new Error(`no TCP address in ${addrs.join(' ')}`)
  return a
}

export function wsOf(addrs: string[]): string {
  const a = addrs.find((s) => s.includes('/ws') && !s.includes('p2p-circuit'))
  if (a == null) throw new Error(`no WebSocket address in ${addrs.join(' ')}`)
  return a
}

export { until }

export interface Team {
  /** The owner: it made the DB and handed it to the relay. */
  owner: Honest
  /** Members who joined from the owner's address. */
  members: Honest[]
  /** Every honest DB handle, owner's first. */
  dbs: Database[]
  id: ThreadID
  /** The full thread key (a member's key: what an attacker holding it holds). */
  key: string
  threadKey: ReadableThreadKey
  relay?: RelayProcess
}

/**
 * An owner's DB of tasks (and a board), joined by `members` honest members, handed to `relay` when given; every
 * member creates one task of its own (`task-<name>`), and everyone holds everything.
 */
export async function team(names: string[], relay?: RelayProcess, init: HonestInit = {}): Promise<Team> {
  const [ownerName, ...rest] = names
  const owner = await honestPeer(ownerName!, init)
  const db = await owner.manager.newDB(undefined, { name: 'tasks', collections: [TASKS, BOARD] })
  if (relay != null) await owner.peer.net.addReplicator(db.id, relay.tcpAddr)
  const info = await owner.manager.getDBInfo(db.id)
  const members: Honest[] = []
  const dbs = [db]
  for (const name of rest) {
    const m = await honestPeer(name, init)
    const addr = info.addrs.find((a) => a.includes(owner.peer.peerId) && a.includes('/tcp/') && !a.includes('/ws'))!
    dbs.push(await m.manager.newDBFromAddr(addr, info.key))
    members.push(m)
  }
  const all = [owner, ...members]
  for (let i = 0; i < all.length; i++) {
    await dbs[i]!.create('Tasks', [{ _id: `task-${all[i]!.name}`, title: `${all[i]!.name}'s task`, owner: dbs[i]!.identity! }])
  }
  const t: Team = { owner, members, dbs, id: db.id, key: info.key, threadKey: parseThreadKey(info.key) as ReadableThreadKey, ...(relay != null ? { relay } : {}) }
  await converged(t.dbs, (d) => d.has('Tasks', all.map((h) => `task-${h.name}`)))
  return t
}

/** Wait until every DB satisfies `check` and all their state hashes are equal. */
export async function converged(dbs: Database[], check: (db: Database) => Promise<boolean> = async () => true, timeoutMs = 20_000): Promise<string> {
  let hash = ''
  await until(async () => {
    for (const d of dbs) if (!await check(d)) return false
    const hashes = await Promise.all(dbs.map(async (d) => { await d.sync(); return await d.stateHash() }))
    hash = hashes[0]!
    return hashes.every((h) => h === hash)
  }, 'the honest DBs to agree', timeoutMs)
  return hash
}

/**
 * An honest write on `from` reaches `to` (its listener fires) within `boundMs`; resolves with how
 * long it took. A task created by `from`'s identity, so validators accept it.
 */
export async function honestWriteArrives(from: Database, to: Database, boundMs = 5_000): Promise<number> {
  const id = `honest-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
  const stop = new AbortController()
  const timer = setTimeout(() => { stop.abort() }, boundMs)
  const arrived = (async () => {
    for await (const e of to.listen([{ type: 'create', collection: 'Tasks' }], { signal: stop.signal })) {
      if (e.type === 'create' && e.instanceID === id) return Date.now()
    }
    return undefined
  })().catch(() => undefined)
  const t0 = Date.now()
  await from.create('Tasks', [{ _id: id, title: 'written during the attack', owner: from.identity! }])
  const at = await arrived
  clearTimeout(timer)
  stop.abort()
  expect(at, `an honest write did not arrive within ${boundMs} ms`).toBeDefined()
  return at! - t0
}

/**
 * The logs a peer or the relay holds for a thread, as it describes them to a member (counter and
 * the addresses it gives out): asked over a raw session by a fresh peer on 127.0.0.1 that proves
 * the service key.
 */
export async function announcedLogs(target: string, id: ThreadID, key: ReadableThreadKey): Promise<Map<string, { counter: number; addrs: string[] }>> {
  const inspector = await startAttacker()
  try {
    const s = await inspector.session(target)
    const peer = target.slice(target.lastIndexOf('/p2p/') + 5)
    const res = await s.ask({ type: 'getLogs', ...inspector.auth(key.service, id, peer) })
    if (res === 'closed' || res.type !== 'logs') throw new Error(`getLogs answered ${JSON.stringify(res)}`)
    return new Map(res.logs.map((l) => [logIDFromBytes(l.id), { counter: l.counter, addrs: l.addrs }]))
  } finally {
    await inspector.stop()
  }
}

/** The logs a peer or the relay holds for a thread, and their counters (see {@link announcedLogs}). */
export async function heldLogs(target: string, id: ThreadID, key: ReadableThreadKey): Promise<Map<string, number>> {
  return new Map([...(await announcedLogs(target, id, key))].map(([log, { counter }]) => [log, counter]))
}

/** Resident memory of a process (Linux), bytes. */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  if (m == null) throw new Error(`no VmRSS for ${pid}`)
  return Number(m[1]) * 1024
}

/** Bytes of every file under `dir`. */
export async function diskBytes(dir: string): Promise<number> {
  let total = 0
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) total += await diskBytes(p)
    else if (e.isFile()) total += (await stat(p)).size
  }
  return total
}

/** The relay's refusals by kind, from /metrics. */
export async function refusals(relay: RelayProcess): Promise<Record<string, number>> {
  return metricByLabel(await scrape(relay), 'weft_relay_refused_total', 'kind')
}

/** One metric of the relay. */
export async function metric(relay: RelayProcess, name: string): Promise<number> {
  return metricValue(await scrape(relay), name) ?? 0
}

/** Proven violations and bans each honest peer counted against its honest thread peers. */
export async function penaltiesAmongHonest(peers: Honest[], id: ThreadID, alsoHonest: string[] = []): Promise<Array<{ at: string; peer: string; strikes: number; banned: boolean }>> {
  const ids = new Set([...peers.map((p) => p.peer.peerId), ...alsoHonest])
  const out: Array<{ at: string; peer: string; strikes: number; banned: boolean }> = []
  for (const h of peers) {
    for (const p of (await h.peer.net.syncStatus(id)).peers) {
      if (!ids.has(p.peer)) continue
      if (p.strikes > 0 || p.bannedUntil != null) out.push({ at: h.name, peer: p.peer, strikes: p.strikes, banned: p.bannedUntil != null })
    }
  }
  return out
}

export { startAttacker, createPeer }

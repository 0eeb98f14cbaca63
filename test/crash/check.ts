/**
 * What the crash tests check after a kill: the repo is reopened by a Node peer as a program would
 * (`createPeer` + a DB manager on its store), then
 *  (a) every transaction acknowledged before the kill is there, whole;
 *  (b) no transaction is partly there (all of its documents or none);
 *  (c) the state equals the one the DB folds from the log store's records alone (the DB state is
 *      dropped and rebuilt from the log, and the state hashes compared);
 *  (d) the index entries are exactly those of the documents, and queries through each index
 *      answer as a full scan does;
 *  (e) the DB opened without error and commits again (a multi-record transaction too).
 */
import { expect } from 'vitest'
import { createPeer, type Peer } from '../../src/node/peer.js'
import { createDBManager, dbNetFromNet, where, type Database, type DBManager } from '../../src/db/index.js'
import { createLayout, encodeIndexValue } from '../../src/db/keys.js'
import type { ThreadID } from '../../src/core/types.js'
import { COLLECTION_NAME, MAX_EVENT_BYTES, fold, round, touched, type Doc } from './workload.js'

/** What a child printed. */
export interface ChildOutput {
  ready: boolean
  /** `round/txn` of every acknowledged transaction. */
  acks: Set<string>
  /** The write the hook killed at, if it did. */
  killed?: { step: number; when: string }
  /** Writes made, when the workload finished. */
  done?: number
}

export function parseOutput(stdout: string): ChildOutput {
  const out: ChildOutput = { ready: false, acks: new Set() }
  for (const line of stdout.split('\n')) {
    const [word, a, b] = line.trim().split(' ')
    if (word === 'ready') out.ready = true
    else if (word === 'ack') out.acks.add(`${a}/${b}`)
    else if (word === 'kill') out.killed = { step: Number(a), when: b! }
    else if (word === 'done') out.done = Number(a)
  }
  return out
}

function same(a: Doc | undefined, b: Doc | undefined): boolean {
  return JSON.stringify(a === undefined ? null : sortKeys(a)) === JSON.stringify(b === undefined ? null : sortKeys(b))
}

function sortKeys(d: Doc): Record<string, unknown> {
  return Object.fromEntries(Object.entries(d).sort(([x], [y]) => x < y ? -1 : x > y ? 1 : 0))
}

/**
 * The state the workload of `prefix` may have left on top of `base`, given what was acknowledged:
 * every round before the first one not wholly acknowledged, then each transaction of that round
 * if `state` shows it whole. `problems` names acknowledged transactions that are missing and
 * transactions that are partly there.
 */
export function expectedState(base: ReadonlyMap<string, Doc>, prefix: string, rounds: number, acks: ReadonlySet<string>, state: ReadonlyMap<string, Doc>): { model: Map<string, Doc>; problems: string[] } {
  const model = new Map(base)
  const problems: string[] = []
  let r = 0
  while (r < rounds && round(prefix, r).every((_, t) => acks.has(`${r}/${t}`))) {
    for (const txn of round(prefix, r)) fold(model, txn)
    r++
  }
  for (const a of acks) if (Number(a.split('/')[0]) > r) problems.push(`transaction ${a} was acknowledged before round ${r} ended`)
  if (r < rounds) {
    round(prefix, r).forEach((txn, t) => {
      const after = new Map(model)
      fold(after, txn)
      const ids = touched(txn)
      const isBefore = ids.every((id) => same(state.get(id), model.get(id)))
      const isAfter = ids.every((id) => same(state.get(id), after.get(id)))
      const show = (): string => ids.map((id) => `${id}=${JSON.stringify(state.get(id) ?? null)}`).join(' ')
      if (acks.has(`${r}/${t}`) && !isAfter) problems.push(`acknowledged transaction ${r}/${t} (${txn.kind}) is not there whole: ${show()}`)
      else if (!isBefore && !isAfter) problems.push(`transaction ${r}/${t} (${txn.kind}) is partly there: ${show()}`)
      if (isAfter) fold(model, txn)
    })
  }
  return { model, problems }
}

async function openDB(repo: string, dbID: string): Promise<{ peer: Peer; manager: DBManager; db: Database }> {
  const peer = await createPeer({ repo, allowPrivateAddrs: true, syncIntervalMs: 0 })
  try {
    const manager = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore), kv: peer.kv, maxEventBytes: MAX_EVENT_BYTES })
    return { peer, manager, db: manager.getDB(dbID as ThreadID) }
  } catch (err) {
    await peer.stop()
    throw err
  }
}

async function documents(db: Database): Promise<Map<string, Doc>> {
  const docs = await db.find(COLLECTION_NAME, {}) as unknown as Doc[]
  return new Map(docs.map((d) => [d._id, d]))
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** (d): the index entries are exactly the documents' (keys and values), and index queries equal a scan. */
async function checkIndexes(peer: Peer, db: Database, state: ReadonlyMap<string, Doc>): Promise<void> {
  const layout = createLayout(db.id)
  for (const [path, unique] of [['email', true], ['group', false]] as const) {
    const want = new Map<string, string>()
    for (const d of state.values()) want.set(hex(layout.indexEntry(COLLECTION_NAME, path, unique, encodeIndexValue(d[path])!, d._id)), d._id)
    const have = new Map<string, string>()
    for await (const [k, v] of peer.kv.range({ prefix: layout.indexPrefix(COLLECTION_NAME, path, unique) })) have.set(hex(k), Buffer.from(v).toString('utf8'))
    expect(have, `index entries of ${path}`).toEqual(want)
    const all = where(path).ge('')
    expect((await db.explain(COLLECTION_NAME, all)).plan, `a range of ${path} is answered through its index`).toBe('index')
    const ids = (await db.find(COLLECTION_NAME, all)).map((d) => d._id as string).sort()
    expect(ids, `every document through the ${path} index`).toEqual([...state.keys()].sort())
    for (const value of new Set([...state.values()].map((d) => d[path]))) {
      const found = (await db.find(COLLECTION_NAME, where(path).eq(value))).map((d) => d._id as string).sort()
      expect(found, `${path} = ${value} through the index`).toEqual([...state.values()].filter((d) => d[path] === value).map((d) => d._id).sort())
    }
  }
}

export interface VerifyInit {
  repo: string
  dbID: string
  /** The documents before the child ran. */
  base: ReadonlyMap<string, Doc>
  prefix: string
  /** Rounds the child was asked to run (Infinity: until killed). */
  rounds: number
  output: ChildOutput
  /** Names the run in failure messages. */
  label: string
}

/** Reopen the repo and check (a)–(e); returns the documents it holds at the end (after (e)'s writes). */
export async function verifyRepo(init: VerifyInit): Promise<Map<string, Doc>> {
  const { repo, dbID, label } = init
  let open = await openDB(repo, dbID)
  try {
    const state = await documents(open.db)
    const { model, problems } = expectedState(init.base, init.prefix, init.rounds, init.output.acks, state)
    expect(problems, `${label}: acknowledged and partial transactions`).toEqual([])
    expect(state, `${label}: the documents`).toEqual(model)
    await checkIndexes(open.peer, open.db, state)

    // (e) It commits again: a single record, and a transaction over several records.
    const again = { _id: `${init.prefix}again`, email: `${init.prefix}again@x`, group: 'ga', n: 1, text: '' }
    const big = [0, 1, 2].map((j) => ({ _id: `${init.prefix}again${j}`, email: `${init.prefix}again${j}@x`, group: 'ga', n: j, text: 'z'.repeat(200) }))
    await open.db.create(COLLECTION_NAME, [again])
    await open.db.create(COLLECTION_NAME, big)
    for (const d of [again, ...big]) model.set(d._id, d)
    expect(await documents(open.db), `${label}: the documents after writing again`).toEqual(model)

    // (c) The same state as folding the log store's records from scratch.
    const hash = await open.db.stateHash()
    await open.manager.close()
    await open.peer.kv.delete(createLayout(dbID as ThreadID).version())
    await open.peer.stop()
    open = await openDB(repo, dbID)
    expect(await open.db.stateHash(), `${label}: the state folded from the log alone`).toBe(hash)
    const rebuilt = await documents(open.db)
    expect(rebuilt, `${label}: the documents folded from the log alone`).toEqual(model)
    await checkIndexes(open.peer, open.db, rebuilt)
    return rebuilt
  } finally {
    await open.manager.close()
    await open.peer.stop()
  }
}

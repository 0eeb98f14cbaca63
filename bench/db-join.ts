/**
 * Two Node peers with DBs on TCP loopback, each on one LevelDB shared by its log store and its
 * DB (as Node peers, the worker and the hub run): the join and replication figures of
 * bench/db-more.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer, type Peer } from '../src/node/peer.js'
import { forkSource } from '../src/net/index.js'
import { createDBManager, dbNetFromNet, type Database, type DBManager, type Sandbox } from '../src/db/index.js'
import { PEOPLE } from './fixtures.js'
import { percentile, person, pool } from './db-more.js'

interface Node { peer: Peer; manager: DBManager }

async function node(dir: string, name: string, sandbox: Sandbox): Promise<Node> {
  const peer = await createPeer({ repo: join(dir, name), allowPrivateAddrs: true, syncIntervalMs: 0 })
  const manager = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore, forkSource(peer.net)), kv: peer.kv, sandbox })
  return { peer, manager }
}

async function stop(...nodes: Node[]): Promise<void> {
  for (const n of nodes) {
    await n.manager.close()
    await n.peer.stop()
  }
}

/** `newDBFromAddr` of a DB with `docs` instances created one per transaction, until all are queryable (ms). */
export async function dbJoin(sandbox: Sandbox, docs = 10_000): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-join-'))
  const a = await node(dir, 'a', sandbox)
  const b = await node(dir, 'b', sandbox)
  try {
    const db = await a.manager.newDB(undefined, { collections: [PEOPLE] })
    await pool(docs, 100, async (i) => await db.create('People', [person(i)]))
    const info = await a.manager.getDBInfo(db.id)
    const t = performance.now()
    const joined = await b.manager.newDBFromAddr(info.addrs[0]!, info.key, { signal: AbortSignal.timeout(600_000) })
    for (;;) {
      const n = (await joined.find('People', {})).length
      if (n >= docs) break
      await joined.sync()
    }
    return performance.now() - t
  } finally {
    await stop(a, b)
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Run `measure` with A's new DB and B's copy of it (B joined before anything was written); B's
 * listeners stop with `signal` when the measure ends.
 */
async function withSharedDB<T>(sandbox: Sandbox, measure: (db: Database, other: Database, signal: AbortSignal) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-shared-'))
  const a = await node(dir, 'a', sandbox)
  const b = await node(dir, 'b', sandbox)
  const controller = new AbortController()
  try {
    const db = await a.manager.newDB(undefined, { collections: [PEOPLE] })
    const info = await a.manager.getDBInfo(db.id)
    const other = await b.manager.newDBFromAddr(info.addrs[0]!, info.key)
    return await measure(db, other, controller.signal)
  } finally {
    controller.abort()
    await stop(a, b)
    await rm(dir, { recursive: true, force: true })
  }
}

/** p50 of `create` on A until B's DB listener sees it (ms). */
export async function dbReplication(sandbox: Sandbox): Promise<number> {
  return await withSharedDB(sandbox, async (db, other, signal) => {
    const it = other.listen([{ type: 'create', collection: 'People' }], { signal })[Symbol.asyncIterator]()
    const samples: number[] = []
    for (let i = 0; i < 600; i++) {
      const t = performance.now()
      const seen = it.next()
      await db.create('People', [person(i)])
      await seen
      if (i >= 100) samples.push(performance.now() - t)
    }
    return percentile(samples, 0.5)
  })
}

/**
 * A burst: 2,000 one-instance creates on A with 100 in flight, while B has joined the DB, until
 * B's DB holds all 2,000 (ms from the first create).
 */
export async function dbBurst(sandbox: Sandbox, docs = 2_000): Promise<number> {
  return await withSharedDB(sandbox, async (db, other, signal) => {
    let seen = 0
    const all = (async () => {
      for await (const _ of other.listen([{ type: 'create', collection: 'People' }], { signal })) {
        if (++seen >= docs) return
      }
    })()
    const t = performance.now()
    await pool(docs, 100, async (i) => await db.create('People', [person(i)]))
    await all
    return performance.now() - t
  })
}

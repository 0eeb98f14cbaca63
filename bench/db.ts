/**
 * Document database throughput and latency in Node, on LevelDB:
 *   create_single_txn_per_s   sequential one-instance creates, each its own transaction (one record,
 *                             durable in the log store and applied when it resolves); a createPeer
 *                             with a LevelDB repo, documents in their own LevelDB
 *   create_single_txn_cpu_us  process CPU (main thread and thread pool, user and system) per
 *                             transaction of that part
 *   create_bulk_docs_per_s    10,000 instances in one write transaction (one record)
 *   query_indexed_eq_100k_ms  median of equality queries on an indexed field over 100,000 instances
 *   query_scan_100k_ms        median of a query on an unindexed field over 100,000 instances
 *   late_event_replay_ms      applying a remote event that sorts before 1,000 applied events
 *                             (rewind 1,000, apply, replay 1,000), in-process net, LevelDB
 *   late_event_replay_10k_ms  the same before 10,000 applied events (rewind and replay stream in
 *                             chunks of 500)
 *   late_event_replay_10k_live_mb  peak growth of the live JS heap during that replay (a separate
 *                             run, garbage collected and sampled every 100 ms)
 * and the figures of bench/db-more.ts (concurrent creates, findByID, reads while a transaction is
 * open, joining a 10,000-record DB, DB-level replication). `WEFT_BENCH_DB=…` picks parts (`single`,
 * `bulk`, `queries`, `late`, and those of db-more.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer, type Peer } from '../src/node/peer.js'
import { levelStore } from '../src/store/level.js'
import type { KVStore } from '../src/store/kv.js'
import { createDBManager, createSandbox, dbNetFromNet, where, type Database, type DBManager, type Sandbox } from '../src/db/index.js'
import { createFakeNet, createFakeWorld } from '../test/db/fake-net.js'
import { body, forger } from '../test/db/forger.js'
import { median, round, type Metric, type Suite } from './index.js'
import { PEOPLE } from './fixtures.js'
import { CONCURRENT_TXNS, cpuMicros, createConcurrent, findByID, metrics, person, readWhileTxnOpen, wanted } from './db-more.js'
import { dbBurst, dbJoin, dbReplication } from './db-join.js'


interface Setup { peer: Peer; docs: KVStore; manager: DBManager; db: Database; dir: string }

async function setup(sandbox: Sandbox): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-db-'))
  const peer = await createPeer({ repo: join(dir, 'peer'), allowPrivateAddrs: true, syncIntervalMs: 0 })
  // As peers run: the DB on the peer's own store, so a transaction is one LevelDB batch
  // (WEFT_BENCH_DB_SPLIT=1: the DB on a store of its own, one batch for the records and one for the DB).
  const docs = process.env.WEFT_BENCH_DB_SPLIT === '1' ? await levelStore({ path: join(dir, 'docs') }) : peer.kv
  const manager = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore), kv: docs, sandbox })
  const db = await manager.newDB(undefined, { collections: [PEOPLE] })
  return { peer, docs, manager, db, dir }
}

async function teardown(s: Setup): Promise<void> {
  await s.manager.close()
  if (s.docs !== s.peer.kv) await s.docs.close()
  await s.peer.stop()
  await rm(s.dir, { recursive: true, force: true })
}

async function fill(db: Database, n: number, offset = 0): Promise<void> {
  for (let i = 0; i < n; i += 5_000) {
    const txn = db.writeTransaction('People')
    await txn.start()
    await txn.create(Array.from({ length: Math.min(5_000, n - i) }, (_, j) => person(offset + i + j)))
    await txn.end()
  }
}

/** A full garbage collection (the flag is set at run time: the bench runs under tsx). */
function collector(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

/**
 * Apply a remote event that sorts before `applied` applied events: the time it takes, or (with
 * `live`) the peak growth of the live heap meanwhile, collected and sampled every 100 ms.
 */
async function lateEventReplay(sandbox: Sandbox, applied: number, live = false): Promise<{ ms: number; heapMB: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-late-'))
  const net = createFakeNet(createFakeWorld(), 'a')
  const store = await levelStore({ path: join(dir, 'a') })
  const manager = await createDBManager({ net, kv: store, sandbox })
  try {
    const db = await manager.newDB(undefined, { collections: [PEOPLE] })
    // Another member's creates, all stamped in one millisecond (HLC counters 0…applied-1).
    const start = Date.now() + 1_000
    const member = await forger(db.id)
    const create = (id: string, i: number): object => body({ t: 'create', c: 'People', id, doc: { _id: id, ...person(i) } })
    for (let i = 0; i < applied; i++) net.deliver(member.record(create(`m${i}`, i), { wall: start, counter: i }))
    await db.sync()
    const late = await forger(db.id)
    const gc = live ? collector() : () => {}
    gc()
    const base = process.memoryUsage().heapUsed
    let peak = base
    const sampler = setInterval(() => { gc(); peak = Math.max(peak, process.memoryUsage().heapUsed) }, live ? 100 : 1_000)
    const t0 = performance.now()
    net.deliver(late.record(create('late', -1), { wall: start - 1, counter: 0 }))
    await db.sync()
    const ms = performance.now() - t0
    clearInterval(sampler)
    const found = (await db.find('People', {})).length
    if (found !== applied + 1) throw new Error(`late event not applied: ${found} instances, conflicts ${JSON.stringify((await db.conflicts()).slice(0, 3))}`)
    return { ms, heapMB: (peak - base) / (1024 * 1024) }
  } finally {
    await manager.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const suite: Suite = async (runs) => {
  const sandbox = await createSandbox()
  const single: number[] = []
  const singleCPU: number[] = []
  const bulk: number[] = []
  const indexed: number[] = []
  const scan: number[] = []
  const late: number[] = []
  const late10k: number[] = []
  const lateLive: number[] = []
  const more: Record<string, number[]> = { create_concurrent_per_s: [], create_concurrent_cpu_us: [], find_by_id_10k_ms: [], read_while_txn_open_p99_ms: [], db_join_10k_docs_ms: [], db_replication_p50_ms: [], db_burst_2k_ms: [] }
  try {
    for (let r = 0; r < runs; r++) {
      const s = await setup(sandbox)
      try {
        for (let i = 0; i < 200; i++) await s.db.create('People', [person(-1 - i)]) // warm up
        const n = 3_000
        let t = performance.now()
        if (wanted('single')) {
          const cpu = process.cpuUsage()
          for (let i = 0; i < n; i++) await s.db.create('People', [person(i)])
          single.push(n / ((performance.now() - t) / 1000))
          singleCPU.push(cpuMicros(cpu) / n)
        }
        if (wanted('concurrent')) {
          const cpu = process.cpuUsage()
          more.create_concurrent_per_s!.push(await createConcurrent(s.db, CONCURRENT_TXNS))
          more.create_concurrent_cpu_us!.push(cpuMicros(cpu) / CONCURRENT_TXNS)
        }

        if (wanted('bulk')) {
          t = performance.now()
          const txn = s.db.writeTransaction('People')
          await txn.start()
          await txn.create(Array.from({ length: 10_000 }, (_, i) => person(10_000 + i)))
          await txn.end()
          bulk.push(10_000 / ((performance.now() - t) / 1000))
        }
        if (wanted('byid')) {
          const ids = await s.db.create('People', Array.from({ length: 10_000 }, (_, i) => person(500_000 + i)))
          more.find_by_id_10k_ms!.push(await findByID(s.db, ids))
        }
        if (wanted('readopen')) more.read_while_txn_open_p99_ms!.push(await readWhileTxnOpen(s.db))
        if (wanted('queries')) {
          await fill(s.db, 100_000 - 13_000 - 200, 20_000)
          const samples: number[] = []
          for (let i = 0; i < 300; i++) {
            const email = `p${(i * 7919) % 100_000}@example.com`
            const q0 = performance.now()
            await s.db.find('People', where('email').eq(email))
            samples.push(performance.now() - q0)
          }
          indexed.push(median(samples.slice(50)))
          const scans: number[] = []
          for (let i = 0; i < 5; i++) {
            const q0 = performance.now()
            const found = await s.db.find('People', where('age').eq(42 + i))
            scans.push(performance.now() - q0)
            if (found.length === 0) throw new Error('scan found nothing')
          }
          scan.push(median(scans))
        }
      } finally {
        await teardown(s)
      }
      if (wanted('join')) more.db_join_10k_docs_ms!.push(await dbJoin(sandbox))
      if (wanted('replication')) more.db_replication_p50_ms!.push(await dbReplication(sandbox))
      if (wanted('burst')) more.db_burst_2k_ms!.push(await dbBurst(sandbox))
      if (!wanted('late')) continue
      late.push((await lateEventReplay(sandbox, 1_000)).ms)
      late10k.push((await lateEventReplay(sandbox, 10_000)).ms)
      lateLive.push((await lateEventReplay(sandbox, 10_000, true)).heapMB)
    }
  } finally {
    sandbox.dispose()
  }
  const out: Metric[] = [
    { metric: 'create_single_txn_per_s', value: round(median(single), 0), unit: 'txn/s' },
    { metric: 'create_single_txn_cpu_us', value: round(median(singleCPU), 0), unit: 'µs' },
    { metric: 'create_bulk_docs_per_s', value: round(median(bulk), 0), unit: 'docs/s' },
    { metric: 'query_indexed_eq_100k_ms', value: round(median(indexed), 3), unit: 'ms' },
    { metric: 'query_scan_100k_ms', value: round(median(scan), 1), unit: 'ms' },
    { metric: 'late_event_replay_ms', value: round(median(late), 1), unit: 'ms' },
    { metric: 'late_event_replay_10k_ms', value: round(median(late10k), 1), unit: 'ms' },
    { metric: 'late_event_replay_10k_live_mb', value: round(median(lateLive), 1), unit: 'MB' }
  ].filter((m) => !Number.isNaN(m.value))
  return [...out, ...metrics(more)]
}

export default suite

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(process.argv[2] ?? 1)
  suite(runs).then((metrics) => {
    for (const m of metrics) console.log(JSON.stringify({ suite: 'db', ...m }))
    process.exit(0)
  }, (err: unknown) => { console.error(err); process.exit(1) })
}

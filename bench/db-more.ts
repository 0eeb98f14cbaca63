/**
 * More document database figures in Node (see bench/db.ts for the shared setup):
 *   create_concurrent_per_s      one-instance creates, 100 in flight (each its own transaction,
 *                                durable when it resolves)
 *   create_concurrent_cpu_us     process CPU (main thread and thread pool) per transaction of that
 *                                part
 *   find_by_id_10k_ms            median of `findByID` on a 10,000-instance collection
 *   read_while_txn_open_p99_ms   p99 of a `find` (20 instances) while another write transaction
 *                                stays open with staged writes and a third writer commits
 *   db_join_10k_docs_ms          `newDBFromAddr` of a DB whose 10,000 instances were created one
 *                                per transaction (10,000 records) on another Node peer on TCP
 *                                loopback, until all are queryable
 *   db_replication_p50_ms        `create` on A until B's DB listener sees it (two Node peers on TCP
 *                                loopback, in this process)
 *   db_burst_2k_ms               2,000 one-instance creates on A with 100 in flight until B's DB
 *                                listener has seen them all (same two peers)
 * `WEFT_BENCH_DB=concurrent,byid,readopen,join,replication,burst` picks parts (all by default).
 */
import type { Database } from '../src/db/index.js'
import { median, round, type Metric } from './index.js'

export const person = (i: number): Record<string, unknown> => ({ name: `person ${i}`, email: `p${i}@example.com`, age: i % 90, city: `city-${i % 1000}` })

/** Run `n` tasks with `width` in flight. */
export async function pool(n: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await task(next++)
  }))
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!
}

export function wanted(part: string): boolean {
  const only = process.env.WEFT_BENCH_DB
  return only === undefined || only === '' || only.split(',').includes(part)
}

/** Transactions of the concurrent part. */
export const CONCURRENT_TXNS = 3_000

/** Process CPU (user and system, every thread) since `start`, in µs. */
export function cpuMicros(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start)
  return used.user + used.system
}

export async function createConcurrent(db: Database, n = CONCURRENT_TXNS): Promise<number> {
  const t = performance.now()
  await pool(n, 100, async (i) => await db.create('People', [person(200_000 + i)]))
  return n / ((performance.now() - t) / 1000)
}

export async function findByID(db: Database, ids: string[]): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < 1_100; i++) {
    const id = ids[(i * 7919) % ids.length]!
    const t = performance.now()
    await db.findByID('People', id)
    if (i >= 100) samples.push(performance.now() - t)
  }
  return median(samples)
}

export async function readWhileTxnOpen(db: Database): Promise<number> {
  const open = db.writeTransaction('People')
  await open.start()
  await open.create(Array.from({ length: 100 }, (_, i) => person(300_000 + i)))
  let writing = true
  const writer = (async () => {
    let i = 0
    while (writing) await db.create('People', [person(400_000 + i++)])
  })()
  const samples: number[] = []
  try {
    for (let i = 0; i < 500; i++) {
      const t = performance.now()
      await db.find('People', { limit: 20 } as never)
      samples.push(performance.now() - t)
    }
  } finally {
    writing = false
    await writer
    await open.discard()
  }
  return percentile(samples, 0.99)
}

export function metrics(values: Record<string, number[]>): Metric[] {
  const units: Record<string, [string, number]> = {
    create_concurrent_per_s: ['txn/s', 0],
    create_concurrent_cpu_us: ['µs', 0],
    find_by_id_10k_ms: ['ms', 3],
    read_while_txn_open_p99_ms: ['ms', 2],
    db_join_10k_docs_ms: ['ms', 0],
    db_replication_p50_ms: ['ms', 2],
    db_burst_2k_ms: ['ms', 0]
  }
  return Object.entries(values).filter(([, v]) => v.length > 0).map(([metric, v]) => ({ metric, value: round(median(v), units[metric]![1]), unit: units[metric]![0] }))
}

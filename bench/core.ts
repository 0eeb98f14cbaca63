/**
 * Core and log-store throughput in Node:
 *   record_seal_per_s            records created, signed and encrypted per second (one log, chained)
 *   record_open_per_s            records verified and decrypted per second (read key), as catch-up does
 *   logstore_append_batched_per_s  LevelDB appends, 1,000 records per atomic batch
 *   logstore_append_single_per_s   LevelDB appends, one record per batch (each durable when it resolves)
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { generateKeyPair } from '../src/core/identity.js'
import { logIDFromPublicKey } from '../src/core/log-id.js'
import { openRecord, sealRecord, type RecordBlocks } from '../src/core/record.js'
import { newThreadID } from '../src/core/thread-id.js'
import { newThreadKey, threadKeyToBytes } from '../src/core/thread-key.js'
import { createLogStore } from '../src/store/logstore.js'
import { levelStore } from '../src/store/level.js'
import { median, round, type Metric, type Suite } from './index.js'

const key = newThreadKey()

async function sealChain(n: number): Promise<{ blocks: RecordBlocks[]; seconds: number; logKey: Awaited<ReturnType<typeof generateKeyPair>> }> {
  const logKey = await generateKeyPair()
  const blocks: RecordBlocks[] = []
  let prev: CID | undefined
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const b = await sealRecord({
      body: { _id: `doc-${i}`, name: `name ${i}`, n: i, tags: ['a', 'b'], text: 'x'.repeat(120) },
      threadKey: key,
      logKey,
      ...(prev != null ? { prev } : {}),
      time: { wall: 1_700_000_000_000 + i, counter: 0 }
    })
    blocks.push(b)
    prev = b.record.cid
  }
  return { blocks, seconds: (performance.now() - t0) / 1000, logKey }
}

async function withLevel<T>(fn: (store: Awaited<ReturnType<typeof createLogStore>>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-'))
  const kv = await levelStore({ path: dir })
  try {
    return await fn(await createLogStore(kv))
  } finally {
    await kv.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const suite: Suite = async (runs) => {
  const seal: number[] = []
  const open: number[] = []
  const batched: number[] = []
  const single: number[] = []
  await sealChain(500) // warm up
  for (let r = 0; r < runs; r++) {
    const n = 5_000
    const { blocks, seconds, logKey } = await sealChain(n)
    seal.push(n / seconds)

    const t0 = performance.now()
    const chunk = 250
    for (let i = 0; i < n; i += chunk) {
      await Promise.all(blocks.slice(i, i + chunk).map(async (b, j) => await openRecord(b, {
        serviceKey: key.service,
        readKey: key.read,
        logPublicKey: logKey.publicKey,
        expectedPrev: i + j === 0 ? null : blocks[i + j - 1]!.record.cid
      })))
    }
    open.push(n / ((performance.now() - t0) / 1000))

    const logId = logIDFromPublicKey(logKey.publicKey)
    const entries = blocks.map((b, i) => ({ cid: b.record.cid, prev: i === 0 ? undefined : blocks[i - 1]!.record.cid, blocks: b }))
    batched.push(await withLevel(async (store) => {
      const id = newThreadID()
      await store.addThread(id, { key: threadKeyToBytes(key) })
      await store.addLog(id, { id: logId, publicKey: new Uint8Array(36) })
      const t = performance.now()
      for (let i = 0; i < n; i += 1000) await store.appendRecords(id, logId, entries.slice(i, i + 1000))
      return n / ((performance.now() - t) / 1000)
    }))
    single.push(await withLevel(async (store) => {
      const id = newThreadID()
      await store.addThread(id, { key: threadKeyToBytes(key) })
      await store.addLog(id, { id: logId, publicKey: new Uint8Array(36) })
      const m = 3_000
      const t = performance.now()
      for (let i = 0; i < m; i++) await store.appendRecord(id, logId, entries[i]!)
      return m / ((performance.now() - t) / 1000)
    }))
  }
  const out: Metric[] = [
    { metric: 'record_seal_per_s', value: round(median(seal), 0), unit: 'records/s' },
    { metric: 'record_open_per_s', value: round(median(open), 0), unit: 'records/s' },
    { metric: 'logstore_append_batched_per_s', value: round(median(batched), 0), unit: 'records/s' },
    { metric: 'logstore_append_single_per_s', value: round(median(single), 0), unit: 'records/s' }
  ]
  return out
}

export default suite

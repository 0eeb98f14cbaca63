/**
 * Core and log-store throughput in Node:
 *   record_seal_per_s            records created, signed and encrypted per second (one log, chained, authored by the log key)
 *   record_open_per_s            records verified and decrypted per second (read key), as catch-up does
 *   record_seal_delegated_per_s  the same, authored by another identity through its certificate for the log key
 *   record_open_delegated_per_s  opening those (the certificate verifies once, then hits the cache)
 *   author_cert_verify_per_s     distinct author certificates verified per second (cache misses), 250 at a time
 *   logstore_append_batched_per_s  LevelDB appends, 1,000 records per atomic batch
 *   logstore_append_single_per_s   LevelDB appends, one record per batch (each durable when it resolves)
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { _authorCertificateCache, createAuthorCertificate, verifyAuthorCertificate } from '../src/core/author.js'
import type { AuthorCertificate } from '../src/core/author.js'
import { generateKeyPair } from '../src/core/identity.js'
import type { PrivateKey } from '../src/core/identity.js'
import { logIDFromPublicKey } from '../src/core/log-id.js'
import { openRecord, sealRecord, type RecordBlocks } from '../src/core/record.js'
import { newThreadID } from '../src/core/thread-id.js'
import { newThreadKey, threadKeyToBytes } from '../src/core/thread-key.js'
import { createLogStore } from '../src/store/logstore.js'
import { levelStore } from '../src/store/level.js'
import { median, round, type Metric, type Suite } from './index.js'

const key = newThreadKey()

interface Chain { blocks: RecordBlocks[]; seconds: number; logKey: PrivateKey }

/** Seal a chain of `n` records; with `author`, each is authored by it through a certificate for the log key. */
async function sealChain(n: number, author?: PrivateKey): Promise<Chain> {
  const logKey = await generateKeyPair()
  const delegation = author === undefined
    ? {}
    : { author: author.publicKey, certificate: await createAuthorCertificate(author, logKey.publicKey) }
  const blocks: RecordBlocks[] = []
  let prev: CID | undefined
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const b = await sealRecord({
      body: { _id: `doc-${i}`, name: `name ${i}`, n: i, tags: ['a', 'b'], text: 'x'.repeat(120) },
      threadKey: key,
      logKey,
      ...delegation,
      ...(prev != null ? { prev } : {}),
      time: { wall: 1_700_000_000_000 + i, counter: 0 }
    })
    blocks.push(b)
    prev = b.record.cid
  }
  return { blocks, seconds: (performance.now() - t0) / 1000, logKey }
}

/** Records opened per second, 250 at a time as catch-up does. */
async function openChain({ blocks, logKey }: Chain): Promise<number> {
  const t0 = performance.now()
  const chunk = 250
  for (let i = 0; i < blocks.length; i += chunk) {
    await Promise.all(blocks.slice(i, i + chunk).map(async (b, j) => await openRecord(b, {
      serviceKey: key.service,
      readKey: key.read,
      logPublicKey: logKey.publicKey,
      expectedPrev: i + j === 0 ? null : blocks[i + j - 1]!.record.cid
    })))
  }
  return blocks.length / ((performance.now() - t0) / 1000)
}

/** Distinct certificates verified per second (each a cache miss), 250 at a time. */
async function verifyCertificates(n: number): Promise<number> {
  const [author, logKey] = await Promise.all([generateKeyPair(), generateKeyPair()])
  const certs: AuthorCertificate[] = []
  for (let i = 0; i < n; i++) certs.push(await createAuthorCertificate(author, logKey.publicKey))
  _authorCertificateCache.clear()
  const t0 = performance.now()
  for (let i = 0; i < n; i += 250) {
    await Promise.all(certs.slice(i, i + 250).map(async (c) => { await verifyAuthorCertificate(author.publicKey, logKey.publicKey, c) }))
  }
  return n / ((performance.now() - t0) / 1000)
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
  const sealDelegated: number[] = []
  const openDelegated: number[] = []
  const certVerify: number[] = []
  const batched: number[] = []
  const single: number[] = []
  const author = await generateKeyPair()
  await sealChain(500) // warm up
  await sealChain(500, author)
  for (let r = 0; r < runs; r++) {
    const n = 5_000
    const chain = await sealChain(n)
    seal.push(n / chain.seconds)
    open.push(await openChain(chain))

    const delegated = await sealChain(n, author)
    sealDelegated.push(n / delegated.seconds)
    openDelegated.push(await openChain(delegated))
    certVerify.push(await verifyCertificates(2_000))

    const { blocks, logKey } = chain
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
    { metric: 'record_seal_delegated_per_s', value: round(median(sealDelegated), 0), unit: 'records/s' },
    { metric: 'record_open_delegated_per_s', value: round(median(openDelegated), 0), unit: 'records/s' },
    { metric: 'author_cert_verify_per_s', value: round(median(certVerify), 0), unit: 'certificates/s' },
    { metric: 'logstore_append_batched_per_s', value: round(median(batched), 0), unit: 'records/s' },
    { metric: 'logstore_append_single_per_s', value: round(median(single), 0), unit: 'records/s' }
  ]
  return out
}

export default suite

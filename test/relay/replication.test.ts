/**
 * The relay as a replicator, as a process: it keeps every record of a thread across a restart,
 * serves them to a peer that joins while the writer is offline, and never holds plaintext.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { createPeer, type Peer } from '../../src/node/peer.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { toHex, randomBytes } from '../../src/core/bytes.js'
import { parseThreadKey } from '../../src/core/thread-key.js'
import type { NetRecord } from '../../src/net/types.js'
import { cleanupRelays, metricValue, scrape, startRelayProcess, until } from './harness.js'
import { take } from '../helpers/take.js'

const peers: Peer[] = []

afterEach(async () => {
  await Promise.all(peers.splice(0).map(async (p) => { await p.stop().catch(() => undefined) }))
  await cleanupRelays()
})

async function peer(): Promise<Peer> {
  const p = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0 })
  peers.push(p)
  return p
}

async function stopPeer(p: Peer): Promise<void> {
  peers.splice(peers.indexOf(p), 1)
  await p.stop()
}

/** Collect `count` records from a subscription, failing after `timeoutMs`. */
async function collect(iterable: AsyncIterable<NetRecord>, count: number, timeoutMs = 30_000): Promise<NetRecord[]> {
  return await take(iterable, count, timeoutMs, 'records')
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...await filesUnder(p))
    else if (e.isFile()) out.push(p)
  }
  return out
}

/** Every key and value of a LevelDB database, decompressed (what the store logically holds). */
async function levelEntries(path: string): Promise<Uint8Array[]> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: false })
  await db.open()
  try {
    const out: Uint8Array[] = []
    for await (const [k, v] of db.iterator()) out.push(k, v)
    return out
  } finally {
    await db.close()
  }
}

const COUNT = 50

describe('relay as replicator', () => {
  it('keeps every record across a restart, serves them with the writer offline, and stores no plaintext', async () => {
    const marker = `weft-relay-secret-${toHex(randomBytes(16))}`
    const relay = await startRelayProcess()

    // A writer hands the thread to the relay (service key only) and writes COUNT records.
    const writer = await peer()
    const id = newThreadID()
    const info = await writer.net.createThread(id)
    expect(await writer.net.addReplicator(id, relay.tcpAddr)).toBe(relay.peerId)
    for (let i = 0; i < COUNT; i++) await writer.net.createRecord(id, { n: i, text: `${marker} #${i}` })
    await until(async () => (metricValue(await scrape(relay), 'weft_relay_records_stored_total') ?? 0) >= COUNT, 'the relay to store every record')
    const bytesIn = metricValue(await scrape(relay), 'weft_relay_bytes_received_total') ?? 0
    expect(bytesIn).toBeGreaterThan(0)
    await stopPeer(writer)

    // Restart the relay on the same repo.
    expect((await relay.stop()).code).toBe(0)
    const again = await startRelayProcess({ repo: relay.repo })
    expect(again.peerId).toBe(relay.peerId)
    expect(metricValue(await scrape(again), 'weft_relay_threads')).toBe(1)

    // A fresh member joins through the relay alone and receives every record.
    const reader = await peer()
    const received = collect(reader.net.subscribe({ threads: [id] }), COUNT)
    const joined = await reader.net.addThread(`${again.tcpAddr}/thread/${id}`, { threadKey: info.key })
    expect(joined.readable).toBe(true)
    const records = await received
    expect(records.map((r) => (r.body as { n: number }).n).sort((a, b) => a - b)).toEqual([...Array(COUNT).keys()])
    for (const r of records) {
      expect(r.origin).toBe('remote')
      expect((r.body as { text: string }).text).toBe(`${marker} #${(r.body as { n: number }).n}`)
    }
    expect(metricValue(await scrape(again), 'weft_relay_records_served_total')).toBeGreaterThanOrEqual(COUNT)
    await stopPeer(reader)
    expect((await again.stop()).code).toBe(0)

    // The relay's store holds no plaintext of any body: neither in the files on disk (write-ahead
    // log, tables) nor in any decompressed key or value.
    const needle = Buffer.from(marker, 'utf8')
    const storeDir = join(relay.repo, 'store')
    const files = await filesUnder(storeDir)
    expect(files.length).toBeGreaterThan(0)
    for (const f of files) expect((await readFile(f)).includes(needle), f).toBe(false)
    const entries = await levelEntries(storeDir)
    const all = Buffer.concat(entries)
    // Positive control: the scan does see what the store keeps in clear (the thread ID in keys).
    expect(all.includes(Buffer.from(id, 'utf8'))).toBe(true)
    expect(all.byteLength).toBeGreaterThan(COUNT * needle.byteLength)
    expect(all.includes(needle)).toBe(false)
    // It was never given the read key (only the service key, which it needs).
    const key = parseThreadKey(info.key)
    expect(all.includes(Buffer.from(key.service))).toBe(true)
    expect(all.includes(Buffer.from(key.read!))).toBe(false)
  }, 180_000)
})

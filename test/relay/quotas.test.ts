/**
 * The relay's quotas, as a process: hand-overs and records past a quota are refused with the
 * wire code QUOTA_EXCEEDED, counted in /metrics by kind, and honest replication within the
 * quotas goes on. The accounting survives a restart.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createPeer, type Peer } from '../../src/node/peer.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { toHex, randomBytes } from '../../src/core/bytes.js'
import { enableLogging, setLogSink } from '../../src/core/logger.js'
import { cleanupRelays, metricByLabel, metricValue, scrape, startRelayProcess, until } from './harness.js'

const peers: Peer[] = []

afterEach(async () => {
  restoreLogs()
  await Promise.all(peers.splice(0).map(async (p) => { await p.stop().catch(() => undefined) }))
  await cleanupRelays()
})

let restoreLogs = (): void => undefined

/** Lines this process logs under weft:net (the writer's view of what the relay answered). */
function captureNetLogs(): string[] {
  const lines: string[] = []
  const before = process.env.DEBUG
  enableLogging('weft:net*')
  setLogSink((namespace, _level, formatter, args) => {
    let i = 0
    lines.push(`${namespace} ${formatter.replace(/%[sdo]/g, () => String(args[i++]))}`)
  })
  restoreLogs = () => {
    enableLogging(before ?? '')
    setLogSink((namespace, level, formatter, args) => {
      ;(level === 'error' ? console.error : console.debug)(`${new Date().toISOString()} ${namespace} ${formatter}`, ...args)
    })
    restoreLogs = () => undefined
  }
  return lines
}

async function peer(): Promise<Peer> {
  const p = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0 })
  peers.push(p)
  return p
}

/** What a promise rejects with: its name and message (or 'resolved'). */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'resolved'
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`
  }
}

describe('relay quotas', () => {
  it('hand-overs past the per-IP thread quota are refused with QUOTA_EXCEEDED and counted', async () => {
    const relay = await startRelayProcess({ env: { WEFT_RELAY_MAX_THREADS_PER_IP: '2', WEFT_RELAY_MAX_THREADS_PER_PEER: '100' } })
    // Three peers (three peer IDs) from one IP, 127.0.0.1: the third hand-over is over the quota.
    const [a, b, c] = [await peer(), await peer(), await peer()]
    for (const p of [a, b]) {
      const id = newThreadID()
      await p.net.createThread(id)
      expect(await p.net.addReplicator(id, relay.tcpAddr)).toBe(relay.peerId)
    }
    const refused = newThreadID()
    await c.net.createThread(refused)
    expect(await outcome(c.net.addReplicator(refused, relay.tcpAddr))).toMatch(/QUOTA_EXCEEDED/)

    const text = await scrape(relay)
    expect(metricByLabel(text, 'weft_relay_refused_total', 'kind')).toMatchObject({ threads_per_ip: 1, threads_per_peer: 0 })
    expect(metricValue(text, 'weft_relay_threads')).toBe(2)

    // The count is kept across a restart: the quota still holds.
    expect((await relay.stop()).code).toBe(0)
    const again = await startRelayProcess({ repo: relay.repo, env: { WEFT_RELAY_MAX_THREADS_PER_IP: '2', WEFT_RELAY_MAX_THREADS_PER_PEER: '100' } })
    expect(await outcome(c.net.addReplicator(refused, again.tcpAddr))).toMatch(/QUOTA_EXCEEDED/)
    expect(metricByLabel(await scrape(again), 'weft_relay_refused_total', 'kind').threads_per_ip).toBe(1)
  }, 120_000)

  it('records past a thread\'s byte quota are refused with QUOTA_EXCEEDED', async () => {
    const relay = await startRelayProcess({ env: { WEFT_RELAY_MAX_THREAD_BYTES: '40000' } })
    const writer = await peer()
    const logs = captureNetLogs()
    const id = newThreadID()
    await writer.net.createThread(id)
    await writer.net.addReplicator(id, relay.tcpAddr)
    // Each record carries about 8 KiB: the quota takes four or so, then refuses.
    for (let i = 0; i < 10; i++) await writer.net.createRecord(id, { n: i, pad: toHex(randomBytes(4096)) })
    await until(async () => (metricByLabel(await scrape(relay), 'weft_relay_refused_total', 'kind').thread_bytes ?? 0) >= 1, 'the relay to refuse a record over the quota')
    const text = await scrape(relay)
    const stored = metricValue(text, 'weft_relay_records_stored_total') ?? 0
    expect(stored).toBeGreaterThan(0)
    expect(stored).toBeLessThan(10)
    expect(metricValue(text, 'weft_relay_stored_bytes')).toBeLessThanOrEqual(40000)
    // The writer was answered QUOTA_EXCEEDED (in its sync status, or at least in its log).
    await until(async () => /QUOTA_EXCEEDED/.test((await writer.net.syncStatus(id)).lastError?.message ?? '') || logs.some((l) => l.includes('QUOTA_EXCEEDED')), 'the writer to be told QUOTA_EXCEEDED', 10_000)
  }, 120_000)
})

/**
 * The relay daemon as a process: health and metrics over HTTP, a stable identity across
 * restarts, graceful shutdown on SIGTERM, and refusal of a bad configuration.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createPeer, type Peer } from '../../src/node/peer.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { RELAY_METRIC_NAMES } from '../../relay/metrics.js'
import { REFUSAL_KINDS } from '../../relay/policy.js'
import { cleanupRelays, metricByLabel, metricValue, runRelayUntilExit, scrape, startRelayProcess, tempDir, until } from './harness.js'

const peers: Peer[] = []

afterEach(async () => {
  await Promise.all(peers.splice(0).map(async (p) => { await p.stop().catch(() => undefined) }))
  await cleanupRelays()
})

describe('relay daemon', () => {
  it('answers /healthz with 200 and its peer ID, and /metrics with every relay metric', async () => {
    const relay = await startRelayProcess()
    const res = await fetch(`${relay.http}/healthz`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/application\/json/)
    const health = await res.json() as { status: string; peerId: string; addrs: string[]; uptimeMs: number }
    expect(health.status).toBe('ok')
    expect(health.peerId).toBe(relay.peerId)
    expect(health.addrs).toEqual(relay.addrs)
    expect(health.uptimeMs).toBeGreaterThanOrEqual(0)
    for (const a of relay.addrs) expect(a.endsWith(`/p2p/${relay.peerId}`)).toBe(true)

    const metrics = await fetch(`${relay.http}/metrics`)
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/)
    const text = await metrics.text()
    for (const name of RELAY_METRIC_NAMES) {
      // The scrape itself holds an HTTP socket.
      if (name === 'weft_relay_http_sockets') expect(metricValue(text, name), name).toBeGreaterThanOrEqual(1)
      else expect(metricValue(text, name), name).toBe(0)
    }
    const refused = metricByLabel(text, 'weft_relay_refused_total', 'kind')
    expect(Object.keys(refused).sort()).toEqual([...REFUSAL_KINDS].sort())
    expect(Object.values(refused).every((n) => n === 0)).toBe(true)
    expect(text).toContain('process_cpu_user_seconds_total')
    expect(text).toContain('nodejs_eventloop_lag_seconds')

    expect((await fetch(`${relay.http}/nope`)).status).toBe(404)
    const post = await fetch(`${relay.http}/healthz`, { method: 'POST', body: 'x'.repeat(1024) })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })

  it('prints a banner with the peer ID and every address before the READY line', async () => {
    const relay = await startRelayProcess()
    const out = relay.stdout()
    const banner = out.slice(0, out.indexOf('WEFT_RELAY_READY'))
    expect(banner).toContain(relay.peerId)
    for (const a of relay.addrs) expect(banner).toContain(a)
    expect(relay.addrs.some((a) => a.includes('/ws/'))).toBe(true)
  })

  it('keeps its peer ID across a restart on the same repo', async () => {
    const first = await startRelayProcess()
    expect((await first.stop()).code).toBe(0)
    const key = await stat(join(first.repo, 'peer.key'))
    expect(key.mode & 0o077).toBe(0)
    const second = await startRelayProcess({ repo: first.repo })
    expect(second.peerId).toBe(first.peerId)
    const other = await startRelayProcess()
    expect(other.peerId).not.toBe(first.peerId)
  }, 120_000)

  it('exits 0 promptly on SIGTERM while peers are connected and a thread is replicated', async () => {
    const relay = await startRelayProcess()
    const peer = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0 })
    peers.push(peer)
    const id = newThreadID()
    await peer.net.createThread(id)
    await peer.net.addReplicator(id, relay.tcpAddr)
    await peer.net.createRecord(id, { hello: 'relay' })
    await until(async () => metricValue(await scrape(relay), 'weft_relay_records_stored_total') === 1, 'the relay to store the record')
    expect(metricValue(await scrape(relay), 'weft_relay_connections')).toBeGreaterThanOrEqual(1)
    expect(metricValue(await scrape(relay), 'weft_relay_threads')).toBe(1)

    const exit = await relay.stop()
    expect(exit).toMatchObject({ code: 0, signal: null })
    expect(exit.ms).toBeLessThan(10_000)
    expect(relay.stdout()).toContain('weft-relay: stopped')
    expect(relay.stderr()).not.toMatch(/uncaught|unhandled/i)
  }, 120_000)

  it('exits 1 at once when a second signal arrives during shutdown', async () => {
    const relay = await startRelayProcess()
    // Both are pending when the process runs again, so both land before the first shutdown can
    // finish, however busy the machine (sent to a running process, the first could win the race).
    process.kill(relay.pid, 'SIGSTOP')
    process.kill(relay.pid, 'SIGTERM')
    process.kill(relay.pid, 'SIGINT')
    process.kill(relay.pid, 'SIGCONT')
    expect(await relay.exited).toMatchObject({ code: 1, signal: null })
    // (Two pending signals of one kind merge into one, hence two kinds; their order is the kernel's.)
    expect(relay.stderr()).toMatch(/SIG(TERM|INT) during shutdown; forcing exit/)
  }, 60_000)

  it('exits 2 naming the variable when the configuration is bad', async () => {
    const bad = await runRelayUntilExit({ WEFT_RELAY_HTTP: 'nonsense' })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('WEFT_RELAY_HTTP')
    expect(bad.stdout).not.toContain('WEFT_RELAY_READY')

    const several = await runRelayUntilExit({ WEFT_RELAY_TCP: '/not/a/multiaddr', WEFT_RELAY_MAX_RESERVATIONS: '-1' })
    expect(several.code).toBe(2)
    expect(several.stderr).toContain('WEFT_RELAY_TCP')
    expect(several.stderr).toContain('WEFT_RELAY_MAX_RESERVATIONS')
  }, 60_000)

  it('exits 1 with a message when it cannot bind its HTTP address', async () => {
    const first = await startRelayProcess()
    const port = new URL(first.http).port
    const clash = await runRelayUntilExit({ WEFT_RELAY_HTTP: `127.0.0.1:${port}`, WEFT_RELAY_REPO: await tempDir() })
    expect(clash.code).toBe(1)
    expect(clash.stderr).toMatch(/could not start.*EADDRINUSE/s)
  }, 60_000)
})

/**
 * The relay's configuration: defaults, parsing, errors that name every bad variable, and the
 * documentation table kept in step with the code.
 */
import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { describeConfig, listenAddrs, loadConfig, RELAY_VARIABLES } from '../../relay/config.js'
import { RELAY_METRIC_NAMES } from '../../relay/metrics.js'
import { newThreadID } from '../../src/core/thread-id.js'

const THREAD = newThreadID()
const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (err) {
    expect((err as Error).name).toBe('RelayConfigError')
    return (err as { problems: string[] }).problems
  }
  throw new Error('expected a RelayConfigError')
}

describe('relay configuration', () => {
  it('has the documented defaults when nothing is set', () => {
    const c = loadConfig({})
    expect(c.repo).toBe(resolve('.weft/relay'))
    expect(listenAddrs(c)).toEqual(['/ip4/0.0.0.0/tcp/4006', '/ip4/0.0.0.0/tcp/4007/ws'])
    expect(c.announce).toEqual([])
    expect(c.http).toEqual({ host: '127.0.0.1', port: 4008 })
    expect(c).toMatchObject({
      connHigh: 400, connLow: 100, connGraceMs: 20_000, connRatePerHost: 5, connPerIp: 32, connPending: 10, connPendingPerIp: 4, maxReservations: 128, reservationTtlMs: 7_200_000,
      dataLimitBytes: 16 * 1024 * 1024, durationLimitMs: 600_000, syncIntervalMs: 10_000, allowPrivate: false,
      shutdownTimeoutMs: 20_000, explicit: [], maxReservationsPerIp: 8, allowThreads: [], allowPeers: [],
      maxThreadsPerPeer: 64, maxThreadsPerIp: 256, maxThreadBytes: 64 * 1024 * 1024, maxThreadRecords: 100_000,
      maxStoreBytes: 4 * 1024 * 1024 * 1024, httpMaxSockets: 256, httpMaxSocketsPerIp: 16
    })
  })

  it('reads every variable that is set', () => {
    const c = loadConfig({
      WEFT_RELAY_REPO: '/data', WEFT_RELAY_TCP: '/ip4/127.0.0.1/tcp/0', WEFT_RELAY_WS: '/ip6/::/tcp/9/ws',
      WEFT_RELAY_ANNOUNCE: '/dns4/relay.example.com/tcp/4006, /dns4/relay.example.com/tcp/443/wss',
      WEFT_RELAY_HTTP: '[::1]:0', WEFT_RELAY_CONN_LOW: '5', WEFT_RELAY_CONN_HIGH: '10', WEFT_RELAY_CONN_GRACE_MS: '0',
      WEFT_RELAY_CONN_RATE: '50', WEFT_RELAY_CONN_PENDING: '20', WEFT_RELAY_CONN_PENDING_PER_IP: '2', WEFT_RELAY_CONN_PER_IP: '7',
      WEFT_RELAY_MAX_RESERVATIONS: '0', WEFT_RELAY_RESERVATION_TTL_MS: '60000', WEFT_RELAY_DATA_LIMIT_BYTES: '1048576',
      WEFT_RELAY_DURATION_LIMIT_MS: '30000', WEFT_RELAY_SYNC_INTERVAL_MS: '0', WEFT_RELAY_ALLOW_PRIVATE: 'yes',
      WEFT_RELAY_SHUTDOWN_TIMEOUT_MS: '5000', DEBUG: 'weft:*',
      WEFT_RELAY_MAX_RESERVATIONS_PER_IP: '2', WEFT_RELAY_ALLOW_THREADS: `${THREAD}, ${THREAD}`, WEFT_RELAY_ALLOW_PEERS: PEER,
      WEFT_RELAY_MAX_THREADS_PER_PEER: '1', WEFT_RELAY_MAX_THREADS_PER_IP: '3', WEFT_RELAY_MAX_THREAD_BYTES: '1000',
      WEFT_RELAY_MAX_THREAD_RECORDS: '10', WEFT_RELAY_MAX_STORE_BYTES: '0', WEFT_RELAY_HTTP_MAX_SOCKETS: '4', WEFT_RELAY_HTTP_MAX_SOCKETS_PER_IP: '2'
    })
    expect(c).toMatchObject({
      repo: '/data', tcp: '/ip4/127.0.0.1/tcp/0', ws: '/ip6/::/tcp/9/ws', http: { host: '::1', port: 0 },
      announce: ['/dns4/relay.example.com/tcp/4006', '/dns4/relay.example.com/tcp/443/wss'],
      connLow: 5, connHigh: 10, connGraceMs: 0, connRatePerHost: 50, connPerIp: 7, connPending: 20, connPendingPerIp: 2, maxReservations: 0, reservationTtlMs: 60_000, dataLimitBytes: 1_048_576,
      durationLimitMs: 30_000, syncIntervalMs: 0, allowPrivate: true, shutdownTimeoutMs: 5000, debug: 'weft:*',
      maxReservationsPerIp: 2, allowThreads: [THREAD, THREAD], allowPeers: [PEER], maxThreadsPerPeer: 1, maxThreadsPerIp: 3,
      maxThreadBytes: 1000, maxThreadRecords: 10, maxStoreBytes: 0, httpMaxSockets: 4, httpMaxSocketsPerIp: 2
    })
    expect(c.explicit).toHaveLength(RELAY_VARIABLES.length)
  })

  it('turns a listener off when its variable is empty, but not both', () => {
    expect(listenAddrs(loadConfig({ WEFT_RELAY_WS: '' }))).toEqual(['/ip4/0.0.0.0/tcp/4006'])
    expect(problemsOf({ WEFT_RELAY_WS: '', WEFT_RELAY_TCP: '' })[0]).toMatch(/WEFT_RELAY_TCP and WEFT_RELAY_WS/)
  })

  it('names every bad variable at once', () => {
    const problems = problemsOf({
      WEFT_RELAY_HTTP: 'nonsense', WEFT_RELAY_TCP: '/ip4/0.0.0.0/tcp/1/ws', WEFT_RELAY_WS: '/ip4/0.0.0.0/tcp/1',
      WEFT_RELAY_ANNOUNCE: '/ip4/1.2.3.4/tcp/1,garbage', WEFT_RELAY_CONN_HIGH: '0', WEFT_RELAY_MAX_RESERVATIONS: '1.5',
      WEFT_RELAY_DURATION_LIMIT_MS: '99999999999', WEFT_RELAY_ALLOW_PRIVATE: 'maybe', WEFT_RELAY_SYNC_INTERVAL_MS: '-1'
    })
    const named = problems.map((p) => p.split('=')[0])
    expect(named).toEqual([
      'WEFT_RELAY_TCP', 'WEFT_RELAY_WS', 'WEFT_RELAY_ANNOUNCE', 'WEFT_RELAY_HTTP', 'WEFT_RELAY_CONN_HIGH',
      'WEFT_RELAY_MAX_RESERVATIONS', 'WEFT_RELAY_DURATION_LIMIT_MS', 'WEFT_RELAY_SYNC_INTERVAL_MS', 'WEFT_RELAY_ALLOW_PRIVATE'
    ])
  })

  it('names a bad thread ID or peer ID in an allow-list', () => {
    const problems = problemsOf({ WEFT_RELAY_ALLOW_THREADS: `${THREAD},not-a-thread`, WEFT_RELAY_ALLOW_PEERS: 'QmNope' })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toMatch(/^WEFT_RELAY_ALLOW_THREADS="not-a-thread": not a thread ID/)
    expect(problems[1]).toMatch(/^WEFT_RELAY_ALLOW_PEERS="QmNope": not a peer ID/)
  })

  it('rejects wss listening, a low water above the high water and a port past 65535', () => {
    expect(problemsOf({ WEFT_RELAY_WS: '/ip4/0.0.0.0/tcp/443/wss' })[0]).toMatch(/^WEFT_RELAY_WS=.*TLS/)
    expect(problemsOf({ WEFT_RELAY_CONN_LOW: '500' })[0]).toMatch(/^WEFT_RELAY_CONN_LOW=.*WEFT_RELAY_CONN_HIGH/)
    expect(problemsOf({ WEFT_RELAY_HTTP: '127.0.0.1:70000' })[0]).toMatch(/^WEFT_RELAY_HTTP=/)
  })

  it('describes every variable, marking defaults', () => {
    const text = describeConfig(loadConfig({ WEFT_RELAY_CONN_HIGH: '50' }))
    for (const v of RELAY_VARIABLES) expect(text).toContain(v.name)
    expect(text).toMatch(/WEFT_RELAY_CONN_HIGH\s+50\n/)
    expect(text).toMatch(/WEFT_RELAY_MAX_RESERVATIONS\s+128 {2}\(default\)/)
  })
})

describe('docs/RELAY.md', () => {
  it('lists every variable with its default, and every metric', async () => {
    const doc = await readFile(new URL('../../docs/RELAY.md', import.meta.url), 'utf8')
    for (const v of RELAY_VARIABLES) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${v.name}\` |`))
      expect(row, v.name).toBeDefined()
      expect(row, v.name).toContain(v.default === '' ? '(none)' : `\`${v.default}\``)
    }
    for (const m of RELAY_METRIC_NAMES) expect(doc).toContain(`| \`${m}\` |`)
  })
})

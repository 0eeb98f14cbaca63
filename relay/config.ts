/**
 * The relay's configuration: environment variables (prefix `WEFT_RELAY_`, in the spirit of
 * go-threads' `THRDS_*`), each with a default, validated as a whole. {@link loadConfig} reports
 * every bad variable at once (a {@link RelayConfigError}; the daemon exits with code 2);
 * {@link describeConfig} prints the values in effect. docs/RELAY.md has the same table.
 *
 * An unset or empty variable takes its default, except the listen and announce addresses, where
 * an empty value means "none" (so `WEFT_RELAY_WS=` turns the WebSocket listener off).
 */
import { resolve } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { parseThreadID } from '../src/core/index.js'
import { RelayConfigError } from './errors.js'

/** Longest delay Node timers accept (2^31 - 1 ms, about 24.8 days); larger ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647

export interface RelayConfig {
  /** Absolute path of the repository: LevelDB store (`store/`) and peer key (`peer.key`). */
  repo: string
  /** TCP listen multiaddr, or undefined when turned off. */
  tcp: string | undefined
  /** WebSocket listen multiaddr, or undefined when turned off. */
  ws: string | undefined
  /** Multiaddrs to advertise instead of the listen addresses (empty: advertise the listen ones). */
  announce: string[]
  /** Where /healthz and /metrics are served; port 0 picks a free port. */
  http: { host: string; port: number }
  /** Connection high water: libp2p 3's `maxConnections` (refuse inbound, prune back to it). */
  connHigh: number
  /** Connection low water: accepted and checked (≤ high), not used by libp2p 3. */
  connLow: number
  /** Connection grace period, ms: accepted and checked, not used by libp2p 3. */
  connGraceMs: number
  /** Inbound connections accepted per second from one IP (libp2p `inboundConnectionThreshold`). */
  connRatePerHost: number
  /** Connections set up or being set up from one IP (IPv6: one /64). */
  connPerIp: number
  /** Inbound connections being upgraded at once (libp2p `maxIncomingPendingConnections`). */
  connPending: number
  /** Inbound connections being upgraded at once from one IP (IPv6: one /64). */
  connPendingPerIp: number
  maxReservations: number
  /** Reservations held at once by peers connected from one IP (IPv6: one /64). */
  maxReservationsPerIp: number
  reservationTtlMs: number
  dataLimitBytes: number
  durationLimitMs: number
  /** Head exchange with connected thread peers this often; 0 turns it off. */
  syncIntervalMs: number
  /** Give out loopback and private addresses (LANs, tests). */
  allowPrivate: boolean
  /** After a stop signal, exit 1 if shutdown has not finished within this many ms. */
  shutdownTimeoutMs: number
  /** Threads that may be handed over (empty: any, unless `allowPeers` is set). */
  allowThreads: string[]
  /** Peers that may hand over threads (empty: any, unless `allowThreads` is set). */
  allowPeers: string[]
  /** Threads one peer may hand over. */
  maxThreadsPerPeer: number
  /** Threads peers from one IP (IPv6: one /64) may hand over. */
  maxThreadsPerIp: number
  /** Record bytes stored per thread. */
  maxThreadBytes: number
  /** Records stored per thread. */
  maxThreadRecords: number
  /** Record bytes stored in all, the store's disk budget. */
  maxStoreBytes: number
  /** HTTP sockets open at once, in total. */
  httpMaxSockets: number
  /** HTTP sockets open at once from one IP. */
  httpMaxSocketsPerIp: number
  /** `DEBUG` as given (weft:* namespaces), for display; the logger reads it itself. */
  debug: string
  /** Names of the variables that were set (not defaulted). */
  explicit: string[]
}

export interface VariableDoc {
  name: string
  default: string
  meaning: string
}

/** Every variable the relay reads, with its default and meaning (also the table in docs/RELAY.md). */
export const RELAY_VARIABLES: readonly VariableDoc[] = [
  { name: 'WEFT_RELAY_REPO', default: '.weft/relay', meaning: 'repository directory: LevelDB store (store/) and persistent peer key (peer.key)' },
  { name: 'WEFT_RELAY_TCP', default: '/ip4/0.0.0.0/tcp/4006', meaning: 'TCP listen multiaddr (empty: no TCP listener)' },
  { name: 'WEFT_RELAY_WS', default: '/ip4/0.0.0.0/tcp/4007/ws', meaning: 'WebSocket listen multiaddr, plain ws (empty: none); put TLS in front for wss' },
  { name: 'WEFT_RELAY_ANNOUNCE', default: '', meaning: 'comma-separated multiaddrs to advertise instead of the listen addresses (public IP or DNS name)' },
  { name: 'WEFT_RELAY_HTTP', default: '127.0.0.1:4008', meaning: 'host:port of the HTTP server for /healthz and /metrics (port 0: any free port)' },
  { name: 'WEFT_RELAY_CONN_HIGH', default: '400', meaning: 'connection high water = libp2p maxConnections: inbound connections are refused at it and libp2p prunes back down to it' },
  { name: 'WEFT_RELAY_CONN_LOW', default: '100', meaning: 'connection low water (go-threads connLowWater); checked to be ≤ high (unset: min(100, high)), NOT used: libp2p 3 has no low water' },
  { name: 'WEFT_RELAY_CONN_GRACE_MS', default: '20000', meaning: 'connection grace period (go-threads connGracePeriod); checked, NOT used: libp2p 3 has no grace period' },
  { name: 'WEFT_RELAY_CONN_RATE', default: '5', meaning: 'inbound connections accepted per second from one IP (libp2p inboundConnectionThreshold); raise it behind a TLS proxy, where every browser arrives from the proxy\'s IP' },
  { name: 'WEFT_RELAY_CONN_PER_IP', default: '32', meaning: 'connections held at once by peers connecting from one IP (IPv6: one /64), set up or being set up; past it, new ones from that IP are refused. Raise it behind a TLS proxy' },
  { name: 'WEFT_RELAY_CONN_PENDING', default: '10', meaning: 'inbound connections being upgraded (encryption, muxer) at once (libp2p maxIncomingPendingConnections); at it, the oldest of the IP holding the most is closed to make room' },
  { name: 'WEFT_RELAY_CONN_PENDING_PER_IP', default: '4', meaning: 'inbound connections being upgraded at once from one IP (IPv6: one /64); past it, that IP\'s oldest is closed' },
  { name: 'WEFT_RELAY_MAX_RESERVATIONS', default: '128', meaning: 'circuit-relay-v2 reservations held at once (libp2p default 15); 0 refuses all' },
  { name: 'WEFT_RELAY_MAX_RESERVATIONS_PER_IP', default: '8', meaning: 'circuit-relay-v2 reservations held at once by peers connecting from one IP (IPv6: one /64); a reservation is also freed when its peer disconnects' },
  { name: 'WEFT_RELAY_RESERVATION_TTL_MS', default: '7200000', meaning: 'lifetime of a reservation before the client must renew it (2 h)' },
  { name: 'WEFT_RELAY_DATA_LIMIT_BYTES', default: '16777216', meaning: 'bytes relayed per relayed connection, both directions together, before it is reset (16 MiB; libp2p default 128 KiB)' },
  { name: 'WEFT_RELAY_DURATION_LIMIT_MS', default: '600000', meaning: 'longest life of a relayed connection (10 min; libp2p default 2 min)' },
  { name: 'WEFT_RELAY_SYNC_INTERVAL_MS', default: '10000', meaning: 'exchange heads with connected thread peers this often; 0 turns the interval off' },
  { name: 'WEFT_RELAY_ALLOW_PRIVATE', default: 'false', meaning: 'give out loopback and private addresses in thread addresses (LAN and tests)' },
  { name: 'WEFT_RELAY_SHUTDOWN_TIMEOUT_MS', default: '20000', meaning: 'after SIGTERM/SIGINT, exit 1 if shutdown has not finished by then' },
  { name: 'WEFT_RELAY_ALLOW_THREADS', default: '', meaning: 'comma-separated thread IDs that may be handed over; with WEFT_RELAY_ALLOW_PEERS, a hand-over must match either list (both empty: open to anyone, within the quotas)' },
  { name: 'WEFT_RELAY_ALLOW_PEERS', default: '', meaning: 'comma-separated peer IDs that may hand over threads (see WEFT_RELAY_ALLOW_THREADS)' },
  { name: 'WEFT_RELAY_MAX_THREADS_PER_PEER', default: '64', meaning: 'threads one peer ID may hand over' },
  { name: 'WEFT_RELAY_MAX_THREADS_PER_IP', default: '256', meaning: 'threads peers connecting from one IP (IPv6: one /64) may hand over' },
  { name: 'WEFT_RELAY_MAX_THREAD_BYTES', default: '67108864', meaning: 'record bytes stored per thread (64 MiB)' },
  { name: 'WEFT_RELAY_MAX_THREAD_RECORDS', default: '100000', meaning: 'records stored per thread' },
  { name: 'WEFT_RELAY_MAX_STORE_BYTES', default: '4294967296', meaning: 'record bytes stored in all threads together, the store\'s disk budget (4 GiB)' },
  { name: 'WEFT_RELAY_HTTP_MAX_SOCKETS', default: '256', meaning: 'HTTP sockets open at once; past it the socket waiting longest for a request is closed' },
  { name: 'WEFT_RELAY_HTTP_MAX_SOCKETS_PER_IP', default: '16', meaning: 'HTTP sockets open at once from one IP; past it that IP\'s socket waiting longest is closed' },
  { name: 'DEBUG', default: '', meaning: 'debug logging namespaces, e.g. weft:* or weft:net:*,weft:relay' }
]

const DEFAULTS = new Map(RELAY_VARIABLES.map((v) => [v.name, v.default]))

type Env = Record<string, string | undefined>

class Reader {
  readonly problems: string[] = []
  readonly explicit: string[] = []
  constructor(private readonly env: Env) {}

  /** The raw value: the variable when set and non-empty (or set at all, when `emptyIsValue`), else the default. */
  raw(name: string, emptyIsValue = false): string {
    const v = this.env[name]
    if (v != null && (emptyIsValue || v.trim() !== '')) {
      this.explicit.push(name)
      return v.trim()
    }
    return DEFAULTS.get(name) ?? ''
  }

  problem(name: string, value: string, expected: string): void {
    this.problems.push(`${name}=${JSON.stringify(value)}: ${expected}`)
  }

  int(name: string, min: number, max: number): number {
    const s = this.raw(name)
    const n = /^\d+$/.test(s) ? Number(s) : NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.problem(name, s, `expected an integer from ${min} to ${max}`)
      return Number(DEFAULTS.get(name))
    }
    return n
  }

  bool(name: string): boolean {
    const s = this.raw(name).toLowerCase()
    if (['1', 'true', 'yes', 'on'].includes(s)) return true
    if (['0', 'false', 'no', 'off'].includes(s)) return false
    this.problem(name, s, 'expected true or false (also 1/0, yes/no, on/off)')
    return false
  }

  /** A listen multiaddr that must (or must not) carry a ws component; undefined when empty. */
  listen(name: string, kind: 'tcp' | 'ws'): string | undefined {
    const s = this.raw(name, true)
    if (s === '') return undefined
    let names: string[]
    try {
      names = multiaddr(s).getComponents().map((c) => c.name)
    } catch (err) {
      this.problem(name, s, `not a multiaddr (${(err as Error).message})`)
      return undefined
    }
    if (!names.includes('tcp')) this.problem(name, s, 'expected a TCP multiaddr such as /ip4/0.0.0.0/tcp/4006')
    else if (kind === 'tcp' && (names.includes('ws') || names.includes('wss'))) this.problem(name, s, 'a WebSocket address belongs in WEFT_RELAY_WS')
    else if (kind === 'ws' && names.includes('wss')) this.problem(name, s, 'the relay listens on plain /ws; terminate TLS in a proxy in front of it')
    else if (kind === 'ws' && !names.includes('ws')) this.problem(name, s, 'expected a multiaddr ending in /ws, such as /ip4/0.0.0.0/tcp/4007/ws')
    else return s
    return undefined
  }

  multiaddrs(name: string): string[] {
    const s = this.raw(name, true)
    const out: string[] = []
    for (const part of s.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      try {
        out.push(multiaddr(part).toString())
      } catch (err) {
        this.problem(name, part, `not a multiaddr (${(err as Error).message})`)
      }
    }
    return out
  }

  /** A comma-separated list, each item checked by `parse` (which throws on a bad one). */
  list(name: string, what: string, parse: (item: string) => unknown): string[] {
    const out: string[] = []
    for (const part of this.raw(name).split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      try {
        parse(part)
        out.push(part)
      } catch {
        this.problem(name, part, `not a ${what}`)
      }
    }
    return out
  }

  hostPort(name: string): { host: string; port: number } {
    const s = this.raw(name)
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s)
    const port = m != null ? Number(m[2]) : NaN
    if (m == null || port > 65535) {
      this.problem(name, s, 'expected host:port, e.g. 127.0.0.1:4008, 0.0.0.0:4008 or [::1]:4008 (port 0-65535)')
      return { host: '127.0.0.1', port: 4008 }
    }
    const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!
    return { host, port }
  }
}

/** Read and check the configuration; throws {@link RelayConfigError} naming every bad variable. */
export function loadConfig(env: Env = process.env): RelayConfig {
  const r = new Reader(env)
  const config: RelayConfig = {
    repo: resolve(r.raw('WEFT_RELAY_REPO')),
    tcp: r.listen('WEFT_RELAY_TCP', 'tcp'),
    ws: r.listen('WEFT_RELAY_WS', 'ws'),
    announce: r.multiaddrs('WEFT_RELAY_ANNOUNCE'),
    http: r.hostPort('WEFT_RELAY_HTTP'),
    connHigh: r.int('WEFT_RELAY_CONN_HIGH', 1, 1_000_000),
    connLow: r.int('WEFT_RELAY_CONN_LOW', 0, 1_000_000),
    connGraceMs: r.int('WEFT_RELAY_CONN_GRACE_MS', 0, MAX_TIMER_MS),
    connRatePerHost: r.int('WEFT_RELAY_CONN_RATE', 1, 1_000_000),
    connPerIp: r.int('WEFT_RELAY_CONN_PER_IP', 1, 1_000_000),
    connPending: r.int('WEFT_RELAY_CONN_PENDING', 1, 1_000_000),
    connPendingPerIp: r.int('WEFT_RELAY_CONN_PENDING_PER_IP', 1, 1_000_000),
    maxReservations: r.int('WEFT_RELAY_MAX_RESERVATIONS', 0, 1_000_000),
    maxReservationsPerIp: r.int('WEFT_RELAY_MAX_RESERVATIONS_PER_IP', 0, 1_000_000),
    reservationTtlMs: r.int('WEFT_RELAY_RESERVATION_TTL_MS', 1000, MAX_TIMER_MS),
    dataLimitBytes: r.int('WEFT_RELAY_DATA_LIMIT_BYTES', 1024, Number.MAX_SAFE_INTEGER),
    durationLimitMs: r.int('WEFT_RELAY_DURATION_LIMIT_MS', 1000, MAX_TIMER_MS),
    syncIntervalMs: r.int('WEFT_RELAY_SYNC_INTERVAL_MS', 0, MAX_TIMER_MS),
    allowPrivate: r.bool('WEFT_RELAY_ALLOW_PRIVATE'),
    shutdownTimeoutMs: r.int('WEFT_RELAY_SHUTDOWN_TIMEOUT_MS', 1000, MAX_TIMER_MS),
    allowThreads: r.list('WEFT_RELAY_ALLOW_THREADS', 'thread ID', parseThreadID),
    allowPeers: r.list('WEFT_RELAY_ALLOW_PEERS', 'peer ID', peerIdFromString),
    maxThreadsPerPeer: r.int('WEFT_RELAY_MAX_THREADS_PER_PEER', 0, 1_000_000_000),
    maxThreadsPerIp: r.int('WEFT_RELAY_MAX_THREADS_PER_IP', 0, 1_000_000_000),
    maxThreadBytes: r.int('WEFT_RELAY_MAX_THREAD_BYTES', 0, Number.MAX_SAFE_INTEGER),
    maxThreadRecords: r.int('WEFT_RELAY_MAX_THREAD_RECORDS', 0, Number.MAX_SAFE_INTEGER),
    maxStoreBytes: r.int('WEFT_RELAY_MAX_STORE_BYTES', 0, Number.MAX_SAFE_INTEGER),
    httpMaxSockets: r.int('WEFT_RELAY_HTTP_MAX_SOCKETS', 1, 1_000_000),
    httpMaxSocketsPerIp: r.int('WEFT_RELAY_HTTP_MAX_SOCKETS_PER_IP', 1, 1_000_000),
    debug: r.raw('DEBUG'),
    explicit: r.explicit
  }
  // An unset low water follows a high water set below it (it is not used anyway).
  if (!r.explicit.includes('WEFT_RELAY_CONN_LOW')) config.connLow = Math.min(config.connLow, config.connHigh)
  if (config.connLow > config.connHigh) {
    r.problem('WEFT_RELAY_CONN_LOW', String(config.connLow), `must not exceed WEFT_RELAY_CONN_HIGH (${config.connHigh})`)
  }
  const tcpBad = r.problems.some((p) => p.startsWith('WEFT_RELAY_TCP='))
  const wsBad = r.problems.some((p) => p.startsWith('WEFT_RELAY_WS='))
  if (config.tcp == null && config.ws == null && !tcpBad && !wsBad) {
    r.problems.push('WEFT_RELAY_TCP and WEFT_RELAY_WS are both empty: the relay needs at least one listener')
  }
  if (r.problems.length > 0) throw new RelayConfigError(r.problems)
  return config
}

/** The libp2p listen multiaddrs of a configuration. */
export function listenAddrs(config: RelayConfig): string[] {
  return [config.tcp, config.ws].filter((a): a is string => a != null)
}

function display(config: RelayConfig, name: string): string {
  switch (name) {
    case 'WEFT_RELAY_REPO': return config.repo
    case 'WEFT_RELAY_TCP': return config.tcp ?? '(off)'
    case 'WEFT_RELAY_WS': return config.ws ?? '(off)'
    case 'WEFT_RELAY_ANNOUNCE': return config.announce.length > 0 ? config.announce.join(',') : '(listen addresses)'
    case 'WEFT_RELAY_HTTP': return `${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${config.http.port}`
    case 'WEFT_RELAY_CONN_HIGH': return String(config.connHigh)
    case 'WEFT_RELAY_CONN_LOW': return `${config.connLow} (not used by libp2p 3)`
    case 'WEFT_RELAY_CONN_GRACE_MS': return `${config.connGraceMs} (not used by libp2p 3)`
    case 'WEFT_RELAY_CONN_RATE': return String(config.connRatePerHost)
    case 'WEFT_RELAY_CONN_PER_IP': return String(config.connPerIp)
    case 'WEFT_RELAY_CONN_PENDING': return String(config.connPending)
    case 'WEFT_RELAY_CONN_PENDING_PER_IP': return String(config.connPendingPerIp)
    case 'WEFT_RELAY_MAX_RESERVATIONS': return String(config.maxReservations)
    case 'WEFT_RELAY_MAX_RESERVATIONS_PER_IP': return String(config.maxReservationsPerIp)
    case 'WEFT_RELAY_RESERVATION_TTL_MS': return String(config.reservationTtlMs)
    case 'WEFT_RELAY_DATA_LIMIT_BYTES': return String(config.dataLimitBytes)
    case 'WEFT_RELAY_DURATION_LIMIT_MS': return String(config.durationLimitMs)
    case 'WEFT_RELAY_SYNC_INTERVAL_MS': return config.syncIntervalMs === 0 ? '0 (off)' : String(config.syncIntervalMs)
    case 'WEFT_RELAY_ALLOW_PRIVATE': return String(config.allowPrivate)
    case 'WEFT_RELAY_SHUTDOWN_TIMEOUT_MS': return String(config.shutdownTimeoutMs)
    case 'WEFT_RELAY_ALLOW_THREADS': return config.allowThreads.length > 0 ? config.allowThreads.join(',') : '(any)'
    case 'WEFT_RELAY_ALLOW_PEERS': return config.allowPeers.length > 0 ? config.allowPeers.join(',') : '(any)'
    case 'WEFT_RELAY_MAX_THREADS_PER_PEER': return String(config.maxThreadsPerPeer)
    case 'WEFT_RELAY_MAX_THREADS_PER_IP': return String(config.maxThreadsPerIp)
    case 'WEFT_RELAY_MAX_THREAD_BYTES': return String(config.maxThreadBytes)
    case 'WEFT_RELAY_MAX_THREAD_RECORDS': return String(config.maxThreadRecords)
    case 'WEFT_RELAY_MAX_STORE_BYTES': return String(config.maxStoreBytes)
    case 'WEFT_RELAY_HTTP_MAX_SOCKETS': return String(config.httpMaxSockets)
    case 'WEFT_RELAY_HTTP_MAX_SOCKETS_PER_IP': return String(config.httpMaxSocketsPerIp)
    case 'DEBUG': return config.debug === '' ? '(off)' : config.debug
    default: return ''
  }
}

/** One line per variable: name, value in effect, and whether it was set or defaulted. */
export function describeConfig(config: RelayConfig): string {
  const width = Math.max(...RELAY_VARIABLES.map((v) => v.name.length))
  return RELAY_VARIABLES.map((v) => {
    const origin = config.explicit.includes(v.name) ? '' : '  (default)'
    return `${v.name.padEnd(width)}  ${display(config, v.name)}${origin}`
  }).join('\n')
}

/**
 * The hub's configuration: environment variables with the prefix `WEFT_HUB_` (in the spirit of
 * go-threads' `THRDS_*`), each with a default. {@link loadHubConfig} checks every variable and
 * reports all the bad ones at once ({@link HubConfigError}; the daemon exits with code 2);
 * {@link describeHubConfig} prints the values in effect. docs/HUB.md has the same table.
 *
 * An unset or empty variable takes its default, except the libp2p listen and announce addresses
 * and the relays, where an empty value means "none" (`WEFT_HUB_WS=` turns the WebSocket listener
 * off).
 */
import { resolve } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_TIMER_MS } from '../relay/config.js'
import { HubConfigError } from './errors.js'

export interface HostPort { host: string; port: number }

export interface HubConfig {
  /** Absolute path of the repository: LevelDB store (`store/`) and peer key (`peer.key`). */
  repo: string
  /** gRPC over HTTP/2 without TLS (h2c): Go clients, grpcurl. */
  grpc: HostPort
  /** gRPC-Web over HTTP/1.1 and the `grpc-websockets` WebSocket transport (browsers, the JS client). */
  web: HostPort
  /** /healthz and /metrics. */
  http: HostPort
  /** libp2p TCP listen multiaddr, or undefined when turned off. */
  tcp: string | undefined
  /** libp2p WebSocket listen multiaddr, or undefined when turned off. */
  ws: string | undefined
  /** Multiaddrs to advertise instead of the listen addresses. */
  announce: string[]
  /** Relays to keep a reservation on (multiaddrs ending in /p2p/<id>). */
  relays: string[]
  /** Give out loopback and private addresses (LANs, tests). */
  allowPrivate: boolean
  /** Heads exchange with connected thread peers this often; 0 turns it off. */
  syncIntervalMs: number
  /** Refuse calls without a token (go-threads accepts them). */
  requireToken: boolean
  /** Lifetime of issued tokens. */
  tokenTtlMs: number
  /** Identities whose delegations (GetToken answers) the repository keeps; the oldest are dropped past it. */
  maxDelegations: number
  /** Origins allowed to call the web port (`*`: any). */
  allowedOrigins: string[]
  /** Largest request or response message, bytes. */
  maxMessageBytes: number
  /** Concurrent streams per HTTP/2 connection. */
  maxStreams: number
  /** Open connections per API port (HTTP/2 sessions, HTTP/1.1 connections and WebSockets). */
  maxConnections: number
  /** A transaction, token challenge or connection waiting this long for the client is ended. */
  idleTimeoutMs: number
  /** Ping interval of long-lived streams (WebSocket and HTTP/2). */
  keepAliveMs: number
  /** After SIGTERM/SIGINT, exit 1 if shutdown has not finished by then. */
  shutdownTimeoutMs: number
  /** `DEBUG` as given, for display. */
  debug: string
  /** Names of the variables that were set (not defaulted). */
  explicit: string[]
}

export interface HubVariable { name: string; default: string; meaning: string }

/** Every variable the hub reads, with its default and meaning (also the table in docs/HUB.md). */
export const HUB_VARIABLES: readonly HubVariable[] = [
  { name: 'WEFT_HUB_REPO', default: '.weft/hub', meaning: 'repository directory: LevelDB store (store/) and persistent peer key (peer.key)' },
  { name: 'WEFT_HUB_GRPC', default: '127.0.0.1:6006', meaning: 'host:port of gRPC over HTTP/2 without TLS (Go clients, grpcurl -plaintext)' },
  { name: 'WEFT_HUB_WEB', default: '127.0.0.1:6007', meaning: 'host:port of gRPC-Web (HTTP/1.1) and the grpc-websockets transport of the JS client' },
  { name: 'WEFT_HUB_HTTP', default: '127.0.0.1:6008', meaning: 'host:port of /healthz and /metrics' },
  { name: 'WEFT_HUB_TCP', default: '/ip4/0.0.0.0/tcp/4016', meaning: 'libp2p TCP listen multiaddr (empty: none)' },
  { name: 'WEFT_HUB_WS', default: '/ip4/0.0.0.0/tcp/4017/ws', meaning: 'libp2p WebSocket listen multiaddr (empty: none); put TLS in front for wss' },
  { name: 'WEFT_HUB_ANNOUNCE', default: '', meaning: 'comma-separated multiaddrs to advertise instead of the listen addresses' },
  { name: 'WEFT_HUB_RELAYS', default: '', meaning: 'comma-separated relay multiaddrs (ending in /p2p/<id>) to keep a reservation on, so browsers reach the hub' },
  { name: 'WEFT_HUB_ALLOW_PRIVATE', default: 'false', meaning: 'give out loopback and private addresses in thread addresses (LAN and tests)' },
  { name: 'WEFT_HUB_SYNC_INTERVAL_MS', default: '10000', meaning: 'exchange heads with connected thread peers this often; 0 turns the interval off' },
  { name: 'WEFT_HUB_REQUIRE_TOKEN', default: 'false', meaning: 'refuse calls without a token (Unauthenticated); go-threads accepts them' },
  { name: 'WEFT_HUB_TOKEN_TTL_MS', default: '2592000000', meaning: 'lifetime of the tokens GetToken issues (30 days, the longest allowed)' },
  { name: 'WEFT_HUB_MAX_DELEGATIONS', default: '100000', meaning: 'identities whose GetToken delegations the repo keeps (the oldest are dropped past it; such an identity calls GetToken again)' },
  { name: 'WEFT_HUB_ALLOWED_ORIGINS', default: '*', meaning: 'comma-separated origins allowed on the web port (CORS and WebSocket); * allows any' },
  { name: 'WEFT_HUB_MAX_MESSAGE_BYTES', default: '4194304', meaning: 'largest request or response message (4 MiB, gRPC\'s default)' },
  { name: 'WEFT_HUB_MAX_STREAMS', default: '100', meaning: 'concurrent streams per HTTP/2 connection' },
  { name: 'WEFT_HUB_MAX_CONNECTIONS', default: '256', meaning: 'open connections per API port (HTTP/2 sessions, HTTP/1.1 connections, WebSockets)' },
  { name: 'WEFT_HUB_IDLE_TIMEOUT_MS', default: '30000', meaning: 'a transaction, token challenge or silent connection waiting this long for the client is ended' },
  { name: 'WEFT_HUB_KEEPALIVE_MS', default: '15000', meaning: 'ping interval of long-lived streams; a peer that misses a ping is disconnected' },
  { name: 'WEFT_HUB_SHUTDOWN_TIMEOUT_MS', default: '20000', meaning: 'after SIGTERM/SIGINT, exit 1 if shutdown has not finished by then' },
  { name: 'DEBUG', default: '', meaning: 'debug logging namespaces, e.g. weft:* or weft:hub:*' }
]

/** Variables whose empty value means "none" rather than "default". */
const EMPTY_IS_NONE = new Set(['WEFT_HUB_TCP', 'WEFT_HUB_WS', 'WEFT_HUB_ANNOUNCE', 'WEFT_HUB_RELAYS'])
const BOOLEANS: Record<string, boolean> = { true: true, 1: true, yes: true, on: true, false: false, 0: false, no: false, off: false }

type Env = Record<string, string | undefined>

/** Reads variables, collecting one problem line per bad value. */
function reader(env: Env) {
  const problems: string[] = []
  const explicit: string[] = []
  const defaults = new Map(HUB_VARIABLES.map((v) => [v.name, v.default]))
  const bad = (name: string, value: string, expected: string): void => { problems.push(`${name}=${JSON.stringify(value)}: ${expected}`) }
  const text = (name: string): string => {
    const v = env[name]
    const set = v != null && (EMPTY_IS_NONE.has(name) || v.trim() !== '')
    if (set) explicit.push(name)
    return set ? v.trim() : defaults.get(name) ?? ''
  }
  const list = (name: string, check: (item: string) => string): string[] =>
    text(name).split(',').map((s) => s.trim()).filter((s) => s !== '').flatMap((item) => {
      try {
        return [check(item)]
      } catch (err) {
        bad(name, item, (err as Error).message)
        return []
      }
    })
  return {
    problems,
    explicit,
    text,
    list,
    integer(name: string, min: number, max: number): number {
      const s = text(name)
      const n = /^\d+$/.test(s) ? Number(s) : NaN
      if (Number.isSafeInteger(n) && n >= min && n <= max) return n
      bad(name, s, `expected an integer from ${min} to ${max}`)
      return Number(defaults.get(name))
    },
    flag(name: string): boolean {
      const s = text(name).toLowerCase()
      const b = BOOLEANS[s]
      if (b === undefined) bad(name, s, 'expected true or false (also 1/0, yes/no, on/off)')
      return b ?? false
    },
    address(name: string): HostPort {
      const s = text(name)
      const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s)
      if (m != null && Number(m[2]) <= 65535) return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) }
      bad(name, s, 'expected host:port, e.g. 127.0.0.1:6006, 0.0.0.0:6006 or [::1]:6006 (port 0-65535)')
      return { host: '127.0.0.1', port: 0 }
    },
    /** A libp2p listen multiaddr over TCP, with (`ws`) or without a /ws component; undefined when empty. */
    listen(name: string, ws: boolean): string | undefined {
      const s = text(name)
      if (s === '') return undefined
      let protocols: string[]
      try {
        protocols = multiaddr(s).getComponents().map((c) => c.name)
      } catch (err) {
        bad(name, s, `not a multiaddr (${(err as Error).message})`)
        return undefined
      }
      const hasWs = protocols.includes('ws') || protocols.includes('wss')
      if (!protocols.includes('tcp')) bad(name, s, 'expected a TCP multiaddr such as /ip4/0.0.0.0/tcp/4016')
      else if (hasWs !== ws || protocols.includes('wss')) bad(name, s, ws ? 'expected a plain /ws multiaddr such as /ip4/0.0.0.0/tcp/4017/ws' : 'a WebSocket address belongs in WEFT_HUB_WS')
      else return s
      return undefined
    }
  }
}

const asMultiaddr = (s: string): string => multiaddr(s).toString()
const asOrigin = (s: string): string => {
  if (s === '*') return s
  const u = new URL(s)
  if (u.origin !== s.replace(/\/$/, '')) throw new Error('expected an origin such as https://app.example.com (scheme, host, optional port)')
  return u.origin
}

/** Read and check the configuration; throws {@link HubConfigError} naming every bad variable. */
export function loadHubConfig(env: Env = process.env): HubConfig {
  const r = reader(env)
  const config: HubConfig = {
    repo: resolve(r.text('WEFT_HUB_REPO')),
    grpc: r.address('WEFT_HUB_GRPC'),
    web: r.address('WEFT_HUB_WEB'),
    http: r.address('WEFT_HUB_HTTP'),
    tcp: r.listen('WEFT_HUB_TCP', false),
    ws: r.listen('WEFT_HUB_WS', true),
    announce: r.list('WEFT_HUB_ANNOUNCE', asMultiaddr),
    relays: r.list('WEFT_HUB_RELAYS', (s) => {
      const ma = asMultiaddr(s)
      if (!ma.includes('/p2p/')) throw new Error('a relay address must end in /p2p/<peerID>')
      return ma
    }),
    allowPrivate: r.flag('WEFT_HUB_ALLOW_PRIVATE'),
    syncIntervalMs: r.integer('WEFT_HUB_SYNC_INTERVAL_MS', 0, MAX_TIMER_MS),
    requireToken: r.flag('WEFT_HUB_REQUIRE_TOKEN'),
    tokenTtlMs: r.integer('WEFT_HUB_TOKEN_TTL_MS', 60_000, 30 * 24 * 60 * 60_000),
    maxDelegations: r.integer('WEFT_HUB_MAX_DELEGATIONS', 1, 10_000_000),
    allowedOrigins: r.list('WEFT_HUB_ALLOWED_ORIGINS', asOrigin),
    maxMessageBytes: r.integer('WEFT_HUB_MAX_MESSAGE_BYTES', 1024, 64 * 1024 * 1024),
    maxStreams: r.integer('WEFT_HUB_MAX_STREAMS', 1, 10_000),
    maxConnections: r.integer('WEFT_HUB_MAX_CONNECTIONS', 1, 1_000_000),
    idleTimeoutMs: r.integer('WEFT_HUB_IDLE_TIMEOUT_MS', 1000, MAX_TIMER_MS),
    keepAliveMs: r.integer('WEFT_HUB_KEEPALIVE_MS', 1000, MAX_TIMER_MS),
    shutdownTimeoutMs: r.integer('WEFT_HUB_SHUTDOWN_TIMEOUT_MS', 1000, MAX_TIMER_MS),
    debug: r.text('DEBUG'),
    explicit: r.explicit
  }
  const ports = [['WEFT_HUB_GRPC', config.grpc], ['WEFT_HUB_WEB', config.web], ['WEFT_HUB_HTTP', config.http]] as const
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      const [a, x] = ports[i]!
      const [b, y] = ports[j]!
      if (x.port !== 0 && x.port === y.port && x.host === y.host) r.problems.push(`${a} and ${b} are both ${x.host}:${x.port}: each API needs its own port`)
    }
  }
  if (config.allowedOrigins.length === 0) r.problems.push('WEFT_HUB_ALLOWED_ORIGINS is empty: name the origins allowed, or * for any')
  if (r.problems.length > 0) throw new HubConfigError(r.problems)
  return config
}

/** The libp2p listen multiaddrs of a configuration (possibly none: the hub then only dials). */
export function hubListenAddrs(config: HubConfig): string[] {
  return [config.tcp, config.ws].filter((a): a is string => a != null)
}

function show(config: HubConfig, name: string): string {
  const hp = (a: HostPort): string => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`
  const values: Record<string, string> = {
    WEFT_HUB_REPO: config.repo,
    WEFT_HUB_GRPC: hp(config.grpc),
    WEFT_HUB_WEB: hp(config.web),
    WEFT_HUB_HTTP: hp(config.http),
    WEFT_HUB_TCP: config.tcp ?? '(off)',
    WEFT_HUB_WS: config.ws ?? '(off)',
    WEFT_HUB_ANNOUNCE: config.announce.join(',') || '(listen addresses)',
    WEFT_HUB_RELAYS: config.relays.join(',') || '(none)',
    WEFT_HUB_ALLOW_PRIVATE: String(config.allowPrivate),
    WEFT_HUB_SYNC_INTERVAL_MS: config.syncIntervalMs === 0 ? '0 (off)' : String(config.syncIntervalMs),
    WEFT_HUB_REQUIRE_TOKEN: String(config.requireToken),
    WEFT_HUB_TOKEN_TTL_MS: String(config.tokenTtlMs),
    WEFT_HUB_MAX_DELEGATIONS: String(config.maxDelegations),
    WEFT_HUB_ALLOWED_ORIGINS: config.allowedOrigins.join(','),
    WEFT_HUB_MAX_MESSAGE_BYTES: String(config.maxMessageBytes),
    WEFT_HUB_MAX_STREAMS: String(config.maxStreams),
    WEFT_HUB_MAX_CONNECTIONS: String(config.maxConnections),
    WEFT_HUB_IDLE_TIMEOUT_MS: String(config.idleTimeoutMs),
    WEFT_HUB_KEEPALIVE_MS: String(config.keepAliveMs),
    WEFT_HUB_SHUTDOWN_TIMEOUT_MS: String(config.shutdownTimeoutMs),
    DEBUG: config.debug === '' ? '(off)' : config.debug
  }
  return values[name] ?? ''
}

/** One line per variable: name, value in effect, and whether it was set or defaulted. */
export function describeHubConfig(config: HubConfig): string {
  const width = Math.max(...HUB_VARIABLES.map((v) => v.name.length))
  return HUB_VARIABLES.map((v) => `${v.name.padEnd(width)}  ${show(config, v.name)}${config.explicit.includes(v.name) ? '' : '  (default)'}`).join('\n')
}

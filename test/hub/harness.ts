/**
 * Test helpers for the hub: a hub in this process (fast, for the API tests) or as a real process
 * (`node --import tsx hub/main.ts`, parsed from its WEFT_HUB_READY line, stopped by its PID), on
 * free loopback ports and a temporary repo; typed clients of both APIs over each transport (gRPC
 * on HTTP/2, gRPC-Web on HTTP/1.1, grpc-websockets); and GetToken for an Ed25519 identity.
 * `cleanupHubs()` stops and removes everything made here.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConnectError, createClient, type Client, type Transport } from '@connectrpc/connect'
import { createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node'
import { generateKeyPair, identityToString, type PrivateKey } from '../../src/core/identity.js'
import { loadHubConfig } from '../../hub/config.js'
import { startHub, type Hub } from '../../hub/hub.js'
import { API as DBAPI } from '../../hub/gen/threads_pb.js'
import { API as NetAPI } from '../../hub/gen/threadsnet_pb.js'
import { createDBManager, dbNetFromNet, type DBManager } from '../../src/db/index.js'
import { createPeer, type Peer } from '../../src/node/peer.js'
import { createWebSocketTransport } from './ws-transport.js'

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

/** Loopback ports chosen by the OS, private addresses allowed, no interval sync. */
export const TEST_ENV: Record<string, string> = {
  WEFT_HUB_GRPC: '127.0.0.1:0',
  WEFT_HUB_WEB: '127.0.0.1:0',
  WEFT_HUB_HTTP: '127.0.0.1:0',
  WEFT_HUB_TCP: '/ip4/127.0.0.1/tcp/0',
  WEFT_HUB_WS: '',
  WEFT_HUB_ALLOW_PRIVATE: 'true',
  WEFT_HUB_SYNC_INTERVAL_MS: '0'
}

const hubs = new Set<Hub>()
const children = new Set<ChildProcess>()
const dirs = new Set<string>()

export async function tempDir(prefix = 'weft-hub-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.add(dir)
  return dir
}

/** A hub in this process. */
export async function startTestHub(env: Record<string, string> = {}): Promise<Hub> {
  const hub = await startHub(loadHubConfig({ ...TEST_ENV, WEFT_HUB_REPO: await tempDir(), ...env }))
  hubs.add(hub)
  return hub
}

/** A Node peer (memory store) with a DB manager on its own store, as an app beside the hub runs one. */
export async function startNodeDBPeer(syncIntervalMs: number): Promise<{ peer: Peer; manager: DBManager; stop: () => Promise<void> }> {
  const peer = await createPeer({ allowPrivateAddrs: true, syncIntervalMs })
  const manager = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore), kv: peer.kv })
  return { peer, manager, stop: async () => { await manager.close(); await peer.stop() } }
}

export type TransportName = 'grpc' | 'grpc-web' | 'websocket'
export const TRANSPORTS: TransportName[] = ['grpc', 'grpc-web', 'websocket']

export function transportFor(name: TransportName, urls: { grpcUrl: string; webUrl: string }): Transport {
  switch (name) {
    case 'grpc': return createGrpcTransport({ baseUrl: urls.grpcUrl })
    case 'grpc-web': return createGrpcWebTransport({ baseUrl: urls.webUrl, httpVersion: '1.1' })
    case 'websocket': return createWebSocketTransport(urls.webUrl)
  }
}

export interface Clients {
  db: Client<typeof DBAPI>
  net: Client<typeof NetAPI>
}

export function clientsFor(name: TransportName, urls: { grpcUrl: string; webUrl: string }): Clients {
  const t = transportFor(name, urls)
  return { db: createClient(DBAPI, t), net: createClient(NetAPI, t) }
}

/** An instance or query as the JSON bytes the APIs carry, and back. */
export const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))
export const dec = (b: Uint8Array): Record<string, unknown> => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>

/** The gRPC status a call fails with (the test fails if it succeeds). */
export async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p
  } catch (err) {
    return ConnectError.from(err)
  }
  throw new Error('expected the call to fail')
}

/** The async iterable of a few messages (a client stream). */
export async function * messages<T>(...items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i
}

/** GetToken for `key` over a transport that carries bidirectional streams (gRPC, WebSocket). */
export async function getToken(db: Client<typeof DBAPI>, key?: PrivateKey): Promise<{ token: string; identity: string; key: PrivateKey }> {
  const k = key ?? await generateKeyPair()
  const identity = identityToString(k.publicKey)
  let answer: (sig: Uint8Array) => void = () => undefined
  const signature = new Promise<Uint8Array>((r) => { answer = r })
  async function * requests() {
    yield { payload: { case: 'key' as const, value: identity } }
    yield { payload: { case: 'signature' as const, value: await signature } }
  }
  let token = ''
  for await (const reply of db.getToken(requests())) {
    if (reply.payload.case === 'challenge') answer(await k.sign(reply.payload.value))
    if (reply.payload.case === 'token') token = reply.payload.value
  }
  return { token, identity, key: k }
}

export const bearer = (token: string): { headers: Record<string, string> } => ({ headers: { authorization: `bearer ${token}` } })

export interface HubProcess {
  readonly pid: number
  readonly repo: string
  readonly peerId: string
  readonly addrs: string[]
  readonly grpcUrl: string
  readonly webUrl: string
  readonly httpUrl: string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stdout(): string
  stderr(): string
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** How the hub is run: from source through tsx (the default), or a bundle: `['hub.mjs']`. */
export const SOURCE_ENTRY = ['--import', 'tsx', 'hub/main.ts']

function hubEnv(repo: string, env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WEFT_HUB_') && k !== 'DEBUG') base[k] = v
  return { ...base, ...TEST_ENV, WEFT_HUB_REPO: repo, ...env }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig) } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err }
}

/** Run `node --import tsx hub/main.ts` (or `args`) and wait for its READY line. */
export async function startHubProcess(options: { repo?: string; env?: Record<string, string>; timeoutMs?: number; args?: string[] } = {}): Promise<HubProcess> {
  const repo = options.repo ?? await tempDir()
  const child = spawn(process.execPath, options.args ?? SOURCE_ENTRY, { cwd: REPO_ROOT, env: hubEnv(repo, options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const out = { stdout: '', stderr: '' }
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out.stdout += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { out.stderr += s })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    child.once('exit', (code, sig) => { children.delete(child); r({ code, signal: sig }) })
  })
  const timeoutMs = options.timeoutMs ?? 30_000
  const ready = await new Promise<{ peerId: string; addrs: string[]; grpc: string; web: string; http: string }>((resolveReady, reject) => {
    const timer = setTimeout(() => { signal(child.pid!, 'SIGKILL'); reject(new Error(`hub not ready within ${timeoutMs} ms\n${out.stdout}\n${out.stderr}`)) }, timeoutMs)
    const check = (): void => {
      const line = out.stdout.split('\n').find((l) => l.startsWith('WEFT_HUB_READY '))
      if (line === undefined) return
      clearTimeout(timer)
      child.stdout!.off('data', check)
      resolveReady(JSON.parse(line.slice('WEFT_HUB_READY '.length)) as never)
    }
    child.stdout!.on('data', check)
    void exited.then((e) => { clearTimeout(timer); reject(new Error(`hub exited before ready (${e.code}, ${e.signal})\n${out.stdout}\n${out.stderr}`)) })
  })
  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined
  return {
    pid: child.pid!,
    repo,
    peerId: ready.peerId,
    addrs: ready.addrs,
    grpcUrl: ready.grpc,
    webUrl: ready.web,
    httpUrl: ready.http,
    exited,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    stop() {
      stopping ??= (async () => { signal(child.pid!, 'SIGTERM'); return await exited })()
      return stopping
    }
  }
}

/** Run the hub until it exits by itself (bad configuration). */
export async function runHubUntilExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, SOURCE_ENTRY, { cwd: REPO_ROOT, env: hubEnv(await tempDir(), env), stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  const timer = setTimeout(() => { signal(child.pid!, 'SIGKILL') }, timeoutMs)
  const code = await new Promise<number | null>((r) => { child.once('exit', (c) => { children.delete(child); r(c) }) })
  clearTimeout(timer)
  return { code, stdout, stderr }
}

export async function cleanupHubs(): Promise<void> {
  await Promise.all([...hubs].map(async (h) => { await h.stop() }))
  hubs.clear()
  await Promise.all([...children].map(async (child) => {
    const gone = new Promise<void>((r) => { if (child.exitCode !== null || child.signalCode !== null) r(); else child.once('exit', () => { r() }) })
    signal(child.pid!, 'SIGTERM')
    const timer = setTimeout(() => { signal(child.pid!, 'SIGKILL') }, 15_000)
    await gone
    clearTimeout(timer)
  }))
  await Promise.all([...dirs].map(async (d) => { await rm(d, { recursive: true, force: true }) }))
  dirs.clear()
}

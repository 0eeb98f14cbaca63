/**
 * Runs the real relay daemon as a child process (`node --import tsx relay/main.ts` from the repo
 * root) on free loopback ports and a temporary repo, waits for its `WEFT_RELAY_READY` line and
 * stops it by its PID. Every process and directory made here is cleaned up by `cleanupRelays()`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { get } from 'node:http'
import { until as pollUntil } from '../helpers/until.js'

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface RelayProcess {
  readonly pid: number
  readonly repo: string
  readonly peerId: string
  /** Every address from the READY line (ending in /p2p/<peerId>). */
  readonly addrs: string[]
  /** The TCP address (for Node peers). */
  readonly tcpAddr: string
  /** The WebSocket address. */
  readonly wsAddr: string
  /** `http://127.0.0.1:<port>` */
  readonly http: string
  readonly exited: Promise<Exit>
  stdout(): string
  stderr(): string
  /** SIGTERM by PID; resolves with the exit and how long it took. */
  stop(): Promise<Exit & { ms: number }>
}

const live = new Set<ChildProcess>()
const dirs = new Set<string>()

/** A fresh temporary directory, removed by `cleanupRelays()`. */
export async function tempDir(prefix = 'weft-relay-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.add(dir)
  return dir
}

/** The environment of a test relay: the caller's, minus any relay settings, plus loopback ports. */
export function relayEnv(repo: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('WEFT_RELAY_') || k === 'DEBUG') continue
    base[k] = v
  }
  return {
    ...base,
    WEFT_RELAY_REPO: repo,
    WEFT_RELAY_TCP: '/ip4/127.0.0.1/tcp/0',
    WEFT_RELAY_WS: '/ip4/127.0.0.1/tcp/0/ws',
    WEFT_RELAY_HTTP: '127.0.0.1:0',
    WEFT_RELAY_ALLOW_PRIVATE: 'true',
    // Every test peer dials from 127.0.0.1: lift libp2p's 5 connections/s per IP.
    WEFT_RELAY_CONN_RATE: '1000',
    ...env
  }
}

/** How the relay is run: from source through tsx (the default), or e.g. a bundle: `['relay.mjs']`. */
export const SOURCE_ENTRY = ['--import', 'tsx', 'relay/main.ts']

function spawnRelay(env: NodeJS.ProcessEnv, args = SOURCE_ENTRY): { child: ChildProcess; out: { stdout: string; stderr: string }; exited: Promise<Exit> } {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  const out = { stdout: '', stderr: '' }
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out.stdout += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { out.stderr += s })
  const exited = new Promise<Exit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      live.delete(child)
      resolveExit({ code, signal })
    })
  })
  return { child, out, exited }
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/** Start a relay (a new temporary repo unless `repo` is given) and wait for its READY line. */
export async function startRelayProcess(options: { repo?: string; env?: Record<string, string>; readyTimeoutMs?: number; args?: string[] } = {}): Promise<RelayProcess> {
  const repo = options.repo ?? await tempDir()
  const { child, out, exited } = spawnRelay(relayEnv(repo, options.env), options.args)
  const pid = child.pid!
  const timeoutMs = options.readyTimeoutMs ?? 30_000

  const ready = await new Promise<{ peerId: string; addrs: string[]; http: string }>((resolveReady, reject) => {
    let buffered = ''
    const timer = setTimeout(() => {
      cleanup()
      sendSignal(pid, 'SIGKILL')
      reject(new Error(`relay not ready within ${timeoutMs} ms\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`))
    }, timeoutMs)
    const onData = (s: string): void => {
      buffered += s
      const line = buffered.split('\n').find((l) => l.startsWith('WEFT_RELAY_READY '))
      if (line == null) return
      cleanup()
      resolveReady(JSON.parse(line.slice('WEFT_RELAY_READY '.length)) as { peerId: string; addrs: string[]; http: string })
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup()
      reject(new Error(`relay exited before ready (code ${code}, signal ${signal})\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`))
    }
    function cleanup(): void {
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      child.off('exit', onExit)
    }
    child.stdout!.on('data', onData)
    child.once('exit', onExit)
  })

  const tcpAddr = ready.addrs.find((a) => a.includes('/tcp/') && !a.includes('/ws'))
  const wsAddr = ready.addrs.find((a) => a.includes('/ws/'))
  if (tcpAddr == null || wsAddr == null) throw new Error(`relay lacks a tcp or ws address: ${ready.addrs.join(' ')}`)
  let stopping: Promise<Exit & { ms: number }> | undefined
  return {
    pid,
    repo,
    peerId: ready.peerId,
    addrs: ready.addrs,
    tcpAddr,
    wsAddr,
    http: ready.http,
    exited,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    stop() {
      stopping ??= (async () => {
        const t0 = Date.now()
        sendSignal(pid, 'SIGTERM')
        const exit = await exited
        return { ...exit, ms: Date.now() - t0 }
      })()
      return stopping
    }
  }
}

/** Run the relay until it exits by itself (bad configuration), with a deadline. */
export async function runRelayUntilExit(env: Record<string, string>, timeoutMs = 30_000): Promise<Exit & { stdout: string; stderr: string }> {
  const repo = await tempDir()
  const { child, out, exited } = spawnRelay(relayEnv(repo, env))
  const timer = setTimeout(() => { sendSignal(child.pid!, 'SIGKILL') }, timeoutMs)
  const exit = await exited
  clearTimeout(timer)
  return { ...exit, ...out }
}

/** Stop every relay still running (SIGTERM, then SIGKILL past a deadline) and remove temp dirs. */
export async function cleanupRelays(): Promise<void> {
  await Promise.all([...live].map(async (child) => {
    const gone = new Promise<void>((r) => { if (child.exitCode != null || child.signalCode != null) r(); else child.once('exit', () => { r() }) })
    sendSignal(child.pid!, 'SIGTERM')
    const timer = setTimeout(() => { sendSignal(child.pid!, 'SIGKILL') }, 15_000)
    await gone
    clearTimeout(timer)
  }))
  await Promise.all([...dirs].map(async (d) => { await rm(d, { recursive: true, force: true }) }))
  dirs.clear()
}

/** Poll `condition` every 50 ms until it holds, failing after `timeoutMs`. */
export async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  await pollUntil(condition, what, timeoutMs, 50)
}

/** One GET on a fresh socket (no keep-alive pool); resolves with the status or rejects past the deadline. */
export async function probe(url: string, timeoutMs = 2_000): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume()
      res.once('end', () => { resolve(res.statusCode ?? 0) })
    })
    req.once('timeout', () => { req.destroy(new Error(`no answer within ${timeoutMs} ms`)) })
    req.once('error', reject)
  })
}

/** The value of an unlabelled metric in a Prometheus text exposition. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line == null ? undefined : Number(line.slice(name.length + 1))
}

export async function scrape(relay: RelayProcess): Promise<string> {
  const res = await fetch(`${relay.http}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  return await res.text()
}

/** The values of a labelled metric in a Prometheus text exposition, by the value of `label`. */
export function metricByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {}
  const re = new RegExp(`^${name}\\{(.*)\\} (\\S+)$`)
  for (const line of text.split('\n')) {
    const m = re.exec(line)
    if (m == null) continue
    const value = new RegExp(`(?:^|,)${label}="([^"]*)"`).exec(m[1]!)?.[1]
    if (value != null) out[value] = Number(m[2])
  }
  return out
}

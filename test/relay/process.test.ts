/**
 * `npm run relay` and `npm start` as an operator runs them: a SIGTERM or SIGINT sent to the npm
 * process itself stops everything it started (the relay included) and frees every port, and a
 * second instance on the same ports says that another Weft instance runs instead of failing
 * obscurely (and `npm start` says so before building anything).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { REPO_ROOT, cleanupRelays, relayEnv, startRelayProcess, tempDir, type Exit } from './harness.js'

const started = new Set<ChildProcess>()

afterEach(async () => {
  for (const child of started) {
    if (child.exitCode == null && child.signalCode == null) child.kill('SIGKILL')
  }
  started.clear()
  await cleanupRelays()
})

/** Ports that were free a moment ago (bound to port 0, then released). */
async function freePorts(count: number): Promise<number[]> {
  const out: number[] = []
  while (out.length < count) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer()
      s.once('error', reject)
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => { resolve(p) })
      })
    })
    if (!out.includes(port)) out.push(port)
  }
  return out
}

async function portFree(port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const s = createServer()
    s.once('error', () => { resolve(false) })
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => { s.close(() => { resolve(true) }) })
  })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

interface Npm {
  child: ChildProcess
  out: { text: string }
  exited: Promise<Exit>
  /** Resolves when stdout (or stderr) shows `marker`; rejects if npm exits first. */
  waitFor(marker: string, timeoutMs?: number): Promise<void>
}

function npm(args: string[], env: NodeJS.ProcessEnv): Npm {
  const child = spawn('npm', args, { cwd: REPO_ROOT, env: { ...env, npm_config_update_notifier: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] })
  started.add(child)
  const out = { text: '' }
  const listeners = new Set<() => void>()
  const onData = (s: string): void => {
    out.text += s
    for (const l of listeners) l()
  }
  child.stdout!.setEncoding('utf8').on('data', onData)
  child.stderr!.setEncoding('utf8').on('data', onData)
  const exited = new Promise<Exit>((resolve) => { child.once('exit', (code, signal) => { resolve({ code, signal }) }) })
  return {
    child,
    out,
    exited,
    async waitFor(marker, timeoutMs = 90_000) {
      await new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!out.text.includes(marker)) return
          done()
          resolve()
        }
        const timer = setTimeout(() => { done(); reject(new Error(`no "${marker}" within ${timeoutMs} ms:\n${out.text}`)) }, timeoutMs)
        void exited.then((e) => { done(); reject(new Error(`npm exited (${e.code}, ${e.signal}) before "${marker}":\n${out.text}`)) })
        function done(): void {
          clearTimeout(timer)
          listeners.delete(check)
        }
        listeners.add(check)
        check()
      })
    }
  }
}

/** The relay's environment on fixed loopback ports [tcp, ws, http]. */
async function envOnPorts(ports: number[], extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  const [tcp, ws, http] = ports as [number, number, number]
  return relayEnv(await tempDir(), {
    WEFT_RELAY_TCP: `/ip4/127.0.0.1/tcp/${tcp}`,
    WEFT_RELAY_WS: `/ip4/127.0.0.1/tcp/${ws}/ws`,
    WEFT_RELAY_HTTP: `127.0.0.1:${http}`,
    ...extra
  })
}

async function relayPid(httpPort: number): Promise<number> {
  const health = await (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).json() as { pid: number }
  return health.pid
}

describe('npm run relay and npm start as processes', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`npm run relay stops on ${signal} sent to npm and frees its ports`, async () => {
      const ports = await freePorts(3)
      const run = npm(['run', 'relay'], await envOnPorts(ports))
      await run.waitFor('WEFT_RELAY_READY')
      const pid = await relayPid(ports[2]!)
      run.child.kill(signal)
      expect((await run.exited).code).toBe(0)
      expect(run.out.text).toContain('weft-relay: stopped')
      expect(alive(pid)).toBe(false)
      for (const p of ports) expect(await portFree(p), `port ${p}`).toBe(true)
    }, 120_000)

    it(`npm start stops with its relay on ${signal} sent to npm and frees its ports`, async () => {
      const ports = await freePorts(4)
      const run = npm(['start'], await envOnPorts(ports, { WEFT_APP_PORT: String(ports[3]), WEFT_APP_BUILD: 'false' }))
      await run.waitFor(`http://127.0.0.1:${ports[3]}/`)
      const pid = await relayPid(ports[2]!)
      run.child.kill(signal)
      await run.exited
      expect(run.out.text).toContain('Stopped')
      expect(alive(pid)).toBe(false)
      for (const p of ports) expect(await portFree(p), `port ${p}`).toBe(true)
    }, 120_000)
  }

  it('a second npm run relay on the same ports says another Weft relay runs and exits 1', async () => {
    const ports = await freePorts(3)
    const env = await envOnPorts(ports)
    const first = await startRelayProcess({ repo: env.WEFT_RELAY_REPO!, env: { WEFT_RELAY_TCP: env.WEFT_RELAY_TCP!, WEFT_RELAY_WS: env.WEFT_RELAY_WS!, WEFT_RELAY_HTTP: env.WEFT_RELAY_HTTP! } })
    const second = npm(['run', 'relay'], { ...env, WEFT_RELAY_REPO: await tempDir() })
    expect((await second.exited).code).toBe(1)
    expect(second.out.text).toContain(`another Weft relay (peer ${first.peerId}, pid ${first.pid}) is already running`)
    expect(second.out.text).toContain(`kill -TERM ${first.pid}`)
  }, 120_000)

  it('a second npm start says another Weft instance runs, before building anything', async () => {
    const ports = await freePorts(3)
    const env = await envOnPorts(ports)
    const first = await startRelayProcess({ repo: env.WEFT_RELAY_REPO!, env: { WEFT_RELAY_TCP: env.WEFT_RELAY_TCP!, WEFT_RELAY_WS: env.WEFT_RELAY_WS!, WEFT_RELAY_HTTP: env.WEFT_RELAY_HTTP! } })
    const second = npm(['start'], { ...env, WEFT_APP_PORT: '0' })
    expect((await second.exited).code).toBe(1)
    expect(second.out.text).toContain(`another Weft instance is running: a Weft relay (peer ${first.peerId}, pid ${first.pid})`)
    expect(second.out.text).not.toContain('Building the app')
    expect(second.out.text).not.toContain('EADDRINUSE')
  }, 120_000)
})

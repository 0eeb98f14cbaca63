/**
 * Runs the crash tests' child (test/crash/fixtures/commit-child.ts) as a real process: bundled
 * once with esbuild (a child started through tsx takes seconds; a bundle a fraction of that),
 * started with `node`, killed by its own hook or by the test with SIGKILL.
 */
import { spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer } from '../../src/node/peer.js'
import { createDBManager, dbNetFromNet } from '../../src/db/index.js'
import { bundleDaemon } from '../helpers/daemon-bundle.js'
import { REPO_ROOT } from '../relay/harness.js'
import { COLLECTION, MAX_EVENT_BYTES } from './workload.js'

export interface ChildRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface Harness {
  /** A scratch directory of the test file (removed by `cleanup`). */
  dir: string
  /** A repo holding a DB with the workload's collection and no documents. */
  base: string
  dbID: string
  /** A fresh copy of the base repo, under `dir`. */
  copyBase(name: string): Promise<string>
  /**
   * Run the child with `args` (after the bundle); with `killAfterMs`, SIGKILL it (by its PID) that
   * long after it printed `ready` (`killFrom: 'spawn'`: after it was started, so the kill may land
   * while it opens the store and catches up).
   */
  run(args: string[], options?: { killAfterMs?: number; killFrom?: 'ready' | 'spawn'; timeoutMs?: number }): Promise<ChildRun>
  cleanup(): Promise<void>
}

export async function startHarness(name: string): Promise<Harness> {
  // Inside node_modules so that the bundle's bare imports resolve against the repo's packages.
  const out = join(REPO_ROOT, 'node_modules', '.cache', `weft-crash-${name}-${process.pid}`)
  await mkdir(out, { recursive: true })
  const bundle = join(out, 'commit-child.mjs')
  const built = bundleDaemon(REPO_ROOT, 'test/crash/fixtures/commit-child.ts', bundle)
  if (built.status !== 0) throw new Error(`esbuild failed: ${built.stderr}`)
  const dir = await mkdtemp(join(tmpdir(), `weft-crash-${name}-`))
  const base = join(dir, 'base')
  const peer = await createPeer({ repo: base, allowPrivateAddrs: true, syncIntervalMs: 0 })
  let dbID: string
  try {
    const manager = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore), kv: peer.kv, maxEventBytes: MAX_EVENT_BYTES })
    dbID = (await manager.newDB(undefined, { name: 'crash', collections: [COLLECTION] })).id
    await manager.close()
  } finally {
    await peer.stop()
  }
  return {
    dir,
    base,
    dbID,
    async copyBase(copy) {
      const to = join(dir, copy)
      await rm(to, { recursive: true, force: true })
      await cp(base, to, { recursive: true })
      return to
    },
    async run(args, options = {}) {
      const child = spawn(process.execPath, [bundle, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      let killer: NodeJS.Timeout | undefined
      const arm = (ms: number): void => { killer = setTimeout(() => { child.kill('SIGKILL') }, ms) }
      if (options.killAfterMs !== undefined && options.killFrom === 'spawn') arm(options.killAfterMs)
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        stdout += s
        if (options.killAfterMs !== undefined && killer === undefined && stdout.includes('ready\n')) arm(options.killAfterMs)
      })
      child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
      const guard = setTimeout(() => { child.kill('SIGKILL') }, options.timeoutMs ?? 30_000)
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
        child.once('exit', (c, s) => { resolve([c, s]) })
      })
      clearTimeout(guard)
      if (killer !== undefined) clearTimeout(killer)
      // The last chunks of output arrive after 'exit' at times: wait for the pipes to end.
      await Promise.all([child.stdout, child.stderr].map(async (s) => await new Promise<void>((resolve) => {
        if (s.readableEnded) resolve()
        else s.once('end', () => { resolve() })
      })))
      return { code, signal, stdout, stderr }
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true })
      await rm(out, { recursive: true, force: true })
    }
  }
}

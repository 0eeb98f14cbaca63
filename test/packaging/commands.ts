/**
 * Commands of the packaging tests: run one to its end, or start a long-running one (a dev
 * server, the relay) in its own process group and stop it by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

export interface Ran { code: number | null; stdout: string; stderr: string }

/** Runs a command to its end; rejects with its output when it fails. */
export async function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  const out = { stdout: '', stderr: '' }
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out.stdout += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => { out.stderr += s })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, options.timeoutMs ?? 180_000)
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail)
    child.once('exit', (c) => { done(c) })
  }).finally(() => { clearTimeout(timer) })
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${options.cwd}) exited with ${code}\n${out.stdout}\n${out.stderr}`)
  return { code, ...out }
}

export interface Started { readonly line: string; readonly output: () => string; stop(): Promise<void> }

/**
 * Starts a long-running process in its own process group and resolves once a line of its output
 * matches `ready`; `stop()` sends SIGTERM to the group by PID and waits for the exit.
 */
export async function start(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number }): Promise<Started> {
  const child: ChildProcess = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let output = ''
  const exited = new Promise<void>((done) => { child.once('exit', () => { done() }) })
  const stop = async (): Promise<void> => {
    if (child.exitCode == null && child.signalCode == null && child.pid != null) {
      try { process.kill(-child.pid, 'SIGTERM') } catch { /* already gone */ }
    }
    await exited
  }
  const line = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => { fail(new Error(`${cmd} ${args.join(' ')} did not get ready in time:\n${output}`)) }, options.timeoutMs ?? 60_000)
    const onData = (s: string): void => {
      output += s
      // eslint-disable-next-line no-control-regex
      const plain = output.replace(/\u001b\[[0-9;]*m/g, '')
      const m = plain.split('\n').find((l) => options.ready.test(l))
      if (m != null) { clearTimeout(timer); done(m) }
    }
    child.stdout!.setEncoding('utf8').on('data', onData)
    child.stderr!.setEncoding('utf8').on('data', onData)
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`${cmd} exited (${code}) before it was ready:\n${output}`)) })
  }).catch(async (err: unknown) => { await stop(); throw err })
  return { line, output: () => output, stop }
}

/**
 * A Node process that embeds Weft carries the WebSocket transport. A WebSocket dial that is
 * aborted (a deadline, the peer stopping) or that meets a hostile server must fail the dial, close
 * its socket and leave the process running: `ws` is an EventEmitter in Node, and an 'error' event
 * nobody listens to ends the process. Each case runs in its own process
 * (test/node/fixtures/websocket-dial.ts), because a crash is what is tested. The fix is the patch
 * of @libp2p/websockets in patches/, applied on install; programs that install the published
 * packages (unpatched transport) are kept alive by the guard in src/platform/node-polyfills.ts.
 */
import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { REPO_ROOT } from '../relay/harness.js'

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

async function runScenario(scenario: string): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/node/fixtures/websocket-dial.ts', scenario], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 50_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('exit', (c, s) => { resolve([c, s]) })
  })
  clearTimeout(timer)
  return { code, signal, stdout, stderr }
}

function expectSurvived(run: Run): void {
  expect(run.stderr).not.toContain("Unhandled 'error' event")
  expect(run.stdout).toContain('SCENARIO_DONE')
  expect({ code: run.code, signal: run.signal }, run.stderr).toEqual({ code: 0, signal: null })
}

describe('WebSocket dials in Node', () => {
  it('a dial aborted by its deadline fails, and the process survives the server resetting the socket afterwards', async () => {
    const run = await runScenario('aborted-then-reset')
    expectSurvived(run)
    expect(run.stdout).toContain('dial failed: TimeoutError')
  }, 60_000)

  it('a peer that stops during a WebSocket dial survives the server going away afterwards', async () => {
    const run = await runScenario('stopped-during-dial')
    expectSurvived(run)
    expect(run.stdout).toContain('dial failed: AbortError')
  }, 60_000)

  it('a dial to a WebSocket port where nothing listens fails without crashing', async () => {
    expectSurvived(await runScenario('refused'))
  }, 60_000)

  it('a dial whose upgrade is aborted closes its WebSocket instead of leaving it open', async () => {
    const run = await runScenario('aborted-upgrade')
    expectSurvived(run)
    expect(run.stdout).toContain('dial failed: TimeoutError')
  }, 60_000)

  it('a hostile server sending an invalid frame fails the dial without crashing the dialer', async () => {
    expectSurvived(await runScenario('bad-frame'))
  }, 60_000)

  it('a WebSocket error nobody listens to (the transport as published, without our patch) does not end the process', async () => {
    const run = await runScenario('unheard-error')
    expectSurvived(run)
    expect(run.stdout).toContain('unheard error listeners: 0')
    expect(run.stderr).toContain('WEFT_WS_UNHEARD_ERROR')
  }, 60_000)

  it('a hostile client sending an invalid frame to a WebSocket listener does not crash the listener', async () => {
    expectSurvived(await runScenario('bad-frame-inbound'))
  }, 60_000)
})

/**
 * A Node peer on LevelDB killed (SIGKILL, a real process) at every write of a commit, and at
 * random moments, reopens with every acknowledged transaction whole and none partial, in the
 * state its log folds to, with indexes that agree with its documents, and commits again.
 *
 * The child (fixtures/commit-child.ts) counts every write it hands the store — the log store's
 * and the DB's, which share one LevelDB — and kills itself at write number `step`, before the
 * write reaches LevelDB or after LevelDB applied it but before the caller saw it. Steps are
 * enumerated until the workload finishes unkilled, so the test follows however many writes a
 * commit takes. What is checked after each kill: check.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rm } from 'node:fs/promises'
import { verifyRepo, parseOutput } from './check.js'
import { startHarness, type ChildRun, type Harness } from './harness.js'
import { CYCLE, round, type Doc } from './workload.js'

let h: Harness

beforeAll(async () => { h = await startHarness('commit') }, 60_000)
afterAll(async () => { await h.cleanup() })

function explain(run: ChildRun): string {
  return `exit ${run.code} ${run.signal}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`
}

describe('a Node peer on LevelDB killed during commits', () => {
  it('a peer killed at any step of a commit reopens with every acknowledged transaction whole and none partial', async () => {
    const rounds = CYCLE
    const steps: Record<string, number> = {}
    // The two enumerations run side by side: each child is mostly process start-up.
    await Promise.all((['before', 'after'] as const).map(async (when) => {
      for (let step = 1; ; step++) {
        const repo = await h.copyBase(`${when}-${step}`)
        const run = await h.run([repo, h.dbID, when, String(step), 'k', String(rounds)])
        const output = parseOutput(run.stdout)
        if (output.done !== undefined) {
          expect(run.code, explain(run)).toBe(0)
          expect(step, 'the workload ends after its last write').toBeGreaterThan(output.done)
          expect(output.acks.size, 'every transaction was acknowledged').toBe(Array.from({ length: rounds }, (_, i) => round('k', i).length).reduce((a, b) => a + b, 0))
          steps[when] = output.done
          await rm(repo, { recursive: true, force: true })
          break
        }
        expect(run.signal, explain(run)).toBe('SIGKILL')
        expect(output.killed, explain(run)).toEqual({ step, when })
        await verifyRepo({ repo, dbID: h.dbID, base: new Map(), prefix: 'k', rounds, output, label: `killed ${when} write ${step}` })
        await rm(repo, { recursive: true, force: true })
      }
    }))
    // Both enumerations went through the whole workload: at least one write per round (how many
    // depends on how the commits were grouped, and on how many writes a commit takes).
    expect(steps.before).toBeGreaterThanOrEqual(rounds)
    expect(steps.after).toBeGreaterThanOrEqual(rounds)
  }, 240_000)

  it('a peer killed at a random moment while it writes reopens with every acknowledged transaction whole, again and again', async () => {
    const repo = await h.copyBase('random')
    let base = new Map<string, Doc>()
    for (let k = 0; k < 4; k++) {
      // Every other kill counts from the start of the process: it may land while the peer opens
      // the store and applies what the kill before left in the log.
      const from = k % 2 === 0 ? 'ready' as const : 'spawn' as const
      const delay = from === 'spawn' ? 300 + Math.floor(Math.random() * 2_000) : 100 + Math.floor(Math.random() * 900)
      const prefix = `r${k}-`
      const run = await h.run([repo, h.dbID, 'never', '0', prefix, 'inf'], { killAfterMs: delay, killFrom: from })
      const output = parseOutput(run.stdout)
      expect(run.signal, explain(run)).toBe('SIGKILL')
      if (from === 'ready') expect(output.ready, explain(run)).toBe(true)
      base = await verifyRepo({ repo, dbID: h.dbID, base, prefix, rounds: Infinity, output, label: `killed ${delay} ms after ${from === 'ready' ? 'it was ready' : 'it started'} in run ${k}, after ${output.acks.size} acknowledgements` })
    }
  }, 120_000)
})

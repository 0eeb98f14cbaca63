/**
 * The simulated network, seed by seed (scenario.ts): after everything heals, every peer holds the
 * same heads within the bound, every record written is everywhere (a forked log's up to its fork,
 * frozen at the same counter everywhere), and no honest peer ever penalised another — also on the
 * seeds with a Byzantine member. A failing seed is listed with the command that replays it:
 *
 *   WEFT_SIM_SEED=<seed> npx vitest run test/sim/liveness.test.ts     # that seed only
 *   npx tsx test/sim/run.ts <seed>                                    # that seed, with a trace
 *   WEFT_SIM_SEEDS=2000 npx vitest run test/sim/liveness.test.ts      # more seeds
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { CONVERGENCE_BOUND_MS, runSeed, type Outcome } from './scenario.js'

const only = process.env.WEFT_SIM_SEED
const count = Number(process.env.WEFT_SIM_SEEDS ?? 500)
const first = Number(process.env.WEFT_SIM_FIRST ?? 1)
const seeds = only != null ? [Number(only)] : Array.from({ length: count }, (_, i) => i + first)
const outcomes: Outcome[] = []

/** Errors a sync may end with on an honest network that drops, loses and partitions. */
const NETWORK_ERRORS = new Set(['SessionClosedError', 'PeerUnreachableError', 'TimeoutError', 'NotStartedError', 'AbortError', 'RemoteError', 'GapError'])

function replay(o: Outcome, why: string): string {
  return `seed ${o.seed}: ${why}\n  replay: WEFT_SIM_SEED=${o.seed} npx vitest run test/sim/liveness.test.ts  (trace: npx tsx test/sim/run.ts ${o.seed})\n  heads:\n    ${o.heads.join('\n    ')}`
}

beforeAll(async () => {
  for (const seed of seeds) outcomes.push(await runSeed(seed))
  const times = outcomes.map((o) => o.convergedAfterMs ?? Infinity).sort((a, b) => a - b)
  const lost = outcomes.reduce((n, o) => n + o.framesLost, 0)
  const sent = outcomes.reduce((n, o) => n + o.framesSent, 0)
  process.stdout.write(`[sim] ${outcomes.length} seeds (${outcomes.filter((o) => o.scenario.byzantine !== undefined).length} with a Byzantine member), ${outcomes.reduce((n, o) => n + o.records, 0)} records, ` +
    `${sent} frames (${lost} lost); convergence after healing: median ${times[Math.floor(times.length / 2)]} ms, max ${times.at(-1)} ms (bound ${CONVERGENCE_BOUND_MS} ms)\n`)
}, 900_000)

describe('a seeded simulation of peers on a faulty network', () => {
  it('runs every seed to the end', () => {
    const failed = outcomes.filter((o) => o.failure != null).map((o) => replay(o, `the scenario failed: ${o.failure}`))
    expect(outcomes).toHaveLength(seeds.length)
    expect(failed, failed.join('\n')).toEqual([])
  })

  it('every pair of peers that can reach each other converges within 7 minutes of virtual time after the network heals', () => {
    const slow = outcomes.filter((o) => o.failure == null && (o.convergedAfterMs == null || o.convergedAfterMs > CONVERGENCE_BOUND_MS))
      .map((o) => replay(o, 'did not converge within the bound'))
    expect(slow, slow.join('\n')).toEqual([])
  })

  it('holds every record written on every peer at the end', () => {
    const missing = outcomes.filter((o) => o.failure == null).filter((o) => {
      const counts = o.heads.map((h) => h.split(' ').reduce((n, part) => n + Number(part.split(':')[1] ?? 0), 0))
      return o.expected < 0 || counts.some((c) => c !== o.expected)
    }).map((o) => replay(o, `some peer lacks records (written: ${o.records}, expected after forks: ${o.expected})`))
    expect(missing, missing.join('\n')).toEqual([])
  })

  it('no honest peer is ever banned across the simulated seeds', () => {
    const penalised = outcomes.filter((o) => o.penalties.length > 0 || (o.scenario.byzantine === undefined && (o.bans > 0 || o.strikes > 0 || o.rejected > 0)))
      .map((o) => replay(o, `${o.bans} bans, ${o.strikes} strikes, ${o.rejected} rejected: ${o.penalties.join('; ')}`))
    expect(penalised, penalised.join('\n')).toEqual([])
    const odd = outcomes.filter((o) => o.errors.some((e) => !NETWORK_ERRORS.has(e)))
      .map((o) => replay(o, `unexpected errors: ${o.errors.join(', ')}`))
    expect(odd, odd.join('\n')).toEqual([])
  })
})

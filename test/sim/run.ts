/**
 * Replay simulated seeds from the command line, with a trace of what happened:
 *
 *   npx tsx test/sim/run.ts 42            # one seed, verbose
 *   npx tsx test/sim/run.ts 1 100         # seeds 1..100, one line each
 */
import '../../src/platform/node-polyfills.js'
import { runSeed } from './scenario.js'

const first = Number(process.argv[2] ?? 1)
const last = Number(process.argv[3] ?? first)
const t0 = performance.now()
for (let seed = first; seed <= last; seed++) {
  const s0 = performance.now()
  const o = await runSeed(seed, { verbose: first === last })
  const ms = Math.round(performance.now() - s0)
  process.stdout.write(`seed ${seed}: ${o.failure ?? (o.convergedAfterMs != null ? `converged after ${o.convergedAfterMs} ms` : 'NOT CONVERGED')}, ` +
    `${o.records} records (${o.expected} kept)${o.scenario.byzantine !== undefined ? `, Byzantine p${o.scenario.byzantine} struck ${o.byzantineStrikes}×` : ''}, ` +
    `strikes ${o.strikes}, bans ${o.bans}, honest penalised [${o.penalties.join('; ')}], errors [${o.errors.join(', ')}], ${o.framesSent} frames (${o.framesLost} lost), ${ms} ms real\n`)
  if (o.convergedAfterMs == null || o.failure != null) process.stdout.write(`  heads:\n    ${o.heads.join('\n    ')}\n`)
}
process.stdout.write(`total ${Math.round(performance.now() - t0)} ms\n`)

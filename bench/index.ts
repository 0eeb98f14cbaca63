/**
 * `npm run bench -- <suite> [--runs N]`: runs a benchmark suite and prints one JSON object per
 * line: {"suite","metric","value","unit"} — each value the median of N runs (default 5).
 * Suites: core, net, db, browser, hub (see docs/BENCHMARKS.md).
 */
import '../src/platform/node-polyfills.js'

export interface Metric { metric: string; value: number; unit: string }
export type Suite = (runs: number) => Promise<Metric[]>

const suites: Record<string, () => Promise<Suite>> = {
  core: async () => (await import('./core.js')).default,
  net: async () => (await import('./net.js')).default,
  browser: async () => (await import('./browser.js')).default,
  db: async () => (await import('./db.js')).default,
  hub: async () => (await import('./hub.js')).default
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const runsAt = args.indexOf('--runs')
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5
  const names = args.filter((a, i) => !a.startsWith('--') && (runsAt < 0 || i !== runsAt + 1))
  if (names.length === 0 || names.some((n) => suites[n] == null)) {
    console.error(`usage: npm run bench -- <${Object.keys(suites).join('|')}> [--runs N]`)
    process.exit(2)
  }
  for (const name of names) {
    const suite = await suites[name]!()
    for (const m of await suite(runs)) {
      console.log(JSON.stringify({ suite: name, metric: m.metric, value: m.value, unit: m.unit }))
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1) })
}

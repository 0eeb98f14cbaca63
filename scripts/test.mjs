// `npm test`: every check and every test, in order, with one summary at the end.
//   1. Chromium for the browser tests (installed when missing and root, else a clear message)
//   2. type-check (tsc)          3. lint (eslint)
//   4. unit and Node tests (vitest)   5. browser and e2e tests (Playwright on Debian Chromium)
//   6. packaging tests (test/packaging: build and pack the packages, install them into outside
//      projects — a Vite app, a webpack app, a Node program — and run them)
// Exits non-zero if any step fails. The last line is "N passed, M failed".
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureChromium } from './ensure-chromium.mjs'

const started = Date.now()
const results = []
const work = mkdtempSync(join(tmpdir(), 'weft-test-'))

function step(name, cmd, args, env = {}) {
  const t0 = Date.now()
  console.log(`\n[test] ── ${name}: ${cmd} ${args.join(' ')}`)
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } })
  const ok = r.status === 0
  results.push({ name, ok, seconds: (Date.now() - t0) / 1000 })
  return ok
}

let chromium
try {
  chromium = ensureChromium()
} catch (err) {
  console.error(`[test] ${err.message}`)
  process.exit(1)
}

const vitestJson = join(work, 'vitest.json')
const playwrightJson = join(work, 'playwright.json')
const packagingJson = join(work, 'packaging.json')
step('type-check', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json'])
step('README examples', 'node', ['scripts/readme-examples.mjs'])
step('lint', 'npx', ['eslint', '.', '--max-warnings', '0'])
step('unit and node tests', 'npx', ['vitest', 'run'], { WEFT_VITEST_JSON: vitestJson })
step('browser tests', 'npx', ['playwright', 'test'], { WEFT_PLAYWRIGHT_JSON: playwrightJson, CHROMIUM_PATH: chromium })
step('packaging tests', 'npx', ['vitest', 'run', '-c', 'test/packaging/vitest.config.ts'], { WEFT_VITEST_JSON: packagingJson, CHROMIUM_PATH: chromium })

let passed = 0
let failed = 0
let skipped = 0
for (const [name, file] of [['vitest', vitestJson], ['packaging', packagingJson]]) {
  if (!existsSync(file)) continue
  const v = JSON.parse(readFileSync(file, 'utf8'))
  passed += v.numPassedTests ?? 0
  failed += (v.numFailedTests ?? 0)
  skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0)
  console.log(`[test] ${name}: ${v.numPassedTests} passed, ${v.numFailedTests} failed of ${v.numTotalTests}`)
}
if (existsSync(playwrightJson)) {
  const p = JSON.parse(readFileSync(playwrightJson, 'utf8'))
  const s = p.stats ?? {}
  passed += s.expected ?? 0
  failed += (s.unexpected ?? 0) + (s.flaky ?? 0)
  skipped += s.skipped ?? 0
  console.log(`[test] playwright: ${s.expected ?? 0} passed, ${(s.unexpected ?? 0) + (s.flaky ?? 0)} failed, ${s.skipped ?? 0} skipped`)
}
rmSync(work, { recursive: true, force: true })

console.log('\n[test] summary')
for (const r of results) console.log(`[test]   ${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.seconds.toFixed(1)} s)`)
console.log(`[test] total time ${((Date.now() - started) / 1000).toFixed(1)} s`)
const stepFailures = results.filter((r) => !r.ok).length
if (stepFailures > 0 && failed === 0) failed = stepFailures
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`)
process.exit(results.every((r) => r.ok) ? 0 : 1)

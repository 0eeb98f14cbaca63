/**
 * A CPU profile of the SharedWorker while a tab writes (the creates of bench/browser.ts's
 * `writes`, one instance a transaction, 1 or 100 in flight):
 *   npx tsx bench/browser-profile.ts [single|concurrent] [--build] [--no-profile] [--out f.cpuprofile]
 * Environment: N (creates; 500 single, 2000 concurrent), INTERVAL_US (sampling interval, 200),
 * FINDS=1 (then time the finds of read_while_txn_open), BY_PID=1 (CPU per process, not per type).
 *
 * Serves the test page from Vite's dev server (each source file its own URL, names kept, so the
 * samples say which file they fall in), or with `--build` the production build bench/browser.ts
 * measures (minified: its split by source means little, its CPU figures are the ones to compare).
 * Attaches to the shared_worker target over CDP (Playwright has no SharedWorker API) and runs the
 * V8 sampling profiler there. Prints the wall-clock rate; the CPU time of Chromium's processes
 * per transaction (the tab and the worker's renderer; the browser process, where IndexedDB does
 * its work), which the machine's load inflates far less than the rate; the worker's IndexedDB
 * transactions and requests per create; then the worker's time per transaction split by stage
 * (idle: waiting on IndexedDB, WebCrypto or the tab), by source file or package, and the top
 * functions by self time. The `.cpuprofile` written with `--out` opens in Chromium's DevTools.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, createServer, preview } from 'vite'
import { chromium } from '@playwright/test'
import { PEOPLE } from './fixtures.js'
import { cpuPerOp, descendantsCpu } from './proc-cpu.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const mode = process.argv[2] === 'single' ? 'single' : 'concurrent'
const outAt = process.argv.indexOf('--out')
const out = outAt > 0 ? process.argv[outAt + 1] : undefined
const production = process.argv.includes('--build')
const profiling = !process.argv.includes('--no-profile')
const N = Number(process.env.N ?? (mode === 'single' ? 500 : 2000))
const IN_FLIGHT = mode === 'single' ? 1 : 100

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** Where a frame's code lives: a file of this repository, a package, or a V8 pseudo-frame. */
function source(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)'
  const path = url.replace(/^https?:\/\/[^/]+\//, '').replace(/\?.*$/, '')
  const dep = /node_modules\/(?:\.vite\/deps\/)?((?:@[^/]+\/)?[^/_.]+)/.exec(path)
  if (dep != null) return `pkg:${dep[1]!}`
  return path
}

/** What a source is part of, for the split (first match from the innermost frame out). */
const STAGES: Array<[RegExp, string]> = [
  [/^\((idle)\)$/, 'idle (waiting on IndexedDB, WebCrypto, the tab)'],
  [/^\(garbage collector\)$/, 'garbage collection'],
  [/^(src\/store\/idb(-reads)?\.ts|pkg:idb)$/, 'IndexedDB requests'],
  [/^(src\/core\/(crypto|aes|ed25519|hash)\.ts|pkg:(@noble\/\w+|sha2|ed25519|utils))/, 'crypto (WebCrypto calls, noble SHA-256)'],
  [/^(src\/core\/(block|cid|record|record-.*)\.ts|pkg:(cborg|@ipld\/\w+|multiformats|bytes))/, 'sealing: encoding, blocks, records'],
  [/^(src\/store\/(logstore|log-layout|logstore-checks)\.ts|src\/net\/)/, 'log store and net (createRecords)'],
  [/^src\/db\/(readset|recent|commit)\.ts$/, 'commit: conflict check, group'],
  [/^src\/db\/(schema|validate|json)\.ts|pkg:(ajv|@cfworker\/\w+)/, 'schema'],
  [/^src\/db\//, 'staging and apply (txn, overlay, engine, state)'],
  [/^(pkg:comlink|worker\/|src\/client\/)/, 'RPC: Comlink, structured clone, worker host'],
  [/^src\/store\//, 'KV wrappers'],
  [/^\(program\)$/, '(program)']
]
/** Helpers classed by their caller. */
const HELPER = /^(src\/core\/bytes\.ts|src\/(store|db)\/keys\.ts|\(native\))$/

function summarise(p: Profile, txns: number): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const stageOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!
      const src = source(n.callFrame.url, n.callFrame.functionName)
      if (HELPER.test(src) || n.callFrame.functionName === 'keyString') continue
      const hit = STAGES.find(([re]) => re.test(src))
      if (hit != null) return hit[1]
    }
    return 'other'
  }
  const self = new Map<number, number>()
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i + 1] ?? 0))
  const bySource = new Map<string, number>()
  const byFn = new Map<string, number>()
  const byStage = new Map<string, number>()
  let total = 0
  for (const [id, us] of self) {
    const stage = stageOf(id)
    byStage.set(stage, (byStage.get(stage) ?? 0) + us)
    const n = byId.get(id)!
    const src = source(n.callFrame.url, n.callFrame.functionName)
    bySource.set(src, (bySource.get(src) ?? 0) + us)
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${src}:${n.callFrame.lineNumber + 1}`
    byFn.set(fn, (byFn.get(fn) ?? 0) + us)
    total += us
  }
  const row = (name: string, us: number): string => `${(us / txns).toFixed(1).padStart(8)} µs/txn ${(100 * us / total).toFixed(1).padStart(5)} %  ${name}`
  console.log(`worker time ${(total / 1000).toFixed(0)} ms over ${txns} transactions = ${(total / txns).toFixed(0)} µs/txn (busy ${((total - (bySource.get('(idle)') ?? 0)) / txns).toFixed(0)} µs/txn)`)
  console.log('-- by stage (self time, classed by the innermost frame of a known part)')
  for (const [k, v] of [...byStage].sort((a, b) => b[1] - a[1])) console.log(row(k, v))
  console.log('-- by source (self time)')
  for (const [k, v] of [...bySource].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(row(k, v))
  console.log('-- top functions (self time)')
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(row(k, v))
}

const childrenCpu = async (): Promise<Map<string, number>> => await descendantsCpu({ byPid: process.env.BY_PID != null })

const outDir = production ? await mkdtemp(join(tmpdir(), 'weft-profile-')) : undefined
if (outDir !== undefined) {
  await build({ configFile: `${root}vite.config.ts`, root, logLevel: 'silent', build: { outDir, emptyOutDir: true, rollupOptions: { input: join(root, 'test/browser/peer.html') } } })
}
const server = outDir !== undefined
  ? await preview({ configFile: `${root}vite.config.ts`, root, logLevel: 'silent', build: { outDir }, preview: { host: '127.0.0.1', port: 0 } })
  : await createServer({
  configFile: `${root}vite.config.ts`,
  root,
  logLevel: 'warn',
  server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  // As e2e/global-setup.ts: the workers' dependencies pre-bundled before the page loads.
  optimizeDeps: { entries: ['test/browser/*.html', 'worker/*-worker.ts'] }
})
if ('listen' in server) await server.listen()
const executablePath = process.env.CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined)
const browser = await chromium.launch({ ...(executablePath != null ? { executablePath } : {}), args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] })
try {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${server.resolvedUrls!.local[0]!}test/browser/peer.html?name=prof-${Date.now()}`)
  await page.waitForFunction(() => globalThis.weftPeer !== undefined, undefined, { timeout: 120_000 })
  await page.evaluate(async () => { await globalThis.weftPeer!.connect({}); await globalThis.weftPeer!.client().db.listDBs() })

  // The shared worker's target, driven through the browser session (Playwright has no SharedWorker API).
  const cdp = await browser.newBrowserCDPSession()
  const { targetInfos } = await cdp.send('Target.getTargets') as { targetInfos: Array<{ targetId: string; type: string }> }
  const target = targetInfos.find((t) => t.type === 'shared_worker')
  if (target == null) throw new Error('no shared_worker target')
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false }) as { sessionId: string }
  let nextId = 1
  const pending = new Map<number, (r: unknown) => void>()
  cdp.on('Target.receivedMessageFromTarget', (e: { sessionId: string; message: string }) => {
    if (e.sessionId !== sessionId) return
    const m = JSON.parse(e.message) as { id?: number; result?: unknown; error?: unknown }
    if (m.id != null) pending.get(m.id)?.(m.error != null ? Promise.reject(new Error(JSON.stringify(m.error))) : m.result)
  })
  const send = async (method: string, params: Record<string, unknown> = {}): Promise<unknown> => {
    const id = nextId++
    const answer = new Promise((resolve) => pending.set(id, resolve))
    await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) })
    return await answer
  }
  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: Number(process.env.INTERVAL_US ?? 200) })

  const run = async (): Promise<number> => await page.evaluate(async ([people, n, inFlight]) => {
    const db = globalThis.weftPeer!.client().db
    const target = await db.newDB(undefined, { collections: [people] })
    const docs = Array.from({ length: n }, (_, i) => ({ name: `person ${i}`, email: `p${i}@example.com`, age: i % 90, city: `city-${i % 1000}` }))
    for (let i = 0; i < 50; i++) await target.create('People', [{ name: 'w', email: `w${i}@example.com`, age: 1, city: 'w' }])
    const g = globalThis as unknown as { go: () => Promise<number> }
    g.go = async () => {
      let next = 0
      const t0 = performance.now()
      await Promise.all(Array.from({ length: inFlight }, async () => {
        while (next < n) await target.create('People', [docs[next++]!], { timeoutMs: 120_000 })
      }))
      return n / ((performance.now() - t0) / 1000)
    }
    // bench/browser.ts's read_while_txn_open: finds while a write transaction is staged, not ended.
    ;(globalThis as unknown as { finds: () => Promise<number[]> }).finds = async () => {
      const open = target.writeTransaction('People', { timeoutMs: 120_000 })
      await open.start()
      await open.create(Array.from({ length: 10 }, (_, i) => ({ name: `open ${i}`, email: `open${i}@example.com`, age: 1, city: 'x' })))
      const reads: number[] = []
      for (let i = 0; i < 200; i++) {
        const t = performance.now()
        await target.find('People', { limit: 20 } as never)
        reads.push(performance.now() - t)
      }
      await open.discard()
      return reads.sort((a, b) => a - b)
    }
    return 0
  }, [PEOPLE, N, IN_FLIGHT] as const)
  await run()
  // IndexedDB transactions and requests the worker makes, counted by wrapping the prototypes.
  await send('Runtime.evaluate', {
    expression: `(() => {
      const n = globalThis.__idbCounts = { readonly: 0, readwrite: 0, get: 0, put: 0, delete: 0, getAll: 0, openCursor: 0 }
      const t = IDBDatabase.prototype.transaction
      IDBDatabase.prototype.transaction = function (...a) { n[a[1] === 'readwrite' ? 'readwrite' : 'readonly']++; return t.apply(this, a) }
      for (const m of ['get', 'put', 'delete', 'getAll', 'openCursor']) {
        const f = IDBObjectStore.prototype[m]
        IDBObjectStore.prototype[m] = function (...a) { n[m]++; return f.apply(this, a) }
      }
    })()`
  })
  if (profiling) await send('Profiler.start')
  const cpu0 = await childrenCpu()
  const rate = await page.evaluate(async () => await (globalThis as unknown as { go: () => Promise<number> }).go())
  const cpu1 = await childrenCpu()
  const perTxn = (kind: string): string => cpuPerOp(cpu0, cpu1, N, kind).toFixed(0)
  console.log(`${mode}: ${N} creates, ${IN_FLIGHT} in flight: ${rate.toFixed(0)} txn/s, Chromium CPU ${perTxn('all')} µs/txn (${production ? 'production build' : 'dev server'}, profiler ${profiling ? 'on' : 'off'})`)
  const counts = await send('Runtime.evaluate', { expression: 'JSON.stringify(globalThis.__idbCounts)', returnByValue: true }) as { result: { value: string } }
  const perCreate = Object.entries(JSON.parse(counts.result.value) as Record<string, number>).map(([k, v]) => `${k} ${(v / N).toFixed(2)}`)
  console.log(`  IndexedDB in the worker per create: ${perCreate.join(', ')}`)
  console.log(`  by process: ${[...cpu1.keys()].filter((k) => k !== 'all').map((k) => `${k} ${perTxn(k)}`).join(', ')} µs/txn`)
  if (process.env.FINDS != null) {
    const reads = await page.evaluate(async () => await (globalThis as unknown as { finds: () => Promise<number[]> }).finds())
    console.log(`  finds while a write transaction is open: p50 ${reads[100]!.toFixed(2)} ms, p99 ${reads[198]!.toFixed(2)} ms, max ${reads[199]!.toFixed(2)} ms`)
  }
  if (profiling) {
    const { profile } = await send('Profiler.stop') as { profile: Profile }
    summarise(profile, N)
    if (out != null) await writeFile(out, JSON.stringify(profile))
  }
} finally {
  await browser.close()
  await server.close()
  if (outDir !== undefined) await rm(outDir, { recursive: true, force: true })
}

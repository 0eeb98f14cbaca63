/**
 * The browser peer in Chromium (Playwright, Debian's Chromium), against the real relay process,
 * with the production build of the test page and workers (vite build + preview):
 *   browser_cold_start_ms              connect() in a fresh context until the first call answers
 *                                      (worker start, IndexedDB open, key generation, libp2p start)
 *   browser_relay_ready_ms             connect() until the relay reservation is held
 *   browser_replication_webrtc_p50_ms  createRecord on device A until B's subscription yields it,
 *                                      over the bridged WebRTC connection (net level)
 *   browser_replication_relay_p50_ms   the same through the relay's circuit (WebRTC off)
 *   client_bundle_kb_gz                the tab-side SDK as the weftdb package ships it
 *                                      (weftdb/client), minified and gzipped; the WebRTC host chunk
 *                                      that only the host tab loads is reported as
 *                                      client_rtc_host_kb_gz
 *   worker_bundle_kb_gz                the package's worker as it starts (entry and the chunks it
 *                                      imports statically), minified and gzipped; QuickJS's wasm,
 *                                      fetched on the first validator, as worker_wasm_kb_gz
 *   install_packages_web               packages `npm install weftdb` brings into an empty project
 *   browser_create_bulk_docs_per_s     10,000 instances in one write transaction from a tab
 *                                      (start, create, end: durable in IndexedDB when end resolves)
 *   browser_create_single_txn_per_s    sequential one-instance creates from a tab, each its own
 *                                      transaction (one record, durable when it resolves)
 *   browser_create_concurrent_per_s    the same with 100 creates in flight at once
 *   browser_create_*_cpu_us_per_*      the CPU time of all of Chromium's processes (tab, worker,
 *                                      IndexedDB in the browser process) per document of the bulk
 *                                      transaction and per transaction of the other two: the
 *                                      machine's load inflates it far less than the rates
 *   browser_remeet_after_reload_ms     two browsers direct over WebRTC and sharing a DB; one
 *                                      reloads: from the reload until both hold a new WebRTC
 *                                      connection to each other (each run reloads the other side)
 *   storm_converge_after_heal_ms       three browsers writing, each behind a proxy and cut at
 *                                      random (proxy unplugged, peer connections closed, page
 *                                      offline; e2e/storm.ts) for STORM_MS; from the moment all are
 *                                      back until the three hold every acknowledged write and
 *                                      the same state hash
 * The cold start ends with the first db query (`db.listDBs()`). The db figures use the collection
 * and instances of bench/db.ts (a schema, a unique index on email), a new DB per run.
 * `WEFT_BENCH_BROWSER=remeet,storm` (a comma-separated list of: sizes, cold, writes, replication,
 * remeet, storm) runs only those parts.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build, preview } from 'vite'
import { chromium, type Browser, type Page } from '@playwright/test'
import { cleanupRelays, startRelayProcess } from '../test/relay/harness.js'
// @ts-expect-error: plain ESM scripts of the repository, without declarations
import { buildPackages } from '../scripts/build.mjs'
// @ts-expect-error: plain ESM scripts of the repository, without declarations
import { wasmAsFile } from '../scripts/build-worker.mjs'
import { median, round, type Metric, type Suite } from './index.js'
import { PEOPLE } from './fixtures.js'
import { cpuPerOp, descendantsCpu } from './proc-cpu.js'
import { unpluggableNetwork } from '../e2e/network.js'
import { convergence, prng, storm, type StormDevice } from '../e2e/storm.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const SAMPLES = 60
const BULK = 10_000
const SINGLE = 500
const CONCURRENT = 2_000
const IN_FLIGHT = 100
/** The storm: how long, how long a device stays cut and up (ms). */
const STORM_MS = 60_000
const STORM_DOWN_MS = [2000, 15_000] as const
const STORM_UP_MS = [1000, 8000] as const
const NOTES = { name: 'notes', schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' } } } }


function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!
}

type Chunk = { type: string; fileName: string; code?: string; source?: string | Uint8Array; isEntry?: boolean; imports?: string[] }

/** Minifies what a file of the weftdb package loads, as an app's bundler would (Vite, library mode). */
async function minified(entry: string, plugins: unknown[] = []): Promise<Chunk[]> {
  const out = await build({
    configFile: false,
    root,
    logLevel: 'silent',
    plugins: plugins as never[],
    build: { write: false, minify: true, target: 'es2022', lib: { entry, formats: ['es'], fileName: 'entry' } }
  }) as unknown as { output: Chunk[] } | Array<{ output: Chunk[] }>
  return (Array.isArray(out) ? out : [out]).flatMap((o) => o.output)
}

const gzKiB = (data: string | Uint8Array | undefined): number => gzipSync(typeof data === 'string' ? Buffer.from(data) : data ?? new Uint8Array()).length / 1024

/** The entry chunk and every chunk it imports statically (what loads before the code runs). */
function startup(chunks: Chunk[]): number {
  const byName = new Map(chunks.map((c) => [c.fileName, c]))
  const seen = new Set<string>()
  const visit = (c: Chunk | undefined): void => {
    if (c == null || seen.has(c.fileName)) return
    seen.add(c.fileName)
    for (const i of c.imports ?? []) visit(byName.get(i))
  }
  visit(chunks.find((c) => c.type === 'chunk' && c.isEntry === true))
  return [...seen].reduce((sum, f) => sum + gzKiB(byName.get(f)?.code), 0)
}

/**
 * The weftdb package as a web app gets it (built by scripts/build.mjs): the tab-side SDK, the
 * worker (what starts it: entry and static imports; the QuickJS wasm apart), and how many
 * packages `npm install weftdb` brings into an empty project (npm registry, through its cache).
 */
export async function packageFigures(): Promise<{ client: number; rtcHost: number; worker: number; wasm: number; installs: number }> {
  await (buildPackages as (o: { log: (s: string) => void }) => Promise<void>)({ log: () => {} })
  const dist = join(root, 'packages/weftdb/dist')
  const client = await minified(join(dist, 'client/index.js'))
  const worker = await minified(join(dist, 'worker/shared-worker.js'), [wasmAsFile()])
  const wasm = worker.filter((c) => c.type === 'asset' && c.fileName.endsWith('.wasm')).reduce((sum, c) => sum + gzKiB(c.source), 0)

  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-install-'))
  try {
    const npm = (args: string[], cwd: string): string => {
      const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd, encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`npm ${args.join(' ')}: ${r.stderr}`)
      return r.stdout
    }
    const tarball = npm(['pack', join(root, 'packages/weftdb'), '--pack-destination', dir], root).trim().split('\n').at(-1)!
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'web-app', private: true, type: 'module' }))
    npm(['install', join(dir, tarball)], dir)
    const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> }
    return {
      client: gzKiB(client.find((c) => c.type === 'chunk' && c.isEntry === true)?.code),
      rtcHost: gzKiB(client.find((c) => c.fileName.includes('rtc-host'))?.code),
      worker: startup(worker),
      wasm,
      installs: Object.keys(lock.packages).filter((p) => p !== '').length
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function openPeer(browser: Browser, url: string, connect: Record<string, unknown>): Promise<{ page: Page; close: () => Promise<void>; timings: { cold: number; ready: number } }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(url)
  await page.waitForFunction(() => globalThis.weftPeer !== undefined)
  const timings = await page.evaluate(async (o) => {
    const t0 = performance.now()
    await globalThis.weftPeer!.connect(o)
    await globalThis.weftPeer!.client().db.listDBs()
    const cold = performance.now() - t0
    await globalThis.weftPeer!.client().relayReady({ timeoutMs: 30_000 })
    return { cold, ready: performance.now() - t0 }
  }, connect)
  return { page, timings, close: async () => { await context.close() } }
}

async function replication(browser: Browser, url: (name: string) => string, relay: string, webrtc: boolean): Promise<number> {
  const a = await openPeer(browser, url(`ba-${Date.now()}`), { webrtc })
  const b = await openPeer(browser, url(`bb-${Date.now()}`), { webrtc })
  try {
    const { thread, invite } = await a.page.evaluate(async (r) => {
      const p = globalThis.weftPeer!
      const info = await p.client().net.createThread()
      await p.client().net.addReplicator(info.id, r)
      return { thread: info.id, invite: p.sdk.toInvite(await p.client().net.getThread(info.id)) }
    }, relay)
    await b.page.evaluate(async (inv) => {
      const p = globalThis.weftPeer!
      const { key, addrs } = p.sdk.fromInvite(inv)
      await p.client().net.addThread(addrs.find((x) => x.includes('/p2p-circuit'))!, { threadKey: key, timeoutMs: 20_000 })
    }, invite)
    const peerB = await b.page.evaluate(() => globalThis.weftPeer!.client().peerId)
    if (webrtc) {
      const deadline = Date.now() + 30_000
      while (true) {
        const via = await a.page.evaluate(async ([t, p]) => (await globalThis.weftPeer!.client().net.syncStatus(t)).peers.find((x) => x.peer === p)?.via, [thread, peerB] as const)
        if (via === 'webrtc') break
        if (Date.now() > deadline) throw new Error(`no WebRTC connection (via ${String(via)})`)
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    await b.page.evaluate(async (t) => { await globalThis.weftPeer!.measure(t) }, thread)
    await a.page.evaluate(async ([t, n]) => { await globalThis.weftPeer!.writeTimed(t, n, 100) }, [thread, SAMPLES + 5] as const)
    const deadline = Date.now() + 30_000
    let latencies: number[] = []
    while (latencies.length < SAMPLES + 5 && Date.now() < deadline) {
      latencies = await b.page.evaluate(() => [...globalThis.weftPeer!.latencies])
      await new Promise((r) => setTimeout(r, 100))
    }
    if (latencies.length < SAMPLES) throw new Error(`only ${latencies.length} of ${SAMPLES + 5} records arrived`)
    return percentile(latencies.slice(5), 0.5)
  } finally {
    await a.close()
    await b.close()
  }
}

/** A DB of `owner` with NOTES, handed to the relay and joined by `others`; its ID. */
async function shareNotes(owner: Page, others: Page[], relay: string): Promise<string> {
  const { id, invite } = await owner.evaluate(async ([r, notes]) => {
    const c = globalThis.weftPeer!.client()
    const db = await c.db.newDB(undefined, { name: 'bench', collections: [notes] })
    await c.net.addReplicator(db.id, r)
    return { id: db.id, invite: await db.invite() }
  }, [relay, NOTES] as const)
  for (const p of others) await p.evaluate(async (inv) => { await globalThis.weftPeer!.client().db.join(inv) }, invite)
  return id
}

/** Wait until `page` reaches `peer` over WebRTC (30 s at most). */
async function awaitWebRTC(page: Page, thread: string, peer: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (true) {
    const via = await page.evaluate(async ([t, p]) => (await globalThis.weftPeer!.client().net.syncStatus(t)).peers.find((x) => x.peer === p)?.via, [thread, peer] as const)
    if (via === 'webrtc') return
    if (Date.now() > deadline) throw new Error(`no WebRTC connection (via ${String(via)})`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/**
 * A document created in one browser until another browser's DB listener has it (WebRTC): p50 of
 * 100 samples after 5, each timed with the pages' shared epoch clock (`timeOrigin + now()`).
 */
async function dbReplicationBrowser(browser: Browser, url: (name: string) => string, relay: string): Promise<number> {
  const a = await openPeer(browser, url(`dra-${Date.now()}`), { webrtc: true })
  const b = await openPeer(browser, url(`drb-${Date.now()}`), { webrtc: true })
  try {
    const id = await shareNotes(a.page, [b.page], relay)
    const peerB = await b.page.evaluate(() => globalThis.weftPeer!.client().peerId)
    await awaitWebRTC(a.page, id, peerB)
    await b.page.evaluate(async (t) => {
      const g = globalThis as unknown as { arrivals: number[] }
      g.arrivals = []
      const db = globalThis.weftPeer!.client().db.getDB(t)
      const sub = db.listen([{ type: 'create', collection: 'notes' }])
      await sub.ready
      void (async () => {
        for await (const e of sub) {
          const sent = Number((e as { instance?: { text?: string } }).instance?.text)
          g.arrivals.push(performance.timeOrigin + performance.now() - sent)
        }
      })()
    }, id)
    await a.page.evaluate(async ([t, n]) => {
      const db = globalThis.weftPeer!.client().db.getDB(t)
      for (let i = 0; i < n; i++) {
        await db.create('notes', [{ text: String(performance.timeOrigin + performance.now()) }])
        await new Promise((r) => setTimeout(r, 50))
      }
    }, [id, SAMPLES + 5] as const)
    const deadline = Date.now() + 30_000
    let arrivals: number[] = []
    while (arrivals.length < SAMPLES + 5 && Date.now() < deadline) {
      arrivals = await b.page.evaluate(() => [...(globalThis as unknown as { arrivals: number[] }).arrivals])
      await new Promise((r) => setTimeout(r, 100))
    }
    if (arrivals.length < SAMPLES) throw new Error(`only ${arrivals.length} of ${SAMPLES + 5} instances arrived`)
    return percentile(arrivals.slice(5), 0.5)
  } finally {
    await a.close()
    await b.close()
  }
}

/**
 * A tab joins the invite to a board of 10,000 instances (created 10 per transaction: 1,000
 * records, handed to the relay): ms from `join` until all are queryable.
 */
async function dbJoinBrowser(browser: Browser, url: (name: string) => string, relay: string): Promise<number> {
  const a = await openPeer(browser, url(`dja-${Date.now()}`), {})
  const b = await openPeer(browser, url(`djb-${Date.now()}`), {})
  try {
    const invite = await a.page.evaluate(async ([r, notes]) => {
      const c = globalThis.weftPeer!.client()
      const db = await c.db.newDB(undefined, { name: 'board', collections: [notes] })
      await c.net.addReplicator(db.id, r)
      let next = 0
      await Promise.all(Array.from({ length: 50 }, async () => {
        while (next < 1_000) {
          const k = next++
          await db.create('notes', Array.from({ length: 10 }, (_, i) => ({ text: `card ${k * 10 + i}` })), { timeoutMs: 120_000 })
        }
      }))
      // Until the relay holds it all.
      for (let i = 0; i < 600; i++) {
        const s = await c.net.syncStatus(db.id)
        if (s.pendingPush === 0) break
        await new Promise((res) => setTimeout(res, 100))
      }
      return await db.invite()
    }, [relay, NOTES] as const)
    return await b.page.evaluate(async (inv) => {
      const c = globalThis.weftPeer!.client()
      const t0 = performance.now()
      const db = await c.db.join(inv, { timeoutMs: 120_000 })
      while ((await db.find('notes', {}, { timeoutMs: 120_000 })).length < 10_000) await db.sync({ timeoutMs: 120_000 })
      return performance.now() - t0
    }, invite)
  } finally {
    await a.close()
    await b.close()
  }
}

async function directSince(page: Page, peer: string, since: number): Promise<boolean> {
  const info = await page.evaluate(async () => await globalThis.weftPeer!.client().info())
  return info.connections.some((c) => c.peer === peer && c.via === 'webrtc' && c.openedAt >= since)
}

/** Reload one of two direct browsers, `runs` times (alternating): ms until both are direct again. */
async function remeet(browser: Browser, url: (name: string) => string, relay: string, runs: number): Promise<number[]> {
  const a = await openPeer(browser, url(`ra-${Date.now()}`), { syncIntervalMs: 10_000 })
  const b = await openPeer(browser, url(`rb-${Date.now()}`), { syncIntervalMs: 10_000 })
  const peers = await Promise.all([a, b].map(async (p) => await p.page.evaluate(() => globalThis.weftPeer!.client().peerId)))
  const out: number[] = []
  try {
    await shareNotes(a.page, [b.page], relay)
    const wait = async (page: Page, peer: string, since: number): Promise<void> => {
      const deadline = Date.now() + 60_000
      while (!(await directSince(page, peer, since))) {
        if (Date.now() > deadline) throw new Error('no WebRTC connection within 60 s')
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    await wait(a.page, peers[1]!, 0)
    for (let i = 0; i < runs; i++) {
      const [reloaded, stayed] = i % 2 === 0 ? [a.page, b.page] : [b.page, a.page]
      const [self, other] = i % 2 === 0 ? [peers[0]!, peers[1]!] : [peers[1]!, peers[0]!]
      const since = Date.now()
      await reloaded.reload()
      await reloaded.waitForFunction(() => globalThis.weftPeer !== undefined)
      await reloaded.evaluate(async () => { await globalThis.weftPeer!.connect({ syncIntervalMs: 10_000 }) })
      await Promise.all([wait(reloaded, other, since), wait(stayed, self, since)])
      out.push(Date.now() - since)
    }
    return out
  } finally {
    await a.close()
    await b.close()
  }
}

/** Three browsers in a storm (seeded): ms from the moment all are back until they converge. */
async function stormConverge(browser: Browser, url: (name: string) => string, relay: string, pageHost: string, seed: number): Promise<number> {
  const devices: StormDevice[] = []
  try {
    for (const name of ['ana', 'ben', 'cy']) {
      const network = await unpluggableNetwork()
      const context = await browser.newContext(network.contextOptions([pageHost]))
      const page = await context.newPage()
      devices.push({ name, context, page, network })
      await page.goto(url(`storm-${name}-${Date.now()}`))
      await page.waitForFunction(() => globalThis.weftPeer !== undefined)
      await page.evaluate(async () => {
        await globalThis.weftPeer!.connect()
        await globalThis.weftPeer!.client().relayReady({ timeoutMs: 30_000 })
      })
    }
    const db = await shareNotes(devices[0]!.page, devices.slice(1).map((d) => d.page), relay)
    for (const d of devices) await d.page.evaluate(([t, n]) => { globalThis.weftPeer!.startWriting(t, n, 200) }, [db, d.name] as const)
    await storm(devices, {
      durationMs: STORM_MS, random: prng(seed),
      minDownMs: STORM_DOWN_MS[0], maxDownMs: STORM_DOWN_MS[1], minUpMs: STORM_UP_MS[0], maxUpMs: STORM_UP_MS[1]
    })
    const healed = Date.now()
    const written = await Promise.all(devices.map(async (d) => await d.page.evaluate(async () => await globalThis.weftPeer!.stopWriting())))
    await convergence(devices.map((d) => d.page), db, written.flatMap((w) => w.acked), 120_000)
    return Date.now() - healed
  } finally {
    for (const d of devices) {
      await d.context.close()
      await d.network.close()
    }
  }
}

interface WriteFigures { bulk: number; single: number; concurrent: number; readOpen: number; bulkCpu: number; singleCpu: number; concurrentCpu: number }

/**
 * Writes per second from a tab: one bulk transaction, sequential and concurrent single creates;
 * each part also as CPU per document or transaction of all of Chromium's processes (the tab, the
 * worker, IndexedDB in the browser process), sampled from /proc between the parts.
 */
async function dbWrites(browser: Browser, url: string): Promise<WriteFigures> {
  const p = await openPeer(browser, url, {})
  const n = { bulk: BULK, single: SINGLE, concurrent: CONCURRENT, inFlight: IN_FLIGHT }
  /** Run one part in the page: its figure and the CPU per operation it took. */
  const part = async (name: 'bulk' | 'single' | 'concurrent' | 'readOpen', ops: number): Promise<[number, number]> => {
    const before = await descendantsCpu()
    // No named functions in here: tsx would wrap them in a helper the page does not have.
    const value = await p.page.evaluate(async ([k, people, n]) => {
      const g = globalThis as unknown as { benchWrites?: { docs: Array<Record<string, unknown>>; singleDB?: unknown } }
      const db = globalThis.weftPeer!.client().db
      g.benchWrites ??= { docs: Array.from({ length: Math.max(n.bulk, n.single, n.concurrent) }, (_, i) => ({ name: `person ${i}`, email: `p${i}@example.com`, age: i % 90, city: `city-${i % 1000}` })) }
      const { docs } = g.benchWrites
      if (k === 'bulk') {
        const bulkDB = await db.newDB(undefined, { collections: [people] })
        const t0 = performance.now()
        const txn = bulkDB.writeTransaction('People', { timeoutMs: 120_000 })
        await txn.start()
        await txn.create(docs.slice(0, n.bulk))
        await txn.end()
        return n.bulk / ((performance.now() - t0) / 1000)
      }
      if (k === 'single') {
        const singleDB = await db.newDB(undefined, { collections: [people] })
        g.benchWrites.singleDB = singleDB
        const t0 = performance.now()
        for (let i = 0; i < n.single; i++) await singleDB.create('People', [docs[i]!])
        return n.single / ((performance.now() - t0) / 1000)
      }
      if (k === 'concurrent') {
        const concurrentDB = await db.newDB(undefined, { collections: [people] })
        let next = 0
        const t0 = performance.now()
        await Promise.all(Array.from({ length: n.inFlight }, async () => {
          while (next < n.concurrent) await concurrentDB.create('People', [docs[next++]!], { timeoutMs: 120_000 })
        }))
        return n.concurrent / ((performance.now() - t0) / 1000)
      }
      // A write transaction stays open (staged, not ended) while finds run.
      const singleDB = g.benchWrites.singleDB as Awaited<ReturnType<typeof db.newDB>>
      const open = singleDB.writeTransaction('People', { timeoutMs: 120_000 })
      await open.start()
      await open.create(Array.from({ length: 10 }, (_, i) => ({ name: `open ${i}`, email: `open${i}@example.com`, age: 1, city: 'x' })))
      const reads: number[] = []
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now()
        await singleDB.find('People', { limit: 20 } as never)
        reads.push(performance.now() - t0)
      }
      await open.discard()
      reads.sort((a, b) => a - b)
      return reads[Math.min(reads.length - 1, Math.floor(0.99 * reads.length))]!
    }, [name, PEOPLE, n] as const)
    return [value, cpuPerOp(before, await descendantsCpu(), ops)]
  }
  try {
    const [bulk, bulkCpu] = await part('bulk', BULK)
    const [single, singleCpu] = await part('single', SINGLE)
    const [concurrent, concurrentCpu] = await part('concurrent', CONCURRENT)
    const [readOpen] = await part('readOpen', 1)
    return { bulk, single, concurrent, readOpen, bulkCpu, singleCpu, concurrentCpu }
  } finally {
    await p.close()
  }
}

const suite: Suite = async (runs) => {
  const executablePath = process.env.CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined)
  const parts = new Set((process.env.WEFT_BENCH_BROWSER ?? 'sizes,cold,writes,replication,remeet,storm').split(',').map((p) => p.trim()))
  const outDir = await mkdtemp(join(tmpdir(), 'weft-bench-browser-'))
  const sizes = parts.has('sizes') ? await packageFigures() : undefined
  await build({
    configFile: join(root, 'vite.config.ts'),
    root,
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true, rollupOptions: { input: join(root, 'test/browser/peer.html') } }
  })
  const server = await preview({ configFile: join(root, 'vite.config.ts'), root, logLevel: 'silent', build: { outDir }, preview: { host: '127.0.0.1', port: 0 } })
  const relay = await startRelayProcess({ env: { WEFT_RELAY_SYNC_INTERVAL_MS: '2000' } })
  const browser = await chromium.launch({
    ...(executablePath != null ? { executablePath } : {}),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-features=WebRtcHideLocalIpsWithMdns']
  })
  const out: Metric[] = []
  try {
    const base = server.resolvedUrls?.local[0] ?? ''
    const url = (name: string): string => `${base}test/browser/peer.html?${new URLSearchParams({ relay: relay.wsAddr, name }).toString()}`
    if (parts.has('cold')) {
      const cold: number[] = []
      const ready: number[] = []
      for (let i = 0; i < runs; i++) {
        const p = await openPeer(browser, url(`cold-${i}-${Date.now()}`), {})
        cold.push(p.timings.cold)
        ready.push(p.timings.ready)
        await p.close()
      }
      out.push({ metric: 'browser_cold_start_ms', value: round(median(cold)), unit: 'ms' })
      out.push({ metric: 'browser_relay_ready_ms', value: round(median(ready)), unit: 'ms' })
    }
    if (parts.has('replication')) {
      const webrtc: number[] = []
      const relayed: number[] = []
      for (let i = 0; i < Math.max(1, Math.ceil(runs / 2)); i++) {
        webrtc.push(await replication(browser, url, relay.wsAddr, true))
        relayed.push(await replication(browser, url, relay.wsAddr, false))
      }
      out.push({ metric: 'browser_replication_webrtc_p50_ms', value: round(median(webrtc), 2), unit: 'ms' })
      out.push({ metric: 'browser_replication_relay_p50_ms', value: round(median(relayed), 2), unit: 'ms' })
    }
    if (parts.has('dbreplication')) {
      const samples: number[] = []
      for (let i = 0; i < runs; i++) samples.push(await dbReplicationBrowser(browser, url, relay.wsAddr))
      out.push({ metric: 'browser_db_replication_p50_ms', value: round(median(samples), 2), unit: 'ms' })
    }
    if (parts.has('dbjoin')) {
      const samples: number[] = []
      for (let i = 0; i < runs; i++) samples.push(await dbJoinBrowser(browser, url, relay.wsAddr))
      out.push({ metric: 'browser_db_join_10k_docs_ms', value: round(median(samples)), unit: 'ms' })
    }
    if (parts.has('writes')) {
      const bulk: number[] = []
      const single: number[] = []
      const concurrent: number[] = []
      const readOpen: number[] = []
      const cpu = { bulk: [] as number[], single: [] as number[], concurrent: [] as number[] }
      for (let i = 0; i < runs; i++) {
        const r = await dbWrites(browser, url(`dbw-${i}-${Date.now()}`))
        bulk.push(r.bulk)
        single.push(r.single)
        concurrent.push(r.concurrent)
        readOpen.push(r.readOpen)
        cpu.bulk.push(r.bulkCpu)
        cpu.single.push(r.singleCpu)
        cpu.concurrent.push(r.concurrentCpu)
      }
      out.push({ metric: 'browser_create_bulk_docs_per_s', value: round(median(bulk)), unit: 'docs/s' })
      out.push({ metric: 'browser_create_single_txn_per_s', value: round(median(single)), unit: 'txn/s' })
      out.push({ metric: 'browser_create_concurrent_per_s', value: round(median(concurrent)), unit: 'txn/s' })
      out.push({ metric: 'read_while_txn_open_p99_ms', value: round(median(readOpen), 2), unit: 'ms' })
      out.push({ metric: 'browser_create_bulk_cpu_us_per_doc', value: round(median(cpu.bulk)), unit: 'µs' })
      out.push({ metric: 'browser_create_single_cpu_us_per_txn', value: round(median(cpu.single)), unit: 'µs' })
      out.push({ metric: 'browser_create_concurrent_cpu_us_per_txn', value: round(median(cpu.concurrent)), unit: 'µs' })
    }
    if (parts.has('remeet')) {
      out.push({ metric: 'browser_remeet_after_reload_ms', value: round(median(await remeet(browser, url, relay.wsAddr, runs))), unit: 'ms' })
    }
    if (parts.has('storm')) {
      const converge: number[] = []
      for (let i = 0; i < Math.max(1, Math.ceil(runs / 2)); i++) converge.push(await stormConverge(browser, url, relay.wsAddr, new URL(base).host, 1000 + i))
      out.push({ metric: 'storm_converge_after_heal_ms', value: round(median(converge)), unit: 'ms' })
    }
    if (sizes !== undefined) {
      out.push(
        { metric: 'client_bundle_kb_gz', value: round(sizes.client, 2), unit: 'KiB' },
        { metric: 'client_rtc_host_kb_gz', value: round(sizes.rtcHost, 2), unit: 'KiB' },
        { metric: 'worker_bundle_kb_gz', value: round(sizes.worker, 1), unit: 'KiB' },
        { metric: 'worker_wasm_kb_gz', value: round(sizes.wasm, 1), unit: 'KiB' },
        { metric: 'install_packages_web', value: sizes.installs, unit: 'packages' }
      )
    }
    return out
  } finally {
    await browser.close()
    await cleanupRelays()
    server.httpServer.close()
    await rm(outDir, { recursive: true, force: true })
  }
}

export default suite

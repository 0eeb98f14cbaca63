/**
 * Net throughput and latency on loopback:
 *   replication_latency_p50_ms / _p99_ms  createRecord on A until B's subscribe yields it; two Node
 *                                          peers directly connected over TCP; 1,000 samples after warm-up
 *   catchup_10k_records_per_s             a fresh peer (own process) pulls 10,000 records from a relay
 *                                          (on LevelDB, in this process)
 *   catchup_10k_peak_rss_mb               that process's peak resident set size (LevelDB repo); the
 *                                          child is bundled with esbuild and run by plain node (no tsx),
 *                                          with the node flags in WEFT_BENCH_CHILD_FLAGS
 *   catchup_10k_base_rss_mb               its resident set size before the join (runtime, libp2p)
 *   catchup_10k_cpu_us_per_record          that process's CPU time (main thread and thread pool) per
 *                                          record: what load on the machine does not change much
 *   (WEFT_BENCH_NET=catchup runs only these; the child takes net options as JSON in WEFT_CATCHUP_INIT;
 *   WEFT_BENCH_CPU_PROFILE=<dir> writes a CPU profile of this process, the serving relay, during the
 *   catch-up; the child's own with WEFT_BENCH_CHILD_FLAGS="--cpu-prof --cpu-prof-dir=<dir>")
 *   relay_cold_start_ms                   relay process start until it answers /healthz: the esbuild
 *                                          bundle the Docker image runs (`node relay.mjs`)
 *   relay_cold_start_tsx_ms               the same for `npm run relay` (TypeScript compiled at start)
 *   resync_after_restart_ms               two Node peers on LevelDB, both stopped, both started again
 *                                          (same repos and ports) and each writes a record at once:
 *                                          from the restart until each holds the other's record
 *   write_latency_fake_addrs_p50_ms / _p99_ms  createRecord on A until B (connected) has it, after a
 *                                          member announced 32 logs whose address lists name 1,024
 *                                          peers that never answer (a closed port); 50 writes
 *   write_latency_fake_addrs_first_ms     the first of those writes (the one that met the fresh lists)
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../test/helpers/ports.js'
import { bundleDaemon } from '../test/helpers/daemon-bundle.js'
import { createPeer, type Peer, type PeerInit } from '../src/node/peer.js'
import { concatBytes, randomBytes } from '../src/core/bytes.js'
import { generateKeyPair, publicKeyFromRaw, publicKeyToBytes } from '../src/core/identity.js'
import { logIDFromPublicKey, logIDToBytes } from '../src/core/log-id.js'
import { parseThreadKey } from '../src/core/thread-key.js'
import { threadIDToBytes } from '../src/core/thread-id.js'
import * as dagCbor from '@ipld/dag-cbor'
import { authFields, rawSession } from '../test/net/raw.js'
import type { ThreadID } from '../src/core/types.js'
import { newThreadID } from '../src/core/thread-id.js'
import { median, round, type Metric, type Suite } from './index.js'

const root = fileURLToPath(new URL('..', import.meta.url))

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!
}

async function latency(): Promise<{ p50: number; p99: number }> {
  const a = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0 })
  const b = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0 })
  try {
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    const it = b.net.subscribe({ threads: [id] })[Symbol.asyncIterator]()
    const samples: number[] = []
    for (let i = 0; i < 1100; i++) {
      const t0 = performance.now()
      const next = it.next()
      await a.net.createRecord(id, { i, text: 'hello' })
      await next
      if (i >= 100) samples.push(performance.now() - t0)
    }
    await it.return?.()
    return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) }
  } finally {
    await a.stop()
    await b.stop()
  }
}

async function catchup(): Promise<{ perSecond: number; rssMb: number; baseRssMb: number; cpuUsPerRecord: number }> {
  // The relay keeps its records in LevelDB and reads them on the thread pool, as a deployed relay
  // does (relay/relay.ts). WEFT_BENCH_RELAY_MEMORY=1: in memory, as these figures were taken before
  // 2026-11-30 09:30 UTC; serving from it then costs the relay ≈ 100 µs more per record.
  const relayRepo = process.env.WEFT_BENCH_RELAY_MEMORY === '1' ? undefined : await mkdtemp(join(tmpdir(), 'weft-bench-relay-'))
  const relay = await createPeer({ ...(relayRepo !== undefined ? { repo: relayRepo } : {}), allowPrivateAddrs: true, syncIntervalMs: 0, relayServer: true, replicator: true, syncReadMax: 0 })
  const writer = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0 })
  try {
    const id = newThreadID()
    const info = await writer.net.createThread(id)
    const relayAddr = relay.addrs()[0]!
    await writer.net.addReplicator(id, relayAddr)
    for (let i = 0; i < 10_000; i++) await writer.net.createRecord(id, { i, text: 'x'.repeat(100) })
    while ((await relay.net.getThread(id)).logs.reduce((n, l) => n + l.head.counter, 0) < 10_000) {
      await relay.net.pullThread(id).catch(() => undefined)
    }
    await writer.stop()
    const profiling = await startProfile(process.env.WEFT_BENCH_CPU_PROFILE)
    const out = await new Promise<string>((resolve, reject) => {
      // Bundled and run by plain node (as a deployed peer runs): tsx's compiler is not in the RSS.
      const child = spawn(process.execPath, [...(process.env.WEFT_BENCH_CHILD_FLAGS ?? '').split(' ').filter((f) => f !== ''), bundleRelay('bench/catchup-child.ts', 'catchup-child.mjs'), `${relayAddr}/thread/${id}`, info.key], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
      let text = ''
      child.stdout.on('data', (d: Buffer) => { text += d.toString() })
      child.on('exit', (code) => {
        if (code === 0) resolve(text)
        else reject(new Error(`catch-up child exited ${code}`))
      })
    })
    // WEFT_BENCH_VERBOSE=1: the child's own report (peaks of the JS heap and outside it) on stderr.
    if (process.env.WEFT_BENCH_VERBOSE === '1') process.stderr.write(`${out.trim().split('\n').pop()!}\n`)
    await profiling?.stop()
    const r = JSON.parse(out.trim().split('\n').pop()!) as { records: number; seconds: number; cpuSeconds: number; maxRssMb: number; baseRssMb: number }
    if (r.records !== 10_000) throw new Error(`child caught up ${r.records} records`)
    return { perSecond: r.records / r.seconds, rssMb: r.maxRssMb, baseRssMb: r.baseRssMb, cpuUsPerRecord: r.cpuSeconds * 1e6 / r.records }
  } finally {
    await writer.stop().catch(() => undefined)
    await relay.stop()
    if (relayRepo !== undefined) await rm(relayRepo, { recursive: true, force: true })
  }
}

/** A CPU profile of this process from now until `stop()`, written to `dir` (nothing without a dir). */
async function startProfile(dir: string | undefined): Promise<{ stop: () => Promise<void> } | undefined> {
  if (dir === undefined || dir === '') return undefined
  const { Session } = await import('node:inspector/promises')
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop')
      await writeFile(join(dir, `relay-${Date.now()}.cpuprofile`), JSON.stringify(profile))
      session.disconnect()
    }
  }
}

/** Resolves when `peer` holds `count` records of `thread` (checked every 5 ms: records may land before a subscription could start). */
async function holds(peer: Peer, thread: ThreadID, count: number): Promise<void> {
  const deadline = performance.now() + 60_000
  while ((await peer.net.getThread(thread)).logs.reduce((n, l) => n + l.head.counter, 0) < count) {
    if (performance.now() > deadline) throw new Error(`${peer.peerId} did not get ${count} records`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * Honest write latency while a member has announced logs naming 1,024 peers that never answer: it
 * signs each list with the log's own key (docs/PROTOCOL.md, "Logs and their addresses"), as the
 * attack must now; a peer that predates signed lists takes the same lists.
 */
export async function fakeAddrsLatency(logs = 32): Promise<{ p50: number; p99: number; first: number }> {
  const init = { allowPrivateAddrs: true, syncIntervalMs: 0 }
  const [a, b, x] = await Promise.all([createPeer(init), createPeer(init), createPeer(init)])
  try {
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    await x.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    const key = parseThreadKey(info.key)
    const session = await rawSession(x, a)
    const auth = authFields(key.service, id, x, a)
    const dead = await freePort()
    for (let l = 0; l < logs; l++) {
      const logKey = await generateKeyPair()
      const log = logIDToBytes(logIDFromPublicKey(logKey.publicKey))
      const addrs = Array.from({ length: 32 }, () => `/ip4/127.0.0.1/tcp/${dead}/p2p/${logIDFromPublicKey(publicKeyFromRaw(randomBytes(32)))}`)
      const seq = Date.now()
      const u16 = (b: Uint8Array): Uint8Array => concatBytes([new Uint8Array([b.byteLength >> 8, b.byteLength & 0xff]), b])
      const u64 = new Uint8Array(8)
      new DataView(u64.buffer).setBigUint64(0, BigInt(seq))
      const payload = concatBytes([new TextEncoder().encode('weft-log-addrs-v1'), u16(threadIDToBytes(id)), u16(log), u64, dagCbor.encode(addrs)])
      const addrSig = await logKey.sign(payload)
      await session.ask({ type: 'pushLog', ...auth, log: { id: log, pubKey: publicKeyToBytes(logKey.publicKey), addrs, addrSeq: seq, addrSig, counter: 0 } as never })
    }
    const it = b.net.subscribe({ threads: [id] })[Symbol.asyncIterator]()
    const samples: number[] = []
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now()
      const next = it.next()
      await a.net.createRecord(id, { i })
      await next
      samples.push(performance.now() - t0)
    }
    await it.return?.()
    return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), first: samples[0]! }
  } finally {
    await Promise.all([a, b, x].map(async (p) => { await p.stop() }))
  }
}

async function resyncAfterRestart(): Promise<number> {
  const dirs = await Promise.all([0, 1].map(async () => await mkdtemp(join(tmpdir(), 'weft-resync-'))))
  const init: PeerInit[] = await Promise.all(dirs.map(async (repo) => ({
    repo, allowPrivateAddrs: true, syncIntervalMs: 0, listen: [`/ip4/127.0.0.1/tcp/${await freePort()}`]
  })))
  let peers: Peer[] = []
  try {
    peers = await Promise.all(init.map(async (i) => await createPeer(i)))
    const id = newThreadID()
    const info = await peers[0]!.net.createThread(id)
    await peers[1]!.net.addThread(info.addrs[0]!, { threadKey: info.key })
    await peers[0]!.net.createRecord(id, { from: 'warm-up' })
    await holds(peers[1]!, id, 1)
    await Promise.all(peers.map(async (p) => { await p.stop() }))
    const t0 = performance.now()
    peers = await Promise.all(init.map(async (i, n) => {
      const p = await createPeer(i)
      await p.net.createRecord(id, { from: `peer-${n}` })
      return p
    }))
    await Promise.all(peers.map(async (p) => { await holds(p, id, 3) }))
    return performance.now() - t0
  } finally {
    await Promise.all(peers.map(async (p) => { await p.stop() }))
    await Promise.all(dirs.map(async (d) => { await rm(d, { recursive: true, force: true }) }))
  }
}

/** Bundle the relay as the Docker image does (esbuild, runtime dependencies external). */
function bundleRelay(entry = 'relay/main.ts', name = 'relay.mjs'): string {
  const outfile = join(root, '.bench', name)
  const built = bundleDaemon(root, entry, outfile)
  if (built.status !== 0) throw new Error(`esbuild failed: ${built.stderr}`)
  return outfile
}

/** Process start until /healthz answers 200: `args` are node's arguments. */
async function relayColdStart(args: string[]): Promise<number> {
  const repo = await mkdtemp(join(tmpdir(), 'weft-relay-bench-'))
  const t0 = performance.now()
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, WEFT_RELAY_REPO: repo, WEFT_RELAY_TCP: '/ip4/127.0.0.1/tcp/0', WEFT_RELAY_WS: '/ip4/127.0.0.1/tcp/0/ws', WEFT_RELAY_HTTP: '127.0.0.1:0' }
  })
  try {
    const http = await new Promise<string>((resolve, reject) => {
      let text = ''
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString()
        const m = /WEFT_RELAY_READY (\{.*\})/.exec(text)
        if (m != null) resolve((JSON.parse(m[1]!) as { http: string }).http)
      })
      child.on('exit', (code) => { reject(new Error(`relay exited ${code}`)) })
    })
    while (true) {
      try {
        const res = await fetch(`${http}/healthz`)
        if (res.status === 200) break
      } catch { /* not yet */ }
    }
    return performance.now() - t0
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.on('exit', resolve))
    await rm(repo, { recursive: true, force: true })
  }
}

const suite: Suite = async (runs) => {
  const p50: number[] = []
  const p99: number[] = []
  const rate: number[] = []
  const rss: number[] = []
  const baseRss: number[] = []
  const cpuPerRecord: number[] = []
  const cold: number[] = []
  const coldTsx: number[] = []
  const resync: number[] = []
  const fakeP50: number[] = []
  const fakeP99: number[] = []
  const fakeFirst: number[] = []
  const bundle = bundleRelay()
  if (process.env.WEFT_BENCH_NET === 'catchup') {
    // Only the catch-up figures (for comparing changes to it under the same load).
    for (let r = 0; r < runs; r++) {
      const c = await catchup()
      rate.push(c.perSecond)
      rss.push(c.rssMb)
      baseRss.push(c.baseRssMb)
      cpuPerRecord.push(c.cpuUsPerRecord)
    }
    return [
      { metric: 'catchup_10k_records_per_s', value: round(median(rate), 0), unit: 'records/s' },
      { metric: 'catchup_10k_peak_rss_mb', value: round(median(rss), 1), unit: 'MB' },
      { metric: 'catchup_10k_base_rss_mb', value: round(median(baseRss), 1), unit: 'MB' },
      { metric: 'catchup_10k_cpu_us_per_record', value: round(median(cpuPerRecord), 0), unit: 'µs' }
    ]
  }
  for (let r = 0; r < runs; r++) {
    const l = await latency()
    p50.push(l.p50)
    p99.push(l.p99)
    const c = await catchup()
    rate.push(c.perSecond)
    rss.push(c.rssMb)
    baseRss.push(c.baseRssMb)
    cpuPerRecord.push(c.cpuUsPerRecord)
    cold.push(await relayColdStart([bundle]))
    coldTsx.push(await relayColdStart(['--import', 'tsx', 'relay/main.ts']))
    resync.push(await resyncAfterRestart())
    const f = await fakeAddrsLatency()
    fakeP50.push(f.p50)
    fakeP99.push(f.p99)
    fakeFirst.push(f.first)
  }
  const out: Metric[] = [
    { metric: 'replication_latency_p50_ms', value: round(median(p50), 2), unit: 'ms' },
    { metric: 'replication_latency_p99_ms', value: round(median(p99), 2), unit: 'ms' },
    { metric: 'catchup_10k_records_per_s', value: round(median(rate), 0), unit: 'records/s' },
    { metric: 'catchup_10k_peak_rss_mb', value: round(median(rss), 1), unit: 'MB' },
    // the same process before its first record: the runtime's own share of the peak
    { metric: 'catchup_10k_base_rss_mb', value: round(median(baseRss), 1), unit: 'MB' },
    { metric: 'catchup_10k_cpu_us_per_record', value: round(median(cpuPerRecord), 0), unit: 'µs' }
  ]
  out.push({ metric: 'relay_cold_start_ms', value: round(median(cold), 0), unit: 'ms' })
  out.push({ metric: 'relay_cold_start_tsx_ms', value: round(median(coldTsx), 0), unit: 'ms' })
  out.push({ metric: 'resync_after_restart_ms', value: round(median(resync), 0), unit: 'ms' })
  out.push({ metric: 'write_latency_fake_addrs_p50_ms', value: round(median(fakeP50), 2), unit: 'ms' })
  out.push({ metric: 'write_latency_fake_addrs_p99_ms', value: round(median(fakeP99), 2), unit: 'ms' })
  out.push({ metric: 'write_latency_fake_addrs_first_ms', value: round(median(fakeFirst), 1), unit: 'ms' })
  return out
}

export default suite

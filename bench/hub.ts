/**
 * The hub through the published go-threads JS client (`@textile/threads-client`, grpc-websockets:
 * one WebSocket per call), the hub running as its own process on LevelDB:
 *   hub_create_per_s            sequential one-instance creates (each a write transaction: one record)
 *   hub_find_100_ms             a find returning 100 of 10,000 instances (indexed equality), median
 *   hub_listen_latency_p50_ms   one client creates, another's listener fires: p50 of 200
 * and, to say what bounds them:
 *   hub_create_grpc_per_s       the same creates over gRPC (one HTTP/2 connection for all calls)
 *   hub_create_grpc_concurrent_per_s  creates over gRPC with 16 calls in flight (the DB commits one
 *                               transaction at a time; the calls' transport overlaps its writes)
 *   hub_call_ws_p50_ms          a call that does no work (Has of a missing ID) through the JS client:
 *                               a new WebSocket per call
 * Register with `hub: async () => (await import('./hub.js')).default` in bench/index.ts.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from '@connectrpc/connect'
import { createGrpcTransport } from '@connectrpc/connect-node'
import { Client, Where, type QueryJSON } from '@textile/threads-client'
import { Context } from '@textile/context'
import { PrivateKey } from '@textile/crypto'
import { ThreadID } from '@textile/threads-id'
import { API } from '../hub/gen/threads_pb.js'
import { median, round, type Metric, type Suite } from './index.js'

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const CREATES = 500
const DOCS = 10_000
const LISTEN_SAMPLES = 200
const IN_FLIGHT = 16

interface HubProcess { webUrl: string; grpcUrl: string; stop(): Promise<void> }

async function startHub(): Promise<HubProcess> {
  const repo = await mkdtemp(join(tmpdir(), 'weft-bench-hub-'))
  const env = {
    ...process.env,
    WEFT_HUB_REPO: repo, WEFT_HUB_GRPC: '127.0.0.1:0', WEFT_HUB_WEB: '127.0.0.1:0', WEFT_HUB_HTTP: '127.0.0.1:0',
    WEFT_HUB_TCP: '/ip4/127.0.0.1/tcp/0', WEFT_HUB_WS: '', WEFT_HUB_SYNC_INTERVAL_MS: '0'
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'hub/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>((r) => { child.once('exit', () => { r() }) })
  const ready = await new Promise<{ web: string; grpc: string }>((res, rej) => {
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s
      const line = out.split('\n').find((l) => l.startsWith('WEFT_HUB_READY '))
      if (line !== undefined) res(JSON.parse(line.slice('WEFT_HUB_READY '.length)) as { web: string; grpc: string })
    })
    void exited.then(() => { rej(new Error(`the hub exited before it was ready:\n${out}`)) })
  })
  return {
    webUrl: ready.web,
    grpcUrl: ready.grpc,
    async stop() {
      child.kill('SIGTERM')
      await exited
      await rm(repo, { recursive: true, force: true })
    }
  }
}

async function client(url: string): Promise<Client> {
  const c = new Client(new Context(url))
  await c.getToken(PrivateKey.fromRandom())
  return c
}

async function newDB(c: Client): Promise<ThreadID> {
  const id = ThreadID.fromRandom()
  await c.newDB(id, 'bench')
  await c.newCollection(id, {
    name: 'People',
    schema: { type: 'object', properties: { _id: { type: 'string' }, name: { type: 'string' }, group: { type: 'integer' } } },
    indexes: [{ path: 'group', unique: false }]
  })
  return id
}

async function createRate(c: Client): Promise<number> {
  const id = await newDB(c)
  for (let i = 0; i < 20; i++) await c.create(id, 'People', [{ name: `warm ${i}`, group: 0 }])
  const t0 = performance.now()
  for (let i = 0; i < CREATES; i++) await c.create(id, 'People', [{ name: `p${i}`, group: i % 100 }])
  return CREATES / ((performance.now() - t0) / 1000)
}

async function grpcCreateRate(url: string, c: Client): Promise<number> {
  const id = await newDB(c)
  const api = createClient(API, createGrpcTransport({ baseUrl: url }))
  const doc = (i: number): Uint8Array => new TextEncoder().encode(JSON.stringify({ name: `g${i}`, group: i % 100 }))
  for (let i = 0; i < 20; i++) await api.create({ dbID: id.toBytes(), collectionName: 'People', instances: [doc(-i - 1)] })
  const t0 = performance.now()
  for (let i = 0; i < CREATES; i++) await api.create({ dbID: id.toBytes(), collectionName: 'People', instances: [doc(i)] })
  return CREATES / ((performance.now() - t0) / 1000)
}

async function grpcConcurrentRate(url: string, c: Client): Promise<number> {
  const id = await newDB(c)
  const api = createClient(API, createGrpcTransport({ baseUrl: url }))
  const doc = (i: number): Uint8Array => new TextEncoder().encode(JSON.stringify({ name: `c${i}`, group: i % 100 }))
  for (let i = 0; i < 20; i++) await api.create({ dbID: id.toBytes(), collectionName: 'People', instances: [doc(-i - 1)] })
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < CREATES) await api.create({ dbID: id.toBytes(), collectionName: 'People', instances: [doc(next++)] })
  }))
  return CREATES / ((performance.now() - t0) / 1000)
}

async function emptyCallTimes(c: Client): Promise<number[]> {
  const id = await newDB(c)
  const times: number[] = []
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now()
    await c.has(id, 'People', ['missing'])
    times.push(performance.now() - t0)
  }
  return times
}

async function findTimes(c: Client, runs: number): Promise<number[]> {
  const id = await newDB(c)
  for (let i = 0; i < DOCS; i += 1_000) {
    await c.create(id, 'People', Array.from({ length: 1_000 }, (_, j) => ({ name: `p${i + j}`, group: (i + j) % 100 })))
  }
  const times: number[] = []
  for (let r = 0; r < Math.max(5, runs * 4); r++) {
    const t0 = performance.now()
    const found = await c.find(id, 'People', new Where('group').eq(r % 100) as unknown as QueryJSON)
    times.push(performance.now() - t0)
    if (found.length !== DOCS / 100) throw new Error(`find returned ${found.length} instances`)
  }
  return times
}

async function listenLatencies(writer: Client, reader: Client): Promise<number[]> {
  const id = await newDB(writer)
  const sent = new Map<string, number>()
  const latencies: number[] = []
  let wake: (() => void) | undefined
  const listener = reader.listen(id, [{ collectionName: 'People', actionTypes: ['CREATE'] }], (update) => {
    const at = update === undefined ? undefined : sent.get(update.instanceID)
    if (at !== undefined) { latencies.push(performance.now() - at); wake?.() }
  })
  // The listener is live once it reports a create.
  for (let i = 0; latencies.length === 0; i++) {
    if (i > 100) throw new Error('the listener never became live')
    sent.set(`warm${i}`, performance.now())
    await writer.create(id, 'People', [{ _id: `warm${i}`, name: 'warm', group: 0 }])
    await new Promise((r) => setTimeout(r, 50))
  }
  latencies.length = 0
  for (let i = 0; i < LISTEN_SAMPLES; i++) {
    const arrived = new Promise<void>((r) => { wake = r })
    sent.set(`x${i}`, performance.now())
    await writer.create(id, 'People', [{ _id: `x${i}`, name: 'x', group: 1 }])
    await Promise.race([arrived, new Promise((r) => setTimeout(r, 2_000))])
  }
  listener.close()
  return latencies
}

const suite: Suite = async (runs) => {
  const hub = await startHub()
  try {
    const a = await client(hub.webUrl)
    const b = await client(hub.webUrl)
    const rates: number[] = []
    for (let r = 0; r < runs; r++) rates.push(await createRate(a))
    const grpcRates: number[] = []
    for (let r = 0; r < runs; r++) grpcRates.push(await grpcCreateRate(hub.grpcUrl, a))
    const concurrentRates: number[] = []
    for (let r = 0; r < runs; r++) concurrentRates.push(await grpcConcurrentRate(hub.grpcUrl, a))
    const calls = await emptyCallTimes(a)
    const finds = await findTimes(a, runs)
    const lat = await listenLatencies(a, b)
    return [
      { metric: 'hub_create_grpc_per_s', value: round(median(grpcRates)), unit: 'creates/s' },
      { metric: 'hub_create_grpc_concurrent_per_s', value: round(median(concurrentRates)), unit: 'creates/s' },
      { metric: 'hub_call_ws_p50_ms', value: round(median(calls), 2), unit: 'ms' },
      { metric: 'hub_create_per_s', value: round(median(rates)), unit: 'creates/s' },
      { metric: 'hub_find_100_ms', value: round(median(finds), 2), unit: 'ms' },
      { metric: 'hub_listen_latency_p50_ms', value: round(median(lat), 2), unit: 'ms' }
    ] satisfies Metric[]
  } finally {
    await hub.stop()
  }
}

export default suite

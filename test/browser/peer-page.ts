/**
 * Test page of the browser peer: connects to the relay given in the query string (`?relay=`) and
 * exposes the client and helpers as `globalThis.weftPeer` for e2e/browser-*.spec.ts.
 * Query: relay (multiaddr), name (peer name), shared=0 (force the fallback), debug (namespaces).
 */
import { rtcCut } from './rtc-cut.js'
import * as sdk from '../../src/client/index.js'
import { generateKeyPair } from '../../src/core/identity.js'
import type { ClientRecord, ClientSyncStatus, ListenEvent, LogMessage, WeftClient } from '../../src/client/index.js'
import type { PeerPage } from './peer-page-types.js'

const params = new URLSearchParams(location.search)
let client: WeftClient | undefined
const records: ClientRecord[] = []
const statuses: ClientSyncStatus[] = []
const logs: LogMessage[] = []
const dbEvents: ListenEvent[] = []
const latencies: number[] = []
const now = (): number => performance.timeOrigin + performance.now()
let writing: { stop: boolean; done: Promise<void>; acked: string[]; failed: string[] } | undefined

function need(): WeftClient {
  if (client == null) throw new Error('connect first')
  return client
}

const page: PeerPage = {
  sdk,
  newIdentity: generateKeyPair,
  records,
  statuses,
  dbEvents,
  logs,
  latencies,
  async measure(thread) {
    const sub = need().net.subscribe({ threads: [thread] })
    void (async () => {
      for await (const r of sub) {
        const sentAt = (r.body as { sentAt?: number } | undefined)?.sentAt
        if (r.origin === 'remote' && typeof sentAt === 'number') latencies.push(now() - sentAt)
      }
    })().catch(() => undefined)
    await sub.ready
  },
  async writeTimed(thread, count, intervalMs) {
    const net = need().net
    for (let i = 0; i < count; i++) {
      await net.createRecord(thread, { sentAt: now(), i })
      await new Promise((r) => setTimeout(r, intervalMs))
    }
  },
  async connect(options = {}) {
    const relay = params.get('relay')
    const debug = params.get('debug')
    client = await sdk.connect({
      relays: relay != null ? [relay] : [],
      name: params.get('name') ?? 'weft-e2e',
      allowPrivate: true,
      rtcStrict: true,
      syncIntervalMs: 2000,
      ...(params.get('shared') === '0' ? { sharedWorker: false } : {}),
      ...(debug != null ? { debug, onLog: (l) => { logs.push(l); if (logs.length > 5000) logs.shift() } } : {}),
      ...options
    })
    return { peerId: client.peerId, identity: client.identity, mode: client.mode }
  },
  client: need,
  async collect(thread) {
    const sub = need().net.subscribe(thread != null ? { threads: [thread] } : {})
    void (async () => {
      for await (const r of sub) records.push(r)
    })().catch(() => undefined)
    await sub.ready
  },
  async watch(thread) {
    const sub = need().net.watchSyncStatus(thread)
    void (async () => {
      for await (const s of sub) statuses.push(s)
    })().catch(() => undefined)
    await sub.ready
  },
  async listenDB(thread, filters = []) {
    const sub = need().db.getDB(thread).listen(filters)
    void (async () => {
      for await (const e of sub) dbEvents.push(e)
    })().catch(() => undefined)
    await sub.ready
  },
  async run(fn) {
    return await fn(need())
  },
  rtc: rtcCut,
  startWriting(thread, prefix, intervalMs) {
    if (writing !== undefined) throw new Error('already writing')
    const state = { stop: false, acked: [] as string[], failed: [] as string[], done: Promise.resolve() }
    const db = need().db.getDB(thread)
    state.done = (async () => {
      for (let i = 0; !state.stop; i++) {
        const id = `${prefix}-${String(i).padStart(4, '0')}`
        try {
          await db.create('notes', [{ _id: id, text: id }], { timeoutMs: 30_000 })
          state.acked.push(id)
        } catch (err) {
          state.failed.push(`${id}: ${(err as Error).name}`)
        }
        await new Promise((r) => setTimeout(r, intervalMs))
      }
    })()
    writing = state
  },
  async stopWriting() {
    const state = writing
    if (state === undefined) return { acked: [], failed: [] }
    state.stop = true
    await state.done
    writing = undefined
    return { acked: state.acked, failed: state.failed }
  }
}

globalThis.weftPeer = page

/**
 * How the worker starts: the db answers from IndexedDB without waiting for the network (a relay
 * that accepts connections and never answers), the peer's secrets and store are read while the
 * rest of the worker's code loads (worker/preload.ts), and the worker reports each step of its
 * start (worker/startup.ts) in the order they happen.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { expect, test } from '@playwright/test'
import { peerUrl, uniqueName } from './browser-helpers.js'

/** A TCP server on loopback that accepts every connection and never sends a byte. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as { port: number }
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

test('the db answers from IndexedDB while the relay never answers, before and after a reload', async ({ browser }) => {
  const silent = await silentServer()
  const context = await browser.newContext()
  try {
    const peerId = process.env.WEFT_RELAY_PEER_ID
    if (peerId == null) throw new Error('WEFT_RELAY_PEER_ID is not set (the global setup starts the relay)')
    const relays = [`/ip4/127.0.0.1/tcp/${silent.port}/ws/p2p/${peerId}`]
    const name = uniqueName('startup')
    const page = await context.newPage()
    await page.goto(peerUrl({ name }))
    await page.waitForFunction(() => globalThis.weftPeer !== undefined)

    const first = await page.evaluate(async (r) => {
      await globalThis.weftPeer!.connect({ relays: r })
      const c = globalThis.weftPeer!.client()
      const empty = await c.db.listDBs({ timeoutMs: 10_000 })
      const db = await c.db.newDB(undefined, { name: 'offline', collections: [{ name: 'notes', schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' } } } }], timeoutMs: 10_000 })
      await db.create('notes', [{ _id: 'n1', text: 'kept' }], { timeoutMs: 10_000 })
      const info = await c.info()
      return { empty, id: db.id, relays: info.relays, startup: info.timings.startup ?? {} }
    }, relays)
    expect(first.empty).toEqual([])
    // The relay was never reached: everything above came from IndexedDB.
    expect(first.relays.map((r) => r.reserved)).toEqual([false])

    // Each step once, in the order the worker takes them.
    const s = first.startup
    for (const step of ['worker:script', 'worker:evaluated', 'preload:secrets', 'preload:store-open', 'worker:host-loaded', 'host:attach',
      'peer:loaded', 'peer:libp2p', 'peer:net-started', 'host:worker-lock', 'host:modules', 'db:manager']) {
      expect(s[step], `step ${step} in ${JSON.stringify(s)}`).toBeGreaterThan(0)
    }
    const order = ['worker:created', 'worker:script', 'worker:evaluated', 'worker:host-loaded', 'host:attach', 'peer:loaded', 'peer:libp2p',
      'peer:net-started', 'host:modules', 'db:manager']
    for (let i = 1; i < order.length; i++) expect(s[order[i]!]!, `${order[i - 1]} before ${order[i]}`).toBeGreaterThanOrEqual(s[order[i - 1]!]!)
    // The secrets and the store were read by the preload (before the peer took them).
    expect(s['preload:secrets']!).toBeLessThanOrEqual(s['peer:loaded']!)
    expect(s['preload:store-open']!).toBeLessThanOrEqual(s['peer:loaded']!)

    // A reload starts a new worker (the only tab left): the same secrets and data, still offline.
    await page.reload()
    await page.waitForFunction(() => globalThis.weftPeer !== undefined)
    const again = await page.evaluate(async ([r, id]) => {
      const before = await globalThis.weftPeer!.connect({ relays: r })
      const c = globalThis.weftPeer!.client()
      const dbs = await c.db.listDBs({ timeoutMs: 10_000 })
      const notes = await c.db.getDB(id).find('notes', {}, { timeoutMs: 10_000 })
      return { peerId: before.peerId, dbs: dbs.map((d) => d.id), notes }
    }, [relays, first.id] as const)
    expect(again.dbs).toEqual([first.id])
    expect(again.notes).toEqual([{ _id: 'n1', text: 'kept' }])
  } finally {
    await context.close()
    await silent.close()
  }
})

/**
 * Browsers on a network that fails under them, against a relay process of their own:
 *
 * - each device reaches everything through a proxy the test unplugs again and again while both
 *   write (e2e/network.ts): connections die in the middle of syncs, pushes and reservations. No
 *   honest browser is ever struck or banned — by the other browser or by the relay — and once
 *   plugged back they converge on every write either acknowledged;
 * - the relay is killed (SIGKILL, by its PID) while the browsers write through it, and started
 *   again on the same port and data: every write acknowledged to a browser arrives at the other,
 *   and at the relay (a browser that joins later from the relay alone gets them all).
 *
 * WebRTC is off here, so every byte between the browsers crosses the relay and its failures.
 */
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test'
import { cleanupRelays, metricValue, scrape, startRelayProcess, type RelayProcess } from '../test/relay/harness.js'
import { noteIDs, openTab, relayReady, shareDB, uniqueName } from './browser-helpers.js'
import { pageServer, unpluggableNetwork, type Network } from './network.js'
import { prng, sleep } from './storm.js'

interface Device { context: BrowserContext; page: Page; peerId: string }

async function device(browser: Browser, relay: string, network?: Network): Promise<Device> {
  const context = await browser.newContext(network?.contextOptions(pageServer()) ?? {})
  const page = await openTab(context, { name: uniqueName('net') }, { relays: [relay], webrtc: false, syncIntervalMs: 2000 })
  const { peerId } = await relayReady(page)
  return { context, page, peerId }
}

/** Peers this page's status shows struck or banned. */
async function punished(page: Page, db: string): Promise<Array<{ peer: string; strikes: number; bannedUntil?: number }>> {
  const s = await page.evaluate(async (t) => await globalThis.weftPeer!.client().net.syncStatus(t), db)
  return s.peers.filter((p) => p.strikes > 0 || p.bannedUntil !== undefined).map((p) => ({ peer: p.peer, strikes: p.strikes, ...(p.bannedUntil !== undefined ? { bannedUntil: p.bannedUntil } : {}) }))
}

test('browsers whose network is unplugged in the middle of requests are never struck or banned, and converge once it is back', async ({ browser }) => {
  test.setTimeout(240_000)
  const seed = Number(process.env.WEFT_E2E_SEED ?? Date.now() % 100_000)
  console.log(`unplug seed ${seed} (WEFT_E2E_SEED=${seed} replays it)`)
  const random = prng(seed)
  const relay = await startRelayProcess({ env: { WEFT_RELAY_SYNC_INTERVAL_MS: '1000' } })
  const networks = [await unpluggableNetwork(), await unpluggableNetwork()]
  const devices: Device[] = []
  try {
    for (const n of networks) devices.push(await device(browser, relay.wsAddr, n))
    const [a, b] = devices as [Device, Device]
    const db = await shareDB(a.page, [b.page], relay.wsAddr)
    await a.page.evaluate((t) => { globalThis.weftPeer!.startWriting(t, 'a', 50) }, db)
    await b.page.evaluate((t) => { globalThis.weftPeer!.startWriting(t, 'b', 50) }, db)

    // 12 cuts at random moments, of one device or both, 0.2–2 s each, for about 30 s.
    for (let i = 0; i < 12; i++) {
      await sleep(300 + random() * 1500)
      const which = random() < 0.3 ? networks : [networks[Math.floor(random() * 2)]!]
      for (const n of which) n.unplug()
      await sleep(200 + random() * 1800)
      for (const n of which) n.plug()
    }
    const [wa, wb] = await Promise.all([
      a.page.evaluate(async () => await globalThis.weftPeer!.stopWriting()),
      b.page.evaluate(async () => await globalThis.weftPeer!.stopWriting())
    ])
    expect(wa.acked.length, wa.failed.slice(0, 5).join('; ')).toBeGreaterThan(20)
    expect(wb.acked.length, wb.failed.slice(0, 5).join('; ')).toBeGreaterThan(20)
    const all = [...wa.acked, ...wb.acked].sort()
    // Plugged back: both hold every acknowledged write (and nobody was punished on the way).
    await expect.poll(async () => await noteIDs(a.page, db), { timeout: 60_000 }).toEqual(expect.arrayContaining(all))
    await expect.poll(async () => await noteIDs(b.page, db), { timeout: 60_000 }).toEqual(expect.arrayContaining(all))
    expect(await noteIDs(a.page, db)).toEqual(await noteIDs(b.page, db))
    expect(await punished(a.page, db)).toEqual([])
    expect(await punished(b.page, db)).toEqual([])
    expect(metricValue(await scrape(relay), 'weft_relay_rejected_total')).toBe(0)
    expect(networks.every((n) => n.tunnels > 2)).toBe(true)
  } finally {
    for (const d of devices) await d.context.close()
    for (const n of networks) await n.close()
    await cleanupRelays()
  }
})

test('the relay killed while browsers write, then started again: every acknowledged write arrives at the other browser and at the relay', async ({ browser }) => {
  test.setTimeout(240_000)
  let relay: RelayProcess = await startRelayProcess({ env: { WEFT_RELAY_SYNC_INTERVAL_MS: '1000' } })
  const wsPort = /\/tcp\/(\d+)\/ws/.exec(relay.wsAddr)![1]!
  const restart = { repo: relay.repo, env: { WEFT_RELAY_WS: `/ip4/127.0.0.1/tcp/${wsPort}/ws`, WEFT_RELAY_SYNC_INTERVAL_MS: '1000' } }
  const addr = relay.wsAddr
  const contexts: BrowserContext[] = []
  try {
    const a = await device(browser, addr)
    const b = await device(browser, addr)
    contexts.push(a.context, b.context)
    const db = await shareDB(a.page, [b.page], addr)
    await a.page.evaluate((t) => { globalThis.weftPeer!.startWriting(t, 'a', 100) }, db)
    await b.page.evaluate((t) => { globalThis.weftPeer!.startWriting(t, 'b', 100) }, db)
    await sleep(2000)

    // Killed outright: no goodbye to anyone.
    process.kill(relay.pid, 'SIGKILL')
    expect((await relay.exited).signal).toBe('SIGKILL')
    await expect.poll(async () => await a.page.evaluate(async (t) => (await globalThis.weftPeer!.client().net.syncStatus(t)).online, db), { timeout: 15_000 }).toBe(false)
    await sleep(3000)
    relay = await startRelayProcess(restart)
    expect(relay.wsAddr).toBe(addr)
    await sleep(3000)

    const [wa, wb] = await Promise.all([
      a.page.evaluate(async () => await globalThis.weftPeer!.stopWriting()),
      b.page.evaluate(async () => await globalThis.weftPeer!.stopWriting())
    ])
    const all = [...wa.acked, ...wb.acked].sort()
    expect(wa.acked.length).toBeGreaterThan(30)
    await expect.poll(async () => await noteIDs(b.page, db), { timeout: 60_000 }).toEqual(expect.arrayContaining(wa.acked))
    await expect.poll(async () => await noteIDs(a.page, db), { timeout: 60_000 }).toEqual(expect.arrayContaining(wb.acked))

    // The relay holds them all: wait until it holds each browser's whole log, close both
    // browsers, and join from the relay alone.
    for (const d of [a, b]) {
      await expect.poll(async () => await d.page.evaluate(async ([t, r]) => {
        const c = globalThis.weftPeer!.client()
        const own = (await c.net.getThread(t)).logs.find((l) => l.managed)!.head.counter
        const held = (await c.net.syncStatus(t)).peers.find((p) => p.peer === r)?.holds ?? 0
        return own - held
      }, [db, relay.peerId] as const), { timeout: 60_000 }).toBe(0)
    }
    const key = await a.page.evaluate(async (t) => await globalThis.weftPeer!.client().db.getDB(t).info(), db)
    await a.context.close()
    await b.context.close()
    const c = await device(browser, addr)
    contexts.push(c.context)
    const invite = await c.page.evaluate(([info, r, t]) => globalThis.weftPeer!.sdk.toInvite({ ...info, addrs: [`${r}/thread/${t}`] }), [key, addr, db] as const)
    await c.page.evaluate(async (inv) => { await globalThis.weftPeer!.client().db.join(inv) }, invite)
    await expect.poll(async () => await noteIDs(c.page, db), { timeout: 60_000 }).toEqual(expect.arrayContaining(all))
  } finally {
    for (const c of contexts) await c.close().catch(() => undefined)
    await cleanupRelays()
  }
})


/**
 * Browsers that met once find each other again at once: after a reload (the worker restarts with
 * the tab), after the device's worker restarts (its only tab closed and opened again), after its
 * tab crashes, and after the network comes back, both devices hold a new direct WebRTC
 * connection within 5 s of the returning browser being up — not at the next sync interval (10 s
 * here) or a backoff, and not only once someone writes. The side that stayed drops its stale
 * connection to the browser's previous self (it may look open for seconds) instead of trusting it.
 *
 * Cutting a device's network: everything its browser context connects to goes through a proxy
 * the test unplugs (e2e/network.ts), its direct paths are closed (test/browser/rtc-cut.ts:
 * Chromium cannot drop one context's UDP), and the page is set offline; the network comes back
 * in the reverse order, so the page hears `online` as it would.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test'
import { noteIDs, openTab, relayReady, reloadTab, shareDB, uniqueName, webrtcSince } from './browser-helpers.js'
import { pageServer, unpluggableNetwork, type Network } from './network.js'

/** The sync interval of these tests: re-meeting must not wait for it. */
const SYNC_INTERVAL_MS = 10_000
/** How soon both sides must be direct again once the returning browser is up. */
const REMEET_MS = 5_000

interface Device { context: BrowserContext; page: Page; peerId: string; name: string; connect: Record<string, unknown> }

async function device(context: BrowserContext, prefix: string, connect: Record<string, unknown> = {}): Promise<Device> {
  const name = uniqueName(prefix)
  const options = { syncIntervalMs: SYNC_INTERVAL_MS, ...connect }
  const page = await openTab(context, { name }, options)
  const { peerId } = await relayReady(page)
  return { context, page, peerId, name, connect: options }
}

async function write(page: Page, db: string, id: string): Promise<void> {
  await page.evaluate(async ([t, i]) => { await globalThis.weftPeer!.client().db.getDB(t).create('notes', [{ _id: i, text: i }]) }, [db, id] as const)
}

/** Both devices hold a WebRTC connection to each other opened at or after `since`, within REMEET_MS. */
async function expectDirectAgain(x: Device, y: Device, since: number): Promise<number> {
  const t0 = Date.now()
  await expect.poll(async () => await webrtcSince(x.page, y.peerId, since), { timeout: REMEET_MS, intervals: [100] }).toBe(true)
  await expect.poll(async () => await webrtcSince(y.page, x.peerId, since), { timeout: Math.max(500, REMEET_MS - (Date.now() - t0)), intervals: [100] }).toBe(true)
  return Date.now() - t0
}

test('a browser that reloads, whose worker restarts or whose tab crashes is directly connected to its peer again within 5 s, on both sides', async ({ browser }) => {
  const contexts = [await browser.newContext(), await browser.newContext()]
  try {
    const [one, two] = [await device(contexts[0]!, 'ra'), await device(contexts[1]!, 'rb')]
    // Reload each side once: the smaller and the larger peer ID dial differently.
    const [small, large] = one.peerId < two.peerId ? [one, two] : [two, one]
    const db = await shareDB(small.page, [large.page])
    await write(large.page, db, 'before')
    await expect.poll(async () => await webrtcSince(small.page, large.peerId, 0), { timeout: 30_000 }).toBe(true)
    await expect.poll(async () => await noteIDs(small.page, db), { timeout: 30_000 }).toContain('before')

    for (const returning of [large, small]) {
      const stayed = returning === large ? small : large
      const since = Date.now()
      await reloadTab(returning.page, returning.connect)
      await expectDirectAgain(returning, stayed, since)
      // And they sync over it, both ways.
      await write(returning.page, db, `after-reload-${returning.name}`)
      await write(stayed.page, db, `to-reloaded-${returning.name}`)
      await expect.poll(async () => await noteIDs(stayed.page, db), { timeout: 15_000 }).toContain(`after-reload-${returning.name}`)
      await expect.poll(async () => await noteIDs(returning.page, db), { timeout: 15_000 }).toContain(`to-reloaded-${returning.name}`)
    }

    // The worker restarts: the device's only tab closes, a new one opens.
    let since = Date.now()
    await large.page.close()
    large.page = await openTab(large.context, { name: large.name }, large.connect)
    await expectDirectAgain(large, small, since)

    // The tab crashes (its renderer, and the worker with it): no goodbye, and the other side's
    // connection to it stays open-looking until it is found stale.
    const crashed = large.page
    const session = await large.context.newCDPSession(crashed)
    // Page.crash answers only when the page is gone (or never): do not wait on it.
    void session.send('Page.crash').catch(() => undefined)
    await expect.poll(async () => await crashed.evaluate(() => true).catch(() => false), { timeout: 10_000 }).toBe(false)
    since = Date.now()
    large.page = await openTab(large.context, { name: large.name }, large.connect)
    await expectDirectAgain(large, small, since)
    await write(large.page, db, 'after-crash')
    await expect.poll(async () => await noteIDs(small.page, db), { timeout: 15_000 }).toContain('after-crash')
  } finally {
    for (const c of contexts) await c.close()
  }
})

test('a browser whose network comes back is directly connected to its peer again within 5 s, and catches up', async ({ browser }) => {
  const networks: Network[] = [await unpluggableNetwork(), await unpluggableNetwork()]
  const contexts = await Promise.all(networks.map(async (n) => await browser.newContext(n.contextOptions(pageServer()))))
  try {
    const a = await device(contexts[0]!, 'na')
    const b = await device(contexts[1]!, 'nb')
    const db = await shareDB(a.page, [b.page])
    await expect.poll(async () => await webrtcSince(a.page, b.peerId, 0), { timeout: 30_000 }).toBe(true)

    // B's network goes: every connection through its proxy, its direct paths, the page's flag.
    networks[1]!.unplug()
    await b.page.evaluate(() => globalThis.weftPeer!.rtc.cut())
    await b.context.setOffline(true)
    await expect.poll(async () => await b.page.evaluate(async (t) => (await globalThis.weftPeer!.client().net.syncStatus(t)).online, db), { timeout: 15_000 }).toBe(false)
    // Both sides write while apart.
    await write(a.page, db, 'a-while-apart')
    await write(b.page, db, 'b-while-apart')

    // The network is back.
    const since = Date.now()
    networks[1]!.plug()
    await b.page.evaluate(() => { globalThis.weftPeer!.rtc.heal() })
    await b.context.setOffline(false)
    await expectDirectAgain(b, a, since)
    await expect.poll(async () => await noteIDs(a.page, db), { timeout: 15_000 }).toContain('b-while-apart')
    await expect.poll(async () => await noteIDs(b.page, db), { timeout: 15_000 }).toContain('a-while-apart')
  } finally {
    for (const c of contexts) await c.close()
    for (const n of networks) await n.close()
  }
})

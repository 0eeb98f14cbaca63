/**
 * Three browsers in a storm: each loses its whole network at random (seeded) moments for up to
 * 8 s at a time while all three write, for 30 s; then all are back. They converge — every write
 * acknowledged anywhere is everywhere, and the three hold the same state — within 30 s of the
 * storm's end (the benchmark measures it: storm_converge_after_heal_ms), with no honest peer
 * struck or banned anywhere and their direct WebRTC connections back.
 */
import { expect, test } from '@playwright/test'
import { cleanupRelays, metricValue, scrape, startRelayProcess } from '../test/relay/harness.js'
import { openTab, relayReady, shareDB, uniqueName, webrtcSince } from './browser-helpers.js'
import { pageServer, unpluggableNetwork } from './network.js'
import { convergence, prng, storm, type StormDevice } from './storm.js'

const CONVERGE_MS = 30_000

test('three browsers cut at random for 30 s converge within 30 s once all are back, and nobody is banned', async ({ browser }) => {
  test.setTimeout(300_000)
  const seed = Number(process.env.WEFT_E2E_SEED ?? Date.now() % 100_000)
  console.log(`storm seed ${seed} (WEFT_E2E_SEED=${seed} replays it)`)
  const relay = await startRelayProcess({ env: { WEFT_RELAY_SYNC_INTERVAL_MS: '2000' } })
  const devices: StormDevice[] = []
  try {
    for (const name of ['ana', 'ben', 'cy']) {
      const network = await unpluggableNetwork()
      const context = await browser.newContext(network.contextOptions(pageServer()))
      const page = await openTab(context, { name: uniqueName(name) }, { relays: [relay.wsAddr] })
      devices.push({ name, context, page, network })
    }
    const peers = await Promise.all(devices.map(async (d) => (await relayReady(d.page)).peerId))
    const db = await shareDB(devices[0]!.page, devices.slice(1).map((d) => d.page), relay.wsAddr)
    for (const d of devices) await d.page.evaluate(([t, n]) => { globalThis.weftPeer!.startWriting(t, n, 200) }, [db, d.name] as const)

    const events: string[] = []
    await storm(devices, {
      durationMs: 30_000, random: prng(seed), minDownMs: 1000, maxDownMs: 8000, minUpMs: 1000, maxUpMs: 6000,
      onEvent: (e) => { events.push(`${e.device} ${e.down ? 'down' : 'up'}`) }
    })
    const written = await Promise.all(devices.map(async (d) => await d.page.evaluate(async () => await globalThis.weftPeer!.stopWriting())))
    const acked = written.flatMap((w) => w.acked).sort()
    expect(events.filter((e) => e.endsWith('down')).length).toBeGreaterThan(3)
    expect(written.every((w) => w.acked.length > 20)).toBe(true)

    const ms = await convergence(devices.map((d) => d.page), db, acked, CONVERGE_MS)
    console.log(`converged ${ms} ms after the storm, ${acked.length} writes, ${events.length} cuts and heals`)
    for (const d of devices) {
      const s = await d.page.evaluate(async (t) => await globalThis.weftPeer!.client().net.syncStatus(t), db)
      expect(s.peers.filter((p) => p.strikes > 0 || p.bannedUntil !== undefined)).toEqual([])
    }
    expect(metricValue(await scrape(relay), 'weft_relay_rejected_total')).toBe(0)
    // Direct again: every pair holds a WebRTC connection made after the storm's last heal.
    for (let i = 0; i < devices.length; i++) {
      for (let j = 0; j < devices.length; j++) {
        if (i === j) continue
        await expect.poll(async () => await webrtcSince(devices[i]!.page, peers[j]!, 0), { timeout: 15_000 }).toBe(true)
      }
    }
  } finally {
    for (const d of devices) {
      await d.context.close()
      await d.network.close()
    }
    await cleanupRelays()
  }
})

/**
 * A storm over browsers: each device loses its whole network at random moments for random
 * lengths of time — its proxy unplugged (e2e/network.ts), its direct WebRTC paths closed
 * (test/browser/rtc-cut.ts), its page offline — and gets it back, independently of the others,
 * from a seeded PRNG (the same seed replays the same storm). Then all come back, and
 * `convergence()` measures how long until every device holds the same state.
 *
 * Shared by the storm test (e2e/browser-storm.spec.ts) and the browser benchmark.
 */
import type { BrowserContext, Page } from '@playwright/test'
import type { Network } from './network.js'

export interface StormDevice {
  name: string
  context: BrowserContext
  page: Page
  network: Network
}

/** Seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** The device loses its network: relay path, direct paths, the page's flag. */
export async function cut(d: StormDevice): Promise<void> {
  d.network.unplug()
  await d.page.evaluate(() => globalThis.weftPeer!.rtc.cut())
  await d.context.setOffline(true)
}

/** The device's network is back (the page hears `online`, as it would). */
export async function heal(d: StormDevice): Promise<void> {
  d.network.plug()
  await d.page.evaluate(() => { globalThis.weftPeer!.rtc.heal() })
  await d.context.setOffline(false)
}

export interface StormInit {
  /** How long the storm lasts (ms). */
  durationMs: number
  random: () => number
  /** Shortest and longest time a device stays cut (ms). */
  minDownMs: number
  maxDownMs: number
  /** Shortest and longest time a device stays up between cuts (ms). */
  minUpMs: number
  maxUpMs: number
  /** Told of each cut and heal. */
  onEvent?: (event: { device: string; down: boolean; at: number }) => void
}

/** Cut and heal every device at random until the storm ends; every device is up when it resolves. */
export async function storm(devices: StormDevice[], init: StormInit): Promise<void> {
  const end = Date.now() + init.durationMs
  const between = (lo: number, hi: number): number => lo + init.random() * (hi - lo)
  await Promise.all(devices.map(async (d) => {
    // Plans are drawn up front, so one seed gives one storm whatever the timing of the calls.
    const plan: Array<[number, number]> = []
    for (let t = between(0, init.maxUpMs); t < init.durationMs;) {
      const down = between(init.minDownMs, init.maxDownMs)
      plan.push([t, Math.min(down, init.durationMs - t)])
      t += down + between(init.minUpMs, init.maxUpMs)
    }
    const start = Date.now()
    for (const [at, down] of plan) {
      await sleep(start + at - Date.now())
      await cut(d)
      init.onEvent?.({ device: d.name, down: true, at: Date.now() })
      await sleep(down)
      await heal(d)
      init.onEvent?.({ device: d.name, down: false, at: Date.now() })
    }
    await sleep(end - Date.now())
  }))
}

/** A page's view of the DB: its notes' IDs and its state hash. */
export async function dbState(page: Page, db: string): Promise<{ ids: string[]; hash: string }> {
  return await page.evaluate(async (t) => {
    const d = globalThis.weftPeer!.client().db.getDB(t)
    const ids = (await d.find('notes')).map((n) => n._id as string).sort()
    return { ids, hash: await d.stateHash() }
  }, db)
}

/**
 * Waits until every page holds every ID of `expected` and all hold the same state; resolves with
 * how long it took (ms), or rejects after `timeoutMs` saying what differed.
 */
export async function convergence(pages: Page[], db: string, expected: string[], timeoutMs: number): Promise<number> {
  const t0 = Date.now()
  let last = ''
  while (true) {
    const states = await Promise.all(pages.map(async (p) => await dbState(p, db)))
    const missing = states.map((s) => expected.filter((id) => !s.ids.includes(id)).length)
    if (missing.every((m) => m === 0) && states.every((s) => s.hash === states[0]!.hash)) return Date.now() - t0
    last = `missing ${missing.join('/')} of ${expected.length}; hashes ${states.map((s) => s.hash.slice(0, 8)).join(' ')}`
    if (Date.now() - t0 > timeoutMs) throw new Error(`not converged after ${timeoutMs} ms: ${last}`)
    await sleep(100)
  }
}

/**
 * Helpers of the browser peer e2e: the test page's URL (with the relay from the global setup),
 * opening devices (browser contexts) and tabs (pages), and reading the page's state.
 */
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test'

export function relayAddr(): string {
  const ws = process.env.WEFT_RELAY_WS
  if (ws == null) throw new Error('WEFT_RELAY_WS is not set (the global setup starts the relay)')
  return ws
}

export function peerUrl(query: Record<string, string> = {}): string {
  const base = process.env.WEFT_VITE_URL
  if (base == null) throw new Error('WEFT_VITE_URL is not set (the global setup starts Vite)')
  const q = new URLSearchParams({ relay: relayAddr(), ...query })
  return `${base}/test/browser/peer.html?${q.toString()}`
}

/** A fresh peer name per test, so IndexedDB and SharedWorker scopes never collide. */
export function uniqueName(prefix = 'e2e'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`
}

/** Open a tab on the test page and connect it. */
export async function openTab(context: BrowserContext, query: Record<string, string>, connect: Record<string, unknown> = {}): Promise<Page> {
  const page = await context.newPage()
  page.on('pageerror', (err) => { console.log(`[pageerror ${query.name ?? ''}] ${err.message}`) })
  if (process.env.WEFT_E2E_CONSOLE != null) page.on('console', (m) => { console.log(`[console ${query.name ?? ''}] ${m.text()}`) })
  await page.goto(peerUrl(query))
  await page.waitForFunction(() => globalThis.weftPeer !== undefined)
  await page.evaluate(async (o) => { await globalThis.weftPeer!.connect(o) }, connect)
  return page
}

export async function newDevice(browser: Browser): Promise<BrowserContext> {
  return await browser.newContext()
}

/** Wait until the tab holds a relay reservation; returns the peer info. */
export async function relayReady(page: Page): Promise<{ peerId: string; addrs: string[] }> {
  return await page.evaluate(async () => await globalThis.weftPeer!.client().relayReady({ timeoutMs: 30_000 }))
}

/** Wait until the page has collected `n` records. */
export async function expectRecords(page: Page, n: number, timeout = 30_000): Promise<void> {
  await expect.poll(async () => await page.evaluate(() => globalThis.weftPeer!.records.length), { timeout }).toBeGreaterThanOrEqual(n)
}

/** Dump the worker's log lines forwarded to a page (debug runs). */
export async function dumpLogs(page: Page, label: string): Promise<void> {
  const logs = await page.evaluate(() => globalThis.weftPeer!.logs.map((l) => `${l.namespace} ${l.text}`))
  console.log(`--- worker logs ${label} ---\n${logs.slice(-200).join('\n')}`)
}

export async function createShared(page: Page): Promise<{ thread: string; invite: string }> {
  return await page.evaluate(async (relay) => {
    const p = globalThis.weftPeer!
    const info = await p.client().net.createThread()
    await p.client().net.addReplicator(info.id, relay)
    const fresh = await p.client().net.getThread(info.id)
    return { thread: info.id, invite: p.sdk.toInvite({ ...fresh, name: 'notes' }) }
  }, relayAddr())
}

export async function join(page: Page, invite: string): Promise<string> {
  return await page.evaluate(async (inv) => {
    const p = globalThis.weftPeer!
    const { thread, key, addrs } = p.sdk.fromInvite(inv)
    const errors: string[] = []
    for (const a of addrs) {
      try {
        await p.client().net.addThread(a, { threadKey: key, timeoutMs: 20_000 })
        return thread
      } catch (err) {
        errors.push(`${a}: ${(err as Error).name} ${(err as Error).message}`)
      }
    }
    throw new Error(`could not join: ${errors.join('; ')}`)
  }, invite)
}

export async function write(page: Page, thread: string, body: unknown): Promise<void> {
  await page.evaluate(async ([t, b]) => { await globalThis.weftPeer!.client().net.createRecord(t, b) }, [thread, body] as const)
}

export async function via(page: Page, thread: string, peer: string): Promise<string> {
  return await page.evaluate(async ([t, p]) => {
    const s = await globalThis.weftPeer!.client().net.syncStatus(t)
    return s.peers.find((x) => x.peer === p)?.via ?? 'none'
  }, [thread, peer] as const)
}

/** A collection for tests that only need one: notes with a text and a number. */
export const NOTES = {
  name: 'notes',
  schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' }, n: { type: 'number' }, from: { type: 'string' } }, required: ['_id'] }
}

/** A DB of `owner` with NOTES, handed to `relay`, joined by every page of `others`; its ID. */
export async function shareDB(owner: Page, others: Page[], relay = relayAddr()): Promise<string> {
  const { id, invite } = await owner.evaluate(async ([r, notes]) => {
    const c = globalThis.weftPeer!.client()
    const db = await c.db.newDB(undefined, { name: 'shared', collections: [notes] })
    await c.net.addReplicator(db.id, r)
    return { id: db.id, invite: await db.invite() }
  }, [relay, NOTES] as const)
  for (const p of others) await p.evaluate(async (inv) => { await globalThis.weftPeer!.client().db.join(inv) }, invite)
  return id
}

/** Whether the page holds a WebRTC connection to `peer` opened at or after `since` (ms since the epoch). */
export async function webrtcSince(page: Page, peer: string, since: number): Promise<boolean> {
  const info = await page.evaluate(async () => await globalThis.weftPeer!.client().info())
  return info.connections.some((c) => c.peer === peer && c.via === 'webrtc' && c.openedAt >= since)
}

/** The note IDs a page's DB holds. */
export async function noteIDs(page: Page, db: string): Promise<string[]> {
  return await page.evaluate(async (t) => (await globalThis.weftPeer!.client().db.getDB(t).find('notes')).map((n) => n._id as string).sort(), db)
}

/** Reload the page and connect its client again (the worker restarts if it was the device's only tab). */
export async function reloadTab(page: Page, connect: Record<string, unknown> = {}): Promise<void> {
  await page.reload()
  await page.waitForFunction(() => globalThis.weftPeer !== undefined)
  await page.evaluate(async (o) => { await globalThis.weftPeer!.connect(o) }, connect)
}

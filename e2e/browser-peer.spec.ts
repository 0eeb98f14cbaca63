/**
 * The browser peer in Chromium against the real relay: the worker starts, holds a reservation,
 * keeps its peer ID and identity across reloads, and serves several tabs with one peer.
 */
import { expect, test } from '@playwright/test'
import { openTab, relayReady, uniqueName } from './browser-helpers.js'

test('a tab connects, the worker holds a relay reservation, and data, peer ID and identity survive a reload', async ({ browser }) => {
  const context = await browser.newContext()
  const name = uniqueName('peer')
  const page = await openTab(context, { name })
  const info = await relayReady(page)
  expect(info.addrs.some((a) => a.includes('/p2p-circuit'))).toBe(true)
  const before = await page.evaluate(async () => {
    const c = globalThis.weftPeer!.client()
    const t = await c.net.createThread()
    const r = await c.net.createRecord(t.id, { kept: true })
    return { peerId: c.peerId, identity: c.identity, mode: c.mode, thread: t.id, cid: r.cid }
  })
  expect(before.mode).toBe('shared-worker')
  await page.reload()
  await page.waitForFunction(() => globalThis.weftPeer !== undefined)
  const after = await page.evaluate(async () => await globalThis.weftPeer!.connect())
  expect(after.peerId).toBe(before.peerId)
  expect(after.identity).toBe(before.identity)
  const kept = await page.evaluate(async ([t, cid]) => {
    const c = globalThis.weftPeer!.client()
    return { threads: await c.net.listThreads(), body: (await c.net.getRecord(t, cid)).body }
  }, [before.thread, before.cid] as const)
  expect(kept.threads).toContain(before.thread)
  expect(kept.body).toEqual({ kept: true })
  await context.close()
})

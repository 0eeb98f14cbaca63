/**
 * The relay as the only source: B is away (its browser closed) while A writes 500 records; A goes
 * away too; B comes back and receives all 500 from the relay. B's own data, peer ID and identity
 * survive its restart (a persistent browser profile is one device across restarts).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { chromium, expect, test, type BrowserContext, type Page } from '@playwright/test'
import { createShared, join, openTab, relayReady, uniqueName, write } from './browser-helpers.js'

const COUNT = 500

async function headOf(page: Page, thread: string, log: string): Promise<number> {
  return await page.evaluate(async ([t, l]) => {
    const info = await globalThis.weftPeer!.client().net.getThread(t)
    return info.logs.find((x) => x.id === l)?.head.counter ?? 0
  }, [thread, log] as const)
}

test('B receives from the relay alone the 500 records A wrote while B was away', async ({ browser }, testInfo) => {
  test.setTimeout(180_000)
  const launch = testInfo.project.use.launchOptions ?? {}
  const profile = await mkdtemp(joinPath(tmpdir(), 'weft-e2e-b-'))
  const nameA = uniqueName('a')
  const nameB = uniqueName('b')
  const deviceA = await browser.newContext()
  let deviceB: BrowserContext | undefined
  try {
    deviceB = await chromium.launchPersistentContext(profile, { ...launch, headless: true })
    const a = await openTab(deviceA, { name: nameA })
    let b = await openTab(deviceB, { name: nameB })
    await Promise.all([relayReady(a), relayReady(b)])
    const { thread } = await createShared(a)
    const inviteB = await a.evaluate(async (t) => {
      const p = globalThis.weftPeer!
      return p.sdk.toInvite(await p.client().net.getThread(t))
    }, thread)
    await join(b, inviteB)
    await write(b, thread, { from: 'b', n: 0 })
    await write(a, thread, { from: 'a', n: 0 })
    const logA = await a.evaluate(async (t) => (await globalThis.weftPeer!.client().net.getThread(t)).logs.find((l) => l.managed)!.id, thread)
    const before = await b.evaluate(async () => ({ peerId: globalThis.weftPeer!.client().peerId, identity: globalThis.weftPeer!.client().identity }))
    await expect.poll(async () => await headOf(b, thread, logA), { timeout: 30_000 }).toBe(1)

    // B goes away: its whole browser closes.
    await deviceB.close()
    deviceB = undefined

    await a.evaluate(async ([t, n]) => {
      const net = globalThis.weftPeer!.client().net
      for (let i = 1; i <= n; i++) await net.createRecord(t, { from: 'a', n: i, text: `note ${i}` })
    }, [thread, COUNT] as const)
    // Every record reached the relay before A leaves.
    await expect.poll(async () => await a.evaluate(async (t) => (await globalThis.weftPeer!.client().net.syncStatus(t)).pendingPush, thread), { timeout: 60_000 }).toBe(0)
    await deviceA.close()

    // B comes back: same profile, same peer; it catches up from the relay alone.
    deviceB = await chromium.launchPersistentContext(profile, { ...launch, headless: true })
    b = await openTab(deviceB, { name: nameB })
    const after = await b.evaluate(() => ({ peerId: globalThis.weftPeer!.client().peerId, identity: globalThis.weftPeer!.client().identity }))
    expect(after).toEqual(before)
    await expect.poll(async () => await headOf(b, thread, logA), { timeout: 60_000 }).toBe(COUNT + 1)
    const last = await b.evaluate(async ([t, l]) => {
      const info = await globalThis.weftPeer!.client().net.getThread(t)
      const head = info.logs.find((x) => x.id === l)!.head.cid!
      const mine = info.logs.find((x) => x.managed)!
      return { body: (await globalThis.weftPeer!.client().net.getRecord(t, head)).body, own: mine.head.counter }
    }, [thread, logA] as const)
    expect(last.body).toEqual({ from: 'a', n: COUNT, text: `note ${COUNT}` })
    // B's own record survived the restart.
    expect(last.own).toBe(1)
    const status = await b.evaluate(async (t) => await globalThis.weftPeer!.client().net.syncStatus(t), thread)
    expect(status.online).toBe(true)
    expect(status.peers.some((p) => p.via === 'relay-replicator')).toBe(true)
  } finally {
    await deviceB?.close()
    await deviceA.close().catch(() => undefined)
    await rm(profile, { recursive: true, force: true })
  }
})

/**
 * Live queries through the client SDK in real Chromium: a tab observes a sorted, limited query on
 * a typed collection and receives the result now, then a new one after each change that alters
 * it — made in another tab of the same device, or on another device through the relay — and none
 * for a change that cannot; `close()` and leaving the loop stop it.
 */
import { expect, test, type Page } from '@playwright/test'
import { openTab, relayAddr, shareDB, uniqueName } from './browser-helpers.js'

declare global {
  // Results each live query of the page has yielded, by name.
  var liveResults: Record<string, string[][]> | undefined
}

/** Start a live query in the page: notes with n ≥ 0, highest n first, at most 2 (their texts). */
async function observe(page: Page, thread: string, name: string): Promise<void> {
  await page.evaluate(async ([t, key]) => {
    const db = globalThis.weftPeer!.client().db.getDB(t)
    const notes = db.collection<{ _id: string; text: string; n: number }>('notes')
    const live = notes.observe({ ands: [{ fieldPath: 'n', operation: 'ge', value: 0 }], sort: { fieldPath: 'n', desc: true }, limit: 2 })
    const all = (globalThis.liveResults ??= {})
    all[key] = []
    ;(globalThis as unknown as Record<string, unknown>)[`live:${key}`] = live
    await live.ready
    void (async () => { for await (const result of live) all[key]!.push(result.map((x) => x.text)) })()
  }, [thread, name] as const)
}

async function results(page: Page, name: string): Promise<string[][]> {
  return await page.evaluate((key) => globalThis.liveResults?.[key] ?? [], name)
}

async function write(page: Page, thread: string, text: string, n: number): Promise<void> {
  await page.evaluate(async ([t, x, k]) => { await globalThis.weftPeer!.client().db.getDB(t).create('notes', [{ text: x, n: k }]) }, [thread, text, n] as const)
}

test('a live query in a tab follows the changes of other tabs and devices that alter it, and stops when closed', async ({ browser }) => {
  const deviceA = await browser.newContext()
  const deviceB = await browser.newContext()
  try {
    const nameA = uniqueName('livea')
    const a1 = await openTab(deviceA, { name: nameA })
    const a2 = await openTab(deviceA, { name: nameA })
    const b = await openTab(deviceB, { name: uniqueName('liveb') })
    await Promise.all([a1, b].map(async (p) => { await p.evaluate(async () => { await globalThis.weftPeer!.client().relayReady() }) }))
    const thread = await shareDB(a1, [b], relayAddr())

    await write(a1, thread, 'one', 1)
    await observe(a1, thread, 'top')
    await expect.poll(async () => await results(a1, 'top')).toEqual([['one']])

    // Another tab of the same device.
    await write(a2, thread, 'two', 2)
    await expect.poll(async () => await results(a1, 'top')).toEqual([['one'], ['two', 'one']])
    // Past the limit: the result does not change, and no new one comes.
    await write(a2, thread, 'zero', 0)
    // Another device, through the relay.
    await write(b, thread, 'five', 5)
    await expect.poll(async () => await results(a1, 'top'), { timeout: 30_000 }).toEqual([['one'], ['two', 'one'], ['five', 'two']])

    // close() stops it: later changes add nothing.
    await a1.evaluate(() => { (globalThis as unknown as Record<string, { close(): void }>)['live:top']!.close() })
    await observe(a1, thread, 'after')
    await expect.poll(async () => await results(a1, 'after')).toEqual([['five', 'two']])
    await write(a2, thread, 'nine', 9)
    await expect.poll(async () => await results(a1, 'after')).toEqual([['five', 'two'], ['nine', 'five']])
    expect(await results(a1, 'top')).toEqual([['one'], ['two', 'one'], ['five', 'two']])

    // Leaving a for-await loop stops it too.
    const seen = await a1.evaluate(async (t) => {
      const got: number[] = []
      for await (const r of globalThis.weftPeer!.client().db.getDB(t).observe('notes')) {
        got.push(r.length)
        break
      }
      return got
    }, thread)
    expect(seen).toEqual([5])
  } finally {
    await deviceA.close()
    await deviceB.close()
  }
})

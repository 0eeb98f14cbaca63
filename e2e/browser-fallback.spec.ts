/**
 * Without SharedWorker (deleted before the page loads): the tabs elect one that runs the worker in
 * a dedicated Worker, the others reach it through that tab, they share one peer and sync; when the
 * owner tab closes another takes over with the same peer.
 */
import { expect, test } from '@playwright/test'
import { createShared, expectRecords, join, openTab, relayReady, uniqueName, write } from './browser-helpers.js'

test('two tabs without SharedWorker share one peer, sync, and survive the owner tab closing', async ({ browser }) => {
  test.setTimeout(120_000)
  const deviceA = await browser.newContext()
  const deviceB = await browser.newContext()
  await deviceA.addInitScript(() => { delete (globalThis as { SharedWorker?: unknown }).SharedWorker })
  const nameA = uniqueName('fa')
  const nameB = uniqueName('fb')
  try {
    const a1 = await openTab(deviceA, { name: nameA })
    const a2 = await openTab(deviceA, { name: nameA })
    const modes = await Promise.all([a1, a2].map(async (p) => await p.evaluate(() => ({ mode: globalThis.weftPeer!.client().mode, peerId: globalThis.weftPeer!.client().peerId, shared: typeof SharedWorker }))))
    expect(modes[0]!.shared).toBe('undefined')
    expect(modes.map((m) => m.mode).sort()).toEqual(['dedicated-bridged', 'dedicated-owner'])
    expect(modes[0]!.peerId).toBe(modes[1]!.peerId)
    const [owner, bridged] = modes[0]!.mode === 'dedicated-owner' ? [a1, a2] : [a2, a1]

    const b = await openTab(deviceB, { name: nameB })
    await Promise.all([relayReady(owner), relayReady(b)])
    // The bridged tab drives the shared peer: it creates the thread.
    const { thread, invite } = await createShared(bridged)
    await join(b, invite)
    for (const p of [a1, a2, b]) await p.evaluate(async (t) => { await globalThis.weftPeer!.collect(t) }, thread)

    await write(b, thread, { from: 'b', n: 1 })
    await expectRecords(a1, 1)
    await expectRecords(a2, 1)
    await write(bridged, thread, { from: 'a', n: 1 })
    await expectRecords(b, 2)
    await expectRecords(owner, 2)

    // The owner tab closes: the other tab becomes owner of a new worker with the same peer.
    const peerId = modes[0]!.peerId
    await owner.close()
    await expect.poll(async () => await bridged.evaluate(async () => {
      try {
        const info = await globalThis.weftPeer!.client().info({ timeoutMs: 2000 })
        return `${info.peerId} ${info.kind}`
      } catch (err) {
        return (err as Error).name
      }
    }), { timeout: 30_000 }).toBe(`${peerId} dedicated-worker`)
    await relayReady(bridged)
    // Its subscription re-opened by itself on the new worker.
    await write(b, thread, { from: 'b', n: 2 })
    await expectRecords(bridged, 3)
    const bodies = await bridged.evaluate(() => globalThis.weftPeer!.records.map((r) => r.body))
    expect(bodies).toContainEqual({ from: 'b', n: 2 })
  } finally {
    await deviceA.close()
    await deviceB.close()
  }
})

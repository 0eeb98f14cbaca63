/**
 * Two devices (browser contexts), two tabs each, syncing a thread through the real relay and then
 * over a direct WebRTC connection hosted by a tab.
 */
import { expect, test } from '@playwright/test'
import { createShared, dumpLogs, expectRecords, join, openTab, relayReady, uniqueName, via, write } from './browser-helpers.js'

test('records written on either device reach the other and fire in both tabs; the devices go direct over WebRTC', async ({ browser }) => {
  const deviceA = await browser.newContext()
  const deviceB = await browser.newContext()
  const nameA = uniqueName('a')
  const nameB = uniqueName('b')
  const debug = process.env.WEFT_E2E_DEBUG
  const q = (name: string): Record<string, string> => (debug != null ? { name, debug } : { name })
  try {
    const a1 = await openTab(deviceA, q(nameA))
    const a2 = await openTab(deviceA, q(nameA))
    const b1 = await openTab(deviceB, q(nameB))
    const b2 = await openTab(deviceB, q(nameB))
    const [infoA] = await Promise.all([relayReady(a1), relayReady(b1)])
    const peerB = await b1.evaluate(() => globalThis.weftPeer!.client().peerId)
    expect(await a2.evaluate(() => globalThis.weftPeer!.client().peerId)).toBe(infoA.peerId)

    const { thread, invite } = await createShared(a1)
    await join(b1, invite)
    for (const p of [a1, a2, b1, b2]) await p.evaluate(async (t) => { await globalThis.weftPeer!.collect(t) }, thread)

    await write(a1, thread, { from: 'a', n: 1 })
    await expectRecords(b1, 1)
    await expectRecords(b2, 1)
    await write(b2, thread, { from: 'b', n: 1 })
    await expectRecords(a1, 2)
    await expectRecords(a2, 2)
    const seen = await a2.evaluate(() => globalThis.weftPeer!.records.map((r) => r.body))
    expect(seen).toContainEqual({ from: 'b', n: 1 })

    // The devices upgrade the relayed connection to WebRTC by themselves.
    await expect.poll(async () => await via(a1, thread, peerB), { timeout: 30_000 }).toBe('webrtc')
    await expect.poll(async () => await via(b1, thread, infoA.peerId), { timeout: 30_000 }).toBe('webrtc')
    const rtcA = await a1.evaluate(async () => await globalThis.weftPeer!.client().call<{ hasHost: boolean; peerConnections: number }>('peer.rtcStats', []))
    expect(rtcA.hasHost).toBe(true)
    expect(rtcA.peerConnections).toBeGreaterThan(0)
    const connsA = (await a1.evaluate(async () => await globalThis.weftPeer!.client().info())).connections
    expect(connsA.some((c) => c.peer === peerB && c.via === 'webrtc' && c.addr.includes('/webrtc'))).toBe(true)
    await write(a2, thread, { from: 'a', n: 2 })
    await expectRecords(b2, 3)

    // Close the tab that hosts WebRTC on A: another tab takes over and sync keeps working.
    const hosting = await Promise.all([a1, a2].map(async (p) => await p.evaluate(() => globalThis.weftPeer!.client().hostingWebRTC)))
    const [hostTab, otherTab] = hosting[0] === true ? [a1, a2] : [a2, a1]
    await hostTab.close()
    await write(b1, thread, { from: 'b', n: 2 })
    await expectRecords(otherTab, 4)
    await expect.poll(async () => await via(otherTab, thread, peerB), { timeout: 30_000 }).toBe('webrtc')
    await write(otherTab, thread, { from: 'a', n: 3 })
    await expectRecords(b1, 5)
  } catch (err) {
    if (debug != null) {
      for (const [label, ctx] of [['A', deviceA], ['B', deviceB]] as const) {
        const p = ctx.pages()[0]
        if (p != null) await dumpLogs(p, label).catch(() => undefined)
      }
    }
    throw err
  } finally {
    await deviceA.close()
    await deviceB.close()
  }
})

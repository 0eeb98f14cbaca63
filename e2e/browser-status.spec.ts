/**
 * Offline writes and sync status: with the relay down, writes still succeed and the status says
 * offline with records waiting; when the relay comes back (same key, same address) the workers
 * re-dial it by themselves and the records reach the other device. The status follows the real
 * connections (not the browser's network flag), and a peer whose syncs fail shows a named,
 * readable error until they succeed again.
 */
import { expect, test, type Page } from '@playwright/test'
import { cleanupRelays, startRelayProcess, type RelayProcess } from '../test/relay/harness.js'
import type { ClientSyncStatus } from '../src/client/index.js'
import { join, noteIDs, openTab, relayAddr, relayReady, shareDB, uniqueName, write } from './browser-helpers.js'
import { pageServer, unpluggableNetwork } from './network.js'

const relayPeer = (): string => relayAddr().slice(relayAddr().lastIndexOf('/p2p/') + 5)

async function status(page: Page, thread: string): Promise<{ online: boolean; pendingPush: number; peers: Array<{ peer: string; via: string }> }> {
  return await page.evaluate(async (t) => await globalThis.weftPeer!.client().net.syncStatus(t), thread)
}

test('writes made while the relay is down sync when it is back, and the status says so', async ({ browser }) => {
  test.setTimeout(180_000)
  let relay: RelayProcess | undefined = await startRelayProcess({ env: { WEFT_RELAY_SYNC_INTERVAL_MS: '1000' } })
  const port = /\/tcp\/(\d+)\/ws/.exec(relay.wsAddr)![1]!
  const repo = relay.repo
  const deviceA = await browser.newContext()
  const deviceB = await browser.newContext()
  try {
    const options = { relays: [relay.wsAddr], webrtc: false }
    const a = await openTab(deviceA, { name: uniqueName('sa') }, options)
    const b = await openTab(deviceB, { name: uniqueName('sb') }, options)
    await Promise.all([relayReady(a), relayReady(b)])
    const { thread, invite } = await a.evaluate(async (r) => {
      const p = globalThis.weftPeer!
      const info = await p.client().net.createThread()
      await p.client().net.addReplicator(info.id, r)
      return { thread: info.id, invite: p.sdk.toInvite(await p.client().net.getThread(info.id)) }
    }, relay.wsAddr)
    await join(b, invite)
    await a.evaluate(async (t) => { await globalThis.weftPeer!.watch(t) }, thread)
    await b.evaluate(async (t) => { await globalThis.weftPeer!.collect(t) }, thread)
    const first = await status(a, thread)
    expect(first.online).toBe(true)
    expect(first.peers.find((p) => p.peer === relay!.peerId)?.via).toBe('relay-replicator')

    await relay.stop()
    relay = undefined
    await expect.poll(async () => (await status(a, thread)).online, { timeout: 30_000 }).toBe(false)
    // Offline writes resolve (they are durable locally) and wait to be pushed.
    for (let i = 0; i < 3; i++) await write(a, thread, { offline: i })
    await expect.poll(async () => (await status(a, thread)).pendingPush, { timeout: 15_000 }).toBe(3)
    const seen = await a.evaluate(() => globalThis.weftPeer!.statuses.map((s) => s.online))
    expect(seen).toContain(false)

    relay = await startRelayProcess({ repo, env: { WEFT_RELAY_WS: `/ip4/127.0.0.1/tcp/${port}/ws`, WEFT_RELAY_SYNC_INTERVAL_MS: '1000' } })
    // Nobody asks: the workers re-dial with backoff, the relay pulls A's records, B gets them.
    await expect.poll(async () => await b.evaluate(() => globalThis.weftPeer!.records.filter((r) => (r.body as { offline?: number }).offline != null).length), { timeout: 90_000 }).toBe(3)
    await expect.poll(async () => (await status(a, thread)).online, { timeout: 30_000 }).toBe(true)
    expect(await a.evaluate(() => globalThis.weftPeer!.statuses.at(-1)?.online)).toBe(true)
  } finally {
    await deviceA.close()
    await deviceB.close()
    // Stops this test's relay and removes its temporary repo.
    await cleanupRelays()
  }
})

test('the status is online from real connections whatever the browser flag says, and a failing peer shows a named, readable error that clears when sync succeeds', async ({ browser }) => {
  test.setTimeout(120_000)
  const networks = [await unpluggableNetwork(), await unpluggableNetwork()]
  const contexts = await Promise.all(networks.map(async (n) => await browser.newContext(n.contextOptions(pageServer()))))
  try {
    const a = await openTab(contexts[0]!, { name: uniqueName('ta') }, { webrtc: false })
    const b = await openTab(contexts[1]!, { name: uniqueName('tb') }, { webrtc: false })
    const [, infoB] = await Promise.all([relayReady(a), relayReady(b)])
    const db = await shareDB(a, [b])
    const full = async (p: Page): Promise<ClientSyncStatus> => await p.evaluate(async (t) => await globalThis.weftPeer!.client().net.syncStatus(t), db)

    // The page says offline, the connections say otherwise: online, and writes still sync.
    await contexts[0]!.setOffline(true)
    expect(await a.evaluate(() => navigator.onLine)).toBe(false)
    const s = await full(a)
    expect(s.online).toBe(true)
    expect(s.connectivity.relaysConnected).toBe(1)
    expect(s.peers.find((p) => p.peer === relayPeer())).toMatchObject({ relay: true, connected: true, via: 'relay-replicator' })
    await a.evaluate(async (t) => { await globalThis.weftPeer!.client().db.getDB(t).create('notes', [{ _id: 'while-flag-offline' }]) }, db)
    await expect.poll(async () => await noteIDs(b, db), { timeout: 30_000 }).toContain('while-flag-offline')
    await contexts[0]!.setOffline(false)

    // B's network goes: A's syncs with B fail, by name, in words, with a retry time.
    networks[1]!.unplug()
    await a.evaluate(async (t) => { await globalThis.weftPeer!.client().db.getDB(t).create('notes', [{ _id: 'while-b-away' }]) }, db)
    await expect.poll(async () => (await full(a)).peers.find((p) => p.peer === infoB.peerId)?.failures ?? 0, { timeout: 30_000 }).toBeGreaterThan(0)
    const failing = await full(a)
    const pb = failing.peers.find((p) => p.peer === infoB.peerId)!
    expect(pb.lastError?.name).toMatch(/^[A-Z]\w*Error$/)
    expect(pb.lastError?.message).not.toMatch(/\[object|^\{/)
    expect(failing.lastError?.name).toMatch(/^[A-Z]\w*Error$/)
    expect(pb.connected).toBe(false)
    expect(pb.bannedUntil).toBeUndefined()

    // B is back: the error goes by itself once A syncs with B again.
    networks[1]!.plug()
    await expect.poll(async () => await noteIDs(b, db), { timeout: 30_000 }).toContain('while-b-away')
    await expect.poll(async () => (await full(a)).lastError, { timeout: 30_000 }).toBeUndefined()
    expect((await full(a)).peers.find((p) => p.peer === infoB.peerId)).toMatchObject({ failures: 0, strikes: 0 })
  } finally {
    for (const c of contexts) await c.close()
    for (const n of networks) await n.close()
  }
})

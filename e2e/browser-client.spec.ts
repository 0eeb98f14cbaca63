/**
 * The client SDK's contract in a real tab: identity tokens, invites, errors that keep their names
 * across the port, calls that never hang (signal, timeout, worker death), and tabs whose death
 * releases their subscriptions.
 */
import { expect, test, type Page } from '@playwright/test'
import { openTab, uniqueName } from './browser-helpers.js'

/** Run `fn` in the page and return the name of what it threw ('ok' when it did not throw). */
async function errorName(page: Page, fn: string): Promise<string> {
  return await page.evaluate(async (src) => {
    const p = globalThis.weftPeer!
    const run = new Function('p', 'c', `return (async () => { ${src} })()`) as (p: unknown, c: unknown) => Promise<unknown>
    try {
      await run(p, p.client())
      return 'ok'
    } catch (err) {
      return (err as Error).name
    }
  }, fn)
}

test('tokens name the identity that signed the challenge and expire', async ({ browser }) => {
  const context = await browser.newContext()
  try {
    const page = await openTab(context, { name: uniqueName('tok') })
    const result = await page.evaluate(async () => {
      const p = globalThis.weftPeer!
      const c = p.client()
      const me = await p.newIdentity()
      const token = await c.getToken(me)
      const claims = await c.verifyToken(token)
      const byDefault = await c.verifyToken(await c.getToken())
      return { claims, me: me.publicKey.toString(), peerId: c.peerId, defaultSub: byDefault.sub, identity: c.identity }
    })
    expect(result.claims.sub).toBe(result.me)
    expect(result.claims.iss).toBe(result.peerId)
    expect(result.claims.exp).toBeGreaterThan(Date.now())
    expect(result.defaultSub).toBe(result.identity)
    expect(await errorName(page, `const t = await c.getToken(undefined, { ttlMs: 1 }); await new Promise((r) => setTimeout(r, 20)); await c.verifyToken(t)`)).toBe('TokenExpiredError')
    expect(await errorName(page, `const t = await c.getToken(); const [a, b] = t.split('.'); await c.verifyToken(a + '.' + b.slice(0, -4) + 'AAAA')`)).toBe('InvalidTokenError')
    expect(await errorName(page, `await c.verifyToken('nonsense')`)).toBe('InvalidTokenError')
    // A signer that does not hold the identity's key fails the challenge.
    expect(await errorName(page, `const me = await p.newIdentity(); const other = await p.newIdentity(); await c.getToken({ publicKey: me.publicKey, sign: (d) => other.sign(d) })`)).toBe('ChallengeFailedError')
  } finally {
    await context.close()
  }
})

test('errors keep their names across the port and calls never hang', async ({ browser }) => {
  const context = await browser.newContext()
  try {
    const page = await openTab(context, { name: uniqueName('err') }, { relays: [] })
    expect(await errorName(page, `await c.net.getThread('not-a-thread')`)).toBe('InvalidThreadIDError')
    expect(await errorName(page, `const t = await c.net.createThread(); await c.net.deleteThread(t.id); await c.net.getThread(t.id)`)).toBe('ThreadUnknownError')
    expect(await errorName(page, `const t = await c.net.createThread(); await c.net.createThread(t.id)`)).toBe('ThreadAlreadyExistsError')
    // The cause crosses too (as IndexedDB's QuotaExceededError would under a store error).
    expect(await errorName(page, `const t = await c.net.createThread(); await c.net.deleteThread(t.id); try { await c.net.getThread(t.id) } catch (e) { throw e.cause }`)).toBe('ThreadNotFoundError')
    expect(await errorName(page, `await c.net.addThread('/ip4/1.2.3.4/tcp/1', { threadKey: 'x' })`)).toBe('InvalidAddressError')
    expect(await errorName(page, `await c.db.call('noSuchMethod', [])`)).toBe('UnknownMethodError')
    expect(await errorName(page, `p.sdk.fromInvite('weft1.!!!')`)).toBe('InvalidInviteError')
    // No relay: the reservation never comes; the call ends at its deadline or its signal.
    expect(await errorName(page, `await c.relayReady({ timeoutMs: 300 })`)).toBe('CallTimeoutError')
    expect(await errorName(page, `const a = new AbortController(); setTimeout(() => a.abort(), 100); await c.relayReady({ signal: a.signal, timeoutMs: 60000 })`)).toBe('AbortError')
    expect(await errorName(page, `const a = new AbortController(); a.abort(); await c.info({ signal: a.signal })`)).toBe('AbortError')
    // The client still works after all that.
    expect(await errorName(page, `await c.info()`)).toBe('ok')
  } finally {
    await context.close()
  }
})

test('invites carry a thread between browsers and reject garbage', async ({ browser }) => {
  const context = await browser.newContext()
  try {
    const page = await openTab(context, { name: uniqueName('inv') }, { relays: [] })
    const out = await page.evaluate(async () => {
      const p = globalThis.weftPeer!
      const t = await p.client().net.createThread()
      const invite = p.sdk.toInvite({ ...t, addrs: ['/dns4/relay.example/tcp/443/wss/p2p/12D3KooWRelay/p2p-circuit/p2p/12D3KooWMe/thread/' + t.id], name: 'notes' })
      return { invite, back: p.sdk.fromInvite(invite), id: t.id, key: t.key }
    })
    expect(out.invite).toMatch(/^weft2\.[A-Za-z0-9_-]+$/)
    expect(out.back.thread).toBe(out.id)
    expect(out.back.key).toBe(out.key)
    expect(out.back.name).toBe('notes')
    expect(out.back.addrs).toHaveLength(1)
    expect(await errorName(page, `p.sdk.fromInvite('weft2.e30')`)).toBe('InvalidInviteError')
    expect(await errorName(page, `p.sdk.fromInvite('weft1.' + btoa(JSON.stringify({ v: 1, thread: 1 })))`)).toBe('InvalidInviteError')
  } finally {
    await context.close()
  }
})

test('a closed tab is detected and its subscriptions released', async ({ browser }) => {
  const context = await browser.newContext()
  const name = uniqueName('tabs')
  try {
    const t1 = await openTab(context, { name }, { relays: [] })
    const t2 = await openTab(context, { name }, { relays: [] })
    await t1.evaluate(async () => { await globalThis.weftPeer!.collect() })
    await t2.evaluate(async () => { await globalThis.weftPeer!.collect() })
    const sessions = async (): Promise<{ tabs: number; streams: number }> =>
      await t1.evaluate(async () => await globalThis.weftPeer!.client().call<{ tabs: number; streams: number }>('peer.sessions', []))
    expect(await sessions()).toEqual({ tabs: 2, streams: 2 })
    await t2.close()
    await expect.poll(sessions, { timeout: 10_000 }).toEqual({ tabs: 1, streams: 1 })
    // The remaining tab's subscription still delivers.
    await t1.evaluate(async () => {
      const c = globalThis.weftPeer!.client()
      const t = await c.net.createThread()
      await c.net.createRecord(t.id, { hello: 'world' })
    })
    await expect.poll(async () => await t1.evaluate(() => globalThis.weftPeer!.records.length)).toBe(1)
  } finally {
    await context.close()
  }
})

test('a call in flight fails with WorkerGoneError when the tab running the worker closes', async ({ browser }) => {
  const context = await browser.newContext()
  await context.addInitScript(() => { delete (globalThis as { SharedWorker?: unknown }).SharedWorker })
  const name = uniqueName('gone')
  try {
    const t1 = await openTab(context, { name }, { relays: [] })
    const t2 = await openTab(context, { name }, { relays: [] })
    const owner = (await t1.evaluate(() => globalThis.weftPeer!.client().mode)) === 'dedicated-owner' ? t1 : t2
    const other = owner === t1 ? t2 : t1
    await other.evaluate(() => {
      const g = globalThis as { pending?: Promise<string> }
      // Never resolves by itself: there is no relay.
      g.pending = globalThis.weftPeer!.client().relayReady({ timeoutMs: 60_000 }).then(() => 'ok', (err: Error) => err.name)
    })
    const t0 = Date.now()
    await owner.close()
    const name2 = await other.evaluate(async () => await (globalThis as { pending?: Promise<string> }).pending)
    expect(name2).toBe('WorkerGoneError')
    expect(Date.now() - t0).toBeLessThan(10_000)
    // And the tab carries on with a worker of its own.
    await expect.poll(async () => await other.evaluate(async () => (await globalThis.weftPeer!.client().info({ timeoutMs: 2000 }).catch((e: Error) => ({ kind: e.name }))).kind), { timeout: 20_000 }).toBe('dedicated-worker')
  } finally {
    await context.close()
  }
})

/**
 * Joining and governing a DB through the client SDK, in real Chromium against the real relay:
 * `join()` waits for the collection definitions (so the first write after it succeeds), says so
 * by name when they never come, and can be told not to wait; owners and writers are read and
 * changed from a tab and enforced on the other device; read filter failures reach the tab's
 * `onFilterError` for reads, transactions and listeners.
 */
import { expect, test, type Page } from '@playwright/test'
import { openTab, relayAddr, relayReady, uniqueName } from './browser-helpers.js'
import type { CollectionConfig } from '../src/client/index.js'

const cards: CollectionConfig = {
  name: 'Cards',
  schema: { type: 'object', properties: { _id: { type: 'string' }, title: { type: 'string' } }, required: ['_id', 'title'] }
}

type Result<T> = { ok: true; value: T } | { ok: false; name: string; message: string }

/** Run `body` in the page with `c` (the client) and `arg`; its result, or the name of what it threw. */
async function run<T = unknown>(page: Page, body: string, arg?: unknown): Promise<Result<T>> {
  return await page.evaluate(async ([src, a]) => {
    const c = globalThis.weftPeer!.client()
    const fn = new Function('c', 'arg', `return (async () => { ${src} })()`) as (...x: unknown[]) => Promise<unknown>
    try {
      return { ok: true as const, value: await fn(c, a) as never }
    } catch (err) {
      return { ok: false as const, name: (err as Error).name, message: (err as Error).message }
    }
  }, [body, arg] as const) as Result<T>
}

async function value<T = unknown>(page: Page, body: string, arg?: unknown): Promise<T> {
  const r = await run<T>(page, body, arg)
  if (!r.ok) throw new Error(`${r.name}: ${r.message}`)
  return r.value
}

async function errorName(page: Page, body: string, arg?: unknown): Promise<string> {
  const r = await run(page, body, arg)
  return r.ok ? 'ok' : r.name
}

/** A new DB of A without collections, handed to the relay; its invite. */
async function emptyDB(a: Page): Promise<{ id: string; invite: string }> {
  return await value(a, `
    const db = await c.db.newDB(undefined, { name: 'board' })
    await c.net.addReplicator(db.id, arg)
    return { id: db.id, invite: await db.invite() }`, relayAddr())
}

test('join waits for the collection definitions, so a write right after it succeeds; without waiting it would not', async ({ browser }) => {
  const deviceA = await browser.newContext()
  const deviceB = await browser.newContext()
  try {
    const a = await openTab(deviceA, { name: uniqueName('ja') })
    const b = await openTab(deviceB, { name: uniqueName('jb') })
    await Promise.all([relayReady(a), relayReady(b)])

    // The DB exists, but its collection is defined only after B has started joining.
    const { id, invite } = await emptyDB(a)
    await b.evaluate((inv) => {
      const p = globalThis.weftPeer! as unknown as { joining?: Promise<string> }
      p.joining = globalThis.weftPeer!.client().db.join(inv).then(async (db) => {
        // The very first write after join.
        await db.create('Cards', [{ _id: 'first', title: 'written right after join' }])
        return 'written'
      }, (err: Error) => `${err.name}: ${err.message}`)
    }, invite)
    // B holds the thread (joined), and its join has not resolved: it waits.
    await expect.poll(async () => await value<string[]>(b, `return (await c.db.listDBs()).map((d) => d.id)`), { timeout: 30_000 }).toContain(id)
    expect(await b.evaluate(async () => await Promise.race([
      (globalThis.weftPeer as unknown as { joining: Promise<string> }).joining,
      new Promise((resolve) => { setTimeout(() => { resolve('still waiting') }, 500) })
    ]))).toBe('still waiting')
    await value(a, `await c.db.getDB(arg.id).newCollection(arg.cards)`, { id, cards })
    expect(await b.evaluate(async () => await (globalThis.weftPeer as unknown as { joining: Promise<string> }).joining)).toBe('written')
    await expect.poll(async () => await value(a, `return await c.db.getDB(arg).has('Cards', ['first'])`, id), { timeout: 30_000 }).toBe(true)

    // Told not to wait, join resolves with the thread alone: a write then finds no collection.
    const other = await emptyDB(a)
    expect(await errorName(b, `const db = await c.db.join(arg, { waitForCollections: false }); await db.create('Cards', [{ title: 'too early' }])`, other.invite))
      .toBe('CollectionNotFoundError')
  } finally {
    await deviceA.close()
    await deviceB.close()
  }
})

test('a join whose collections never come rejects with CollectionsNotReceivedError at its deadline, or AbortError on its signal; the DB stays joined', async ({ browser }) => {
  const deviceA = await browser.newContext()
  const deviceB = await browser.newContext()
  try {
    const a = await openTab(deviceA, { name: uniqueName('jta') })
    const b = await openTab(deviceB, { name: uniqueName('jtb') })
    await Promise.all([relayReady(a), relayReady(b)])
    const { id, invite } = await emptyDB(a)
    const t0 = Date.now()
    const timedOut = await run(b, `await c.db.join(arg, { timeoutMs: 4000 })`, invite)
    expect(timedOut.ok).toBe(false)
    expect(timedOut.ok ? '' : timedOut.name).toBe('CollectionsNotReceivedError')
    expect(Date.now() - t0).toBeLessThan(20_000)
    expect(await value<string[]>(b, `return (await c.db.listDBs()).map((d) => d.id)`)).toContain(id)
    // Named collections: waits for those (here: one that does not exist) until the signal aborts.
    expect(await errorName(b, `const s = new AbortController(); setTimeout(() => s.abort(), 1000); await c.db.join(arg, { signal: s.signal, waitForCollections: ['Cards'] })`, invite))
      .toBe('AbortError')
    // Once the definition arrives, joining again resolves at once.
    await value(a, `await c.db.getDB(arg.id).newCollection(arg.cards)`, { id, cards })
    expect(await value(b, `const db = await c.db.join(arg, { waitForCollections: ['Cards'] }); return (await db.listCollections()).map((x) => x.name)`, invite)).toEqual(['Cards'])
  } finally {
    await deviceA.close()
    await deviceB.close()
  }
})

test('owners and writers through the client: who owns a DB, and a member kept out of its schema and, with a writer list, of its data', async ({ browser }) => {
  const deviceA = await browser.newContext()
  const deviceB = await browser.newContext()
  try {
    const a = await openTab(deviceA, { name: uniqueName('ga') })
    const b = await openTab(deviceB, { name: uniqueName('gb') })
    await Promise.all([relayReady(a), relayReady(b)])
    const idA = await a.evaluate(() => globalThis.weftPeer!.client().identity)
    const idB = await b.evaluate(() => globalThis.weftPeer!.client().identity)

    const { id, invite } = await value<{ id: string; invite: string }>(a, `
      const db = await c.db.newDB(undefined, { name: 'owned', collections: [arg.cards] })
      await c.net.addReplicator(db.id, arg.relay)
      return { id: db.id, invite: await db.invite() }`, { cards, relay: relayAddr() })
    // The creator owns it; the DB's info says so too.
    expect(await value(a, `return await c.db.getDB(arg).getGovernance()`, id)).toEqual({ governed: true, owners: [idA], writers: null })
    const info = await value<{ governed: boolean; owners: string[] }>(a, `return await c.db.getDB(arg).info()`, id)
    expect(info.governed).toBe(true)
    expect(info.owners).toEqual([idA])

    await value(b, `await c.db.join(arg)`, invite)
    expect(await value(b, `return await c.db.getDB(arg).getGovernance()`, id)).toEqual({ governed: true, owners: [idA], writers: null })
    // A member may write instances, but not change the schema, the owners or the writers.
    await value(b, `await c.db.getDB(arg).create('Cards', [{ _id: 'b1', title: 'by B' }])`, id)
    expect(await errorName(b, `await c.db.getDB(arg).newCollection({ name: 'Mine', schema: { type: 'object', properties: { _id: { type: 'string' } } } })`, id)).toBe('NotAnOwnerError')
    expect(await errorName(b, `await c.db.getDB(arg.id).setWriters([arg.me])`, { id, me: idB })).toBe('NotAnOwnerError')
    expect(await errorName(b, `await c.db.getDB(arg.id).updateOwners({ add: [arg.me] })`, { id, me: idB })).toBe('NotAnOwnerError')
    // The last owner stays; a DB created without a thread ID is owned by its creator only.
    expect(await errorName(a, `await c.db.getDB(arg.id).updateOwners({ remove: [arg.me] })`, { id, me: idA })).toBe('LastOwnerError')
    expect(await errorName(a, `await c.db.newDB(undefined, { name: 'x', owner: arg })`, idB)).toBe('InvalidOwnerError')

    // A writer list: once B has it, B's writes are refused by name; A still writes.
    await value(a, `await c.db.getDB(arg.id).setWriters([arg.me])`, { id, me: idA })
    await expect.poll(async () => await value(b, `return (await c.db.getDB(arg).getGovernance()).writers`, id), { timeout: 30_000 }).toEqual([idA])
    expect(await errorName(b, `await c.db.getDB(arg).create('Cards', [{ title: 'kept out' }])`, id)).toBe('NotAWriterError')
    await value(a, `await c.db.getDB(arg).create('Cards', [{ title: 'by the owner' }])`, id)

    // B made an owner: it may change the schema (and write again, owners always may).
    await value(a, `await c.db.getDB(arg.id).updateOwners({ add: [arg.b] })`, { id, b: idB })
    await expect.poll(async () => await value<string[]>(b, `return (await c.db.getDB(arg).getGovernance()).owners`, id), { timeout: 30_000 }).toEqual([idA, idB].sort())
    await value(b, `await c.db.getDB(arg).newCollection({ name: 'Mine', schema: { type: 'object', properties: { _id: { type: 'string' } } } })`, id)
    await value(b, `await c.db.getDB(arg).create('Cards', [{ title: 'B again' }])`, id)
    await value(a, `await c.db.getDB(arg).setWriters(null)`, id)
    await expect.poll(async () => await value(a, `return (await c.db.getDB(arg).listCollections()).map((x) => x.name).sort()`, id), { timeout: 30_000 }).toEqual(['Cards', 'Mine'])
  } finally {
    await deviceA.close()
    await deviceB.close()
  }
})

test('a read filter that fails on one instance hides only it, and the tab hears of it through onFilterError in reads, transactions and listeners', async ({ browser }) => {
  const device = await browser.newContext()
  try {
    const page = await openTab(device, { name: uniqueName('rf') }, { relays: [] })
    const out = await value<{ found: string[]; failures: unknown[]; txn: unknown[]; heard: unknown[]; quiet: string[] }>(page, `
      const db = await c.db.newDB(undefined, { name: 'filtered', collections: [{
        name: 'Items',
        schema: { type: 'object', properties: { _id: { type: 'string' }, bad: { type: 'boolean' } } },
        readFilter: 'if (instance.bad) throw new Error("cannot show this one"); return instance'
      }] })
      await db.create('Items', [{ _id: 'good' }, { _id: 'bad', bad: true }])
      const failures = []
      const found = (await db.find('Items', undefined, { onFilterError: (f) => failures.push(f) })).map((x) => x._id)
      // Without onFilterError the read is the same (the failure is logged in the worker).
      const quiet = (await db.find('Items')).map((x) => x._id)
      const txnFailures = []
      const txn = db.readTransaction('Items', { onFilterError: (f) => txnFailures.push(f) })
      await txn.start()
      await txn.find()
      await txn.end()
      const heard = []
      const events = []
      const sub = db.listen([], { onFilterError: (f) => heard.push(f) })
      await sub.ready
      void (async () => { for await (const e of sub) events.push(e) })()
      await db.create('Items', [{ _id: 'bad2', bad: true }, { _id: 'good2' }])
      const until = Date.now() + 10000
      while ((heard.length < 1 || events.length < 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
      sub.close()
      return { found, failures, txn: txnFailures, heard, quiet }`)
    expect(out.found).toEqual(['good'])
    expect(out.quiet).toEqual(['good'])
    expect(out.failures).toEqual([{ collection: 'Items', instanceID: 'bad', error: { name: 'ValidatorError', message: expect.stringContaining('cannot show this one') as unknown } }])
    expect(out.txn).toHaveLength(1)
    expect(out.heard).toEqual([expect.objectContaining({ collection: 'Items', instanceID: 'bad2' }) as unknown])
  } finally {
    await device.close()
  }
})

/**
 * The db layer through the client SDK in real Chromium, against the real relay: two devices (browser
 * contexts) of two tabs each share a DB joined through an invite; bad input in a tab rejects by
 * name and writes nothing; transactions run in the worker across calls (read-your-writes, one
 * event, discard, idle and dead-tab release of the DB's lock).
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test'
import { openTab, peerUrl, relayAddr, relayReady, uniqueName } from './browser-helpers.js'
import type { CollectionConfig, ListenEvent } from '../src/client/index.js'

/** Notes: a schema, a unique title, and a validator (no deletes; `by` must name the writer). */
const notes: CollectionConfig = {
  name: 'Notes',
  schema: {
    type: 'object',
    properties: { _id: { type: 'string' }, title: { type: 'string' }, body: { type: 'string' }, n: { type: 'integer' }, by: { type: 'string' } },
    required: ['_id', 'title'],
    additionalProperties: false
  },
  indexes: [{ path: 'title', unique: true }],
  writeValidator: `
    if (event.patch.type === 'delete') return 'notes are never deleted'
    var p = event.patch.json_patch
    if (typeof p.by === 'string' && p.by !== writer) return 'by must name the writer'
    return true`
}

/** Run `body` in the page with `c` (the client) and `db` (the DB handle); its result, or the name of what it threw. */
async function inDB<T = unknown>(page: Page, thread: string, body: string, arg?: unknown): Promise<{ ok: true; value: T } | { ok: false; name: string; message: string }> {
  return await page.evaluate(async ([t, src, a]) => {
    const p = globalThis.weftPeer!
    const c = p.client()
    const run = new Function('p', 'c', 'db', 'arg', `return (async () => { ${src} })()`) as (...x: unknown[]) => Promise<unknown>
    try {
      return { ok: true as const, value: await run(p, c, c.db.getDB(t), a) as never }
    } catch (err) {
      return { ok: false as const, name: (err as Error).name, message: (err as Error).message }
    }
  }, [thread, body, arg] as const) as { ok: true; value: T } | { ok: false; name: string; message: string }
}

async function value<T = unknown>(page: Page, thread: string, body: string, arg?: unknown): Promise<T> {
  const r = await inDB<T>(page, thread, body, arg)
  if (!r.ok) throw new Error(`${r.name}: ${r.message}`)
  return r.value
}

async function errorName(page: Page, thread: string, body: string, arg?: unknown): Promise<string> {
  const r = await inDB(page, thread, body, arg)
  return r.ok ? 'ok' : r.name
}

async function events(page: Page): Promise<ListenEvent[]> {
  return await page.evaluate(() => [...globalThis.weftPeer!.dbEvents])
}

function ids(list: ListenEvent[], type: string): string[] {
  return list.filter((e) => e.type === type).map((e) => ('instanceID' in e ? e.instanceID ?? '' : ''))
}

/** Records in our own log of the thread. */
async function ownHead(page: Page, thread: string): Promise<number> {
  return await page.evaluate(async (t) => {
    const info = await globalThis.weftPeer!.client().net.getThread(t)
    return info.logs.find((l) => l.managed)?.head.counter ?? 0
  }, thread)
}

async function newDB(page: Page, collections: CollectionConfig[]): Promise<string> {
  return await page.evaluate(async (cs) => (await globalThis.weftPeer!.client().db.newDB(undefined, { name: 'notes', collections: cs })).id, collections)
}

test('a DB shared by two devices of two tabs: invite, writes both ways with listeners in every tab, convergence, reload', async ({ browser }) => {
  const deviceA = await browser.newContext()
  const deviceB = await browser.newContext()
  const nameA = uniqueName('dba')
  const nameB = uniqueName('dbb')
  try {
    const a1 = await openTab(deviceA, { name: nameA })
    const a2 = await openTab(deviceA, { name: nameA })
    const b1 = await openTab(deviceB, { name: nameB })
    const b2 = await openTab(deviceB, { name: nameB })
    await Promise.all([relayReady(a1), relayReady(b1)])
    const idA = await a1.evaluate(() => globalThis.weftPeer!.client().identity)
    const idB = await b1.evaluate(() => globalThis.weftPeer!.client().identity)
    const peerB = await b1.evaluate(() => globalThis.weftPeer!.client().peerId)

    // A creates the DB; the relay replicates it; B joins through an invite.
    const thread = await newDB(a1, [notes])
    const invite = await value<string>(a1, thread, `await c.net.addReplicator(db.id, arg); return await db.invite()`, relayAddr())
    expect(await b1.evaluate(async (inv) => (await globalThis.weftPeer!.client().db.join(inv, { timeoutMs: 30_000 })).id, invite)).toBe(thread)
    // Joining again (the other tab opens the same link) gives the same DB.
    expect(await b2.evaluate(async (inv) => (await globalThis.weftPeer!.client().db.join(inv, { timeoutMs: 30_000 })).id, invite)).toBe(thread)
    // The collection came with the thread: schema, unique index and validator.
    const infoB = await value<{ indexes: unknown; writeValidator: string }>(b2, thread, `return await db.getCollectionInfo('Notes')`)
    expect(infoB.indexes).toEqual([{ path: 'title', unique: true }])
    expect(infoB.writeValidator).toContain('never deleted')
    expect(await b2.evaluate(async () => (await globalThis.weftPeer!.client().db.listDBs()).map((d) => d.info.name))).toEqual(['notes'])

    for (const p of [a1, a2, b1, b2]) await p.evaluate(async (t) => { await globalThis.weftPeer!.listenDB(t) }, thread)

    // A write on A reaches both tabs of B; a write on B reaches both tabs of A.
    await value(a2, thread, `return await db.create('Notes', [{ _id: 'a-1', title: 'from A', by: arg }])`, idA)
    for (const p of [b1, b2]) await expect.poll(async () => ids(await events(p), 'create'), { timeout: 30_000 }).toContain('a-1')
    expect(await value(b1, thread, `return await db.findByID('Notes', 'a-1')`)).toEqual({ _id: 'a-1', title: 'from A', by: idA })
    await value(b2, thread, `return await db.collection('Notes').create([{ _id: 'b-1', title: 'from B', by: arg }])`, idB)
    for (const p of [a1, a2]) await expect.poll(async () => ids(await events(p), 'create'), { timeout: 30_000 }).toContain('b-1')

    // The validator sees each device's own identity as the writer, and refuses deletes.
    expect(await errorName(b1, thread, `await db.create('Notes', [{ _id: 'b-x', title: 'impostor', by: arg }])`, idA)).toBe('ValidatorRejectedError')
    expect(await errorName(a1, thread, `await db.delete('Notes', ['b-1'])`)).toBe('ValidatorRejectedError')
    expect(await value(a1, thread, `return await db.has('Notes', ['b-1'])`)).toBe(true)

    // Concurrent conflicting writes on both devices: the same instance saved on both sides, and
    // two creates with the same unique title.
    const [onA, onB] = await Promise.all([
      inDB(a1, thread, `return await Promise.allSettled([
        db.save('Notes', [{ _id: 'a-1', title: 'from A', body: 'A was here', n: 1 }]),
        db.create('Notes', [{ _id: 'dup-a', title: 'dup' }])
      ]).then((r) => r.map((x) => x.status === 'fulfilled' ? 'ok' : x.reason.name))`),
      inDB(b1, thread, `return await Promise.allSettled([
        db.save('Notes', [{ _id: 'a-1', title: 'from A', body: 'B was here', n: 2 }]),
        db.create('Notes', [{ _id: 'dup-b', title: 'dup' }])
      ]).then((r) => r.map((x) => x.status === 'fulfilled' ? 'ok' : x.reason.name))`)
    ])
    expect(onA.ok && onB.ok).toBe(true)
    // Both devices converge on the same state, whatever order the records met in.
    const state = async (p: Page): Promise<string> => await value<string>(p, thread, `await db.sync(); return await db.stateHash()`)
    await expect.poll(async () => {
      const [x, y] = await Promise.all([state(a1), state(b1)])
      return x === y ? 'equal' : `${x} != ${y}`
    }, { timeout: 30_000 }).toBe('equal')
    const all = `return await db.find('Notes', p.sdk.where('title').ne('').orderBy('title'))`
    const docsA = await value<unknown[]>(a2, thread, all)
    expect(await value(b2, thread, all)).toEqual(docsA)
    const dups = await value<Array<{ _id: string }>>(a1, thread, `return await db.find('Notes', { ands: [{ fieldPath: 'title', operation: 'eq', value: 'dup' }] })`)
    expect(dups).toHaveLength(1)
    const aliceA = await value<{ body: string; n: number }>(a1, thread, `return await db.findByID('Notes', 'a-1')`)
    expect(['A was here', 'B was here']).toContain(aliceA.body)
    expect(await value(b1, thread, `return await db.findByID('Notes', 'a-1')`)).toEqual(aliceA)
    // The losing create was refused where it was made (UniqueConstraintError), or became a
    // rejected event that both devices show as the same conflict, or both (its record was written
    // before the winner arrived, and applying them in order refused it).
    const conflictsA = await value<Array<{ error: { name: string }; instanceID?: string }>>(a1, thread, `return await db.conflicts()`)
    expect(await value(b1, thread, `return await db.conflicts()`)).toEqual(conflictsA)
    const refusedHere = [onA, onB].flatMap((r) => (r.ok ? r.value as string[] : [])).filter((x) => x !== 'ok')
    expect(conflictsA.map((c) => c.error.name)).toEqual(conflictsA.length === 0 ? [] : ['UniqueConstraintError'])
    expect(refusedHere.length + conflictsA.length).toBeGreaterThan(0)
    expect(refusedHere.every((x) => x === 'UniqueConstraintError')).toBe(true)
    expect(conflictsA.every((c) => c.instanceID !== dups[0]!._id)).toBe(true)

    // B restarts (every tab closed, so its worker goes): the DB, its data, the peer and the
    // identity are still there, and it syncs on.
    const before = await state(b1)
    await b1.close()
    await b2.close()
    const b3 = await deviceB.newPage()
    await b3.goto(peerUrl({ name: nameB }))
    await b3.waitForFunction(() => globalThis.weftPeer !== undefined)
    // Wait until the old worker is gone (its lifetime lock is released).
    await expect.poll(async () => await b3.evaluate(async (n) => {
      const { held = [] } = await navigator.locks.query()
      return held.filter((l) => l.name?.startsWith(`weft:${n}:worker:`) === true).length
    }, nameB), { timeout: 15_000 }).toBe(0)
    const again = await b3.evaluate(async () => await globalThis.weftPeer!.connect())
    expect(again.peerId).toBe(peerB)
    expect(again.identity).toBe(idB)
    expect(await b3.evaluate(async () => (await globalThis.weftPeer!.client().db.listDBs()).map((d) => d.id))).toEqual([thread])
    expect(await value(b3, thread, `return await db.stateHash()`)).toBe(before)
    expect(await value(b3, thread, all)).toEqual(docsA)
    await value(b3, thread, `return await db.create('Notes', [{ _id: 'b-2', title: 'after restart', by: arg }])`, idB)
    for (const p of [a1, a2]) await expect.poll(async () => ids(await events(p), 'create'), { timeout: 30_000 }).toContain('b-2')

    // A reload of a tab keeps everything too.
    await a2.reload()
    await a2.waitForFunction(() => globalThis.weftPeer !== undefined)
    await a2.evaluate(async () => { await globalThis.weftPeer!.connect() })
    expect(await value(a2, thread, `return (await db.find('Notes')).length`)).toBe(docsA.length + 1)
  } finally {
    await deviceA.close()
    await deviceB.close()
  }
})

test('in a tab, a schema-invalid create, an unknown collection and a duplicate unique value reject by name and write nothing', async ({ browser }) => {
  const context = await browser.newContext()
  try {
    const page = await openTab(context, { name: uniqueName('dbbad') }, { relays: [] })
    const thread = await newDB(page, [notes])
    await page.evaluate(async (t) => { await globalThis.weftPeer!.listenDB(t) }, thread)
    await value(page, thread, `return await db.create('Notes', [{ _id: 'one', title: 'taken' }])`)
    await expect.poll(async () => (await events(page)).length).toBe(1)
    const head = await ownHead(page, thread)
    const hash = await value<string>(page, thread, `return await db.stateHash()`)

    expect(await errorName(page, thread, `await db.create('Notes', [{ title: 5 }])`)).toBe('SchemaValidationError')
    expect(await errorName(page, thread, `await db.create('Notes', [{ title: 'x', color: 'red' }])`)).toBe('SchemaValidationError')
    expect(await errorName(page, thread, `await db.create('Nope', [{ title: 'x' }])`)).toBe('CollectionNotFoundError')
    expect(await errorName(page, thread, `await db.find('Nope')`)).toBe('CollectionNotFoundError')
    expect(await errorName(page, thread, `await db.create('Notes', [{ title: 'taken' }])`)).toBe('UniqueConstraintError')
    // A many-instance create applies whole or not at all.
    expect(await errorName(page, thread, `await db.create('Notes', [{ title: 'fine' }, { title: 'taken' }])`)).toBe('UniqueConstraintError')
    expect(await errorName(page, thread, `await db.save('Notes', [{ _id: 'one', title: 7 }])`)).toBe('SchemaValidationError')
    expect(await errorName(page, thread, `await db.find('Notes', { ands: [{ fieldPath: 'title', operation: 'like', value: 'x' }] })`)).toBe('InvalidQueryError')
    expect(await errorName(page, thread, `await db.findByID('Notes', 'nobody')`)).toBe('InstanceNotFoundError')
    expect(await errorName(page, thread, `await c.db.getDB('bafkwhatever').find('Notes')`)).toBe('InvalidThreadIDError')
    expect(await errorName(page, thread, `const t = await c.net.createThread(); await c.db.getDB(t.id).find('Notes')`)).toBe('DBNotFoundError')
    expect(await errorName(page, thread, `const t = await c.net.createThread(); for await (const e of c.db.getDB(t.id).listen()) break`)).toBe('DBNotFoundError')
    // In a transaction too: the failed operation is refused, the transaction goes on.
    expect(await value(page, thread, `
      const t = db.writeTransaction('Notes')
      await t.start()
      const names = []
      for (const bad of [() => t.create([{ title: 'taken' }]), () => t.create([{ title: false }]), () => t.collection('Nope').create([{}])]) {
        try { await bad(); names.push('ok') } catch (e) { names.push(e.name) }
      }
      await t.discard()
      return names`)).toEqual(['UniqueConstraintError', 'SchemaValidationError', 'CollectionNotFoundError'])

    // Nothing was written: no record, no state change, no event.
    expect(await ownHead(page, thread)).toBe(head)
    expect(await value(page, thread, `return await db.stateHash()`)).toBe(hash)
    expect(await value(page, thread, `return (await db.find('Notes')).map((d) => d._id)`)).toEqual(['one'])
    expect(await value(page, thread, `return await db.conflicts()`)).toEqual([])
    expect((await events(page)).length).toBe(1)
  } finally {
    await context.close()
  }
})

test('a transaction runs in the worker across calls: it reads its own writes, spans collections, commits as one event, holds no lock between calls, and is discarded on idleness, abort and tab death', async ({ browser }) => {
  const context: BrowserContext = await browser.newContext()
  try {
    const name = uniqueName('dbtxn')
    const t1 = await openTab(context, { name }, { relays: [] })
    const t2 = await openTab(context, { name }, { relays: [] })
    const thread = await newDB(t1, [notes, { name: 'Tags', schema: { type: 'object', properties: { _id: { type: 'string' }, note: { type: 'string' } } } }])
    const head = await ownHead(t1, thread)

    // Read-your-writes, across collections, with operations batched in one tick; one record.
    const seen = await value<Record<string, unknown>>(t1, thread, `
      const t = db.writeTransaction('Notes')
      const end = await t.start()
      const [ids] = await Promise.all([t.create([{ _id: 'n1', title: 'first' }]), t.create([{ _id: 'n2', title: 'second', n: 2 }])])
      await t.save([{ _id: 'n1', title: 'first', n: 1 }])
      const mine = await t.find(p.sdk.where('n').ge(1).orderByDesc('n'))
      const byId = await t.findByID('n1')
      await t.collection('Tags').create([{ _id: 'g1', note: 'n1' }])
      const tagged = await t.collection('Tags').has(['g1'])
      // Outside the transaction nothing is visible until it ends.
      await end()
      return { ids, mine: mine.map((d) => d._id), byId, tagged }`)
    expect(seen).toEqual({ ids: ['n1'], mine: ['n2', 'n1'], byId: { _id: 'n1', title: 'first', n: 1 }, tagged: true })
    expect(await ownHead(t1, thread)).toBe(head + 1)
    expect(await value(t2, thread, `return [await db.has('Notes', ['n1', 'n2']), await db.has('Tags', ['g1'])]`)).toEqual([true, true])

    // A read transaction sees one state; it refuses nothing it can do, and ends.
    expect(await value(t2, thread, `
      const r = db.readTransaction('Notes')
      const end = await r.start()
      const n = (await r.find()).length
      const tags = await r.collection('Tags').find()
      await end()
      return [n, tags.length]`)).toEqual([2, 1])

    // Discarded: nothing of it stays.
    await value(t1, thread, `const t = db.writeTransaction('Notes'); await t.start(); await t.create([{ _id: 'gone', title: 'gone' }]); await t.discard()`)
    expect(await value(t2, thread, `return await db.has('Notes', ['gone'])`)).toBe(false)
    expect(await errorName(t1, thread, `const t = db.writeTransaction('Notes'); await t.start(); await t.discard(); await t.create([{ title: 'late' }])`)).toBe('TransactionDiscardedError')
    expect(await errorName(t1, thread, `const t = db.writeTransaction('Notes'); await t.create([{ title: 'early' }])`)).toBe('TransactionClosedError')

    // Another write does not wait for an open transaction (it holds no lock). Idle past its limit,
    // the worker discards it; its next operation says so.
    expect(await value(t1, thread, `
      const t = db.writeTransaction('Notes', { idleTimeoutMs: 300 })
      await t.start()
      await t.create([{ _id: 'idle', title: 'idle' }])
      const other = await c.db.getDB(db.id).create('Notes', [{ _id: 'meanwhile', title: 'meanwhile' }], { timeoutMs: 10000 })
      // Idleness is time passing: wait well past the limit.
      await new Promise((r) => setTimeout(r, 1500))
      let name = 'ok'
      try { await t.create([{ title: 'after' }]) } catch (e) { name = e.name }
      let ended = 'ok'
      try { await t.end() } catch (e) { ended = e.name }
      return [other, name, ended]`)).toEqual([['meanwhile'], 'TransactionDiscardedError', 'TransactionDiscardedError'])
    expect(await value(t2, thread, `return await db.has('Notes', ['idle'])`)).toBe(false)

    // Aborting a transaction's signal discards it in the worker at once.
    expect(await value(t1, thread, `
      const a = new AbortController()
      const t = db.writeTransaction('Notes', { signal: a.signal, idleTimeoutMs: 600000 })
      await t.start()
      await t.create([{ _id: 'aborted', title: 'aborted' }])
      a.abort()
      let name = 'ok'
      try { await t.create([{ title: 'x2' }]) } catch (e) { name = e.name }
      const other = await db.create('Notes', [{ _id: 'free', title: 'free' }], { timeoutMs: 5000 })
      return [name, other, await db.has('Notes', ['aborted'])]`)).toEqual(['TransactionDiscardedError', ['free'], false])

    // A tab that dies in a transaction: the other tab's write goes through, the dead one's is gone.
    await t2.evaluate(async (t) => {
      const txn = globalThis.weftPeer!.client().db.getDB(t).writeTransaction('Notes', { idleTimeoutMs: 600_000 })
      await txn.start()
      await txn.create([{ _id: 'orphan', title: 'orphan' }])
    }, thread)
    await t2.close()
    expect(await value(t1, thread, `return await db.create('Notes', [{ _id: 'after', title: 'after' }], { timeoutMs: 15000 })`)).toEqual(['after'])
    expect(await value(t1, thread, `return await db.has('Notes', ['orphan'])`)).toBe(false)
  } finally {
    await context.close()
  }
})

test('a token from getToken() names the reader of read filters, in calls, transactions and listeners', async ({ browser }) => {
  const context = await browser.newContext()
  try {
    const page = await openTab(context, { name: uniqueName('dbtok') }, { relays: [] })
    const thread = await newDB(page, [{
      name: 'Secrets',
      schema: { type: 'object', properties: { _id: { type: 'string' }, owner: { type: 'string' }, text: { type: 'string' } } },
      readFilter: 'return instance.owner === reader ? instance : null'
    }])
    const out = await value<Record<string, unknown>>(page, thread, `
      const me = await p.newIdentity()
      const token = await c.getToken(me)
      const mine = c.db.getDB(db.id, { token })
      const heard = []
      const sub = mine.listen([{ collection: 'Secrets' }])
      const other = db.listen([{ collection: 'Secrets' }])
      await Promise.all([sub.ready, other.ready])
      const otherHeard = []
      await db.create('Secrets', [{ _id: 's1', owner: me.publicKey.toString(), text: 'for me' }, { _id: 's2', owner: c.identity, text: 'for the peer' }])
      // Each listener's first event: the one instance its reader may see.
      for await (const e of sub) { heard.push(e.instanceID); break }
      for await (const e of other) { otherHeard.push(e.instanceID); break }
      const t = mine.readTransaction('Secrets')
      await t.start()
      const inTxn = (await t.find()).map((d) => d._id)
      await t.end()
      return {
        asPeer: (await db.find('Secrets')).map((d) => d._id),
        asMe: (await mine.find('Secrets')).map((d) => d._id),
        hasAsMe: await db.has('Secrets', ['s1'], { token }),
        heard, otherHeard, inTxn
      }`)
    expect(out).toEqual({ asPeer: ['s2'], asMe: ['s1'], hasAsMe: true, heard: ['s1'], otherHeard: ['s2'], inTxn: ['s1'] })
    expect(await errorName(page, thread, `await db.find('Secrets', undefined, { token: 'not.a-token' })`)).toBe('InvalidTokenError')
    expect(await errorName(page, thread, `const t = await c.getToken(undefined, { ttlMs: 1 }); await new Promise((r) => setTimeout(r, 20)); await db.find('Secrets', undefined, { token: t })`)).toBe('TokenExpiredError')
  } finally {
    await context.close()
  }
})

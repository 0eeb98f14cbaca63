/**
 * The browser peer on IndexedDB, its browser killed: Debian's Chromium is started here as a
 * process of its own (a process group we know the ID of), on a profile directory of its own; a
 * tab writes transactions through the SharedWorker peer and reports each acknowledged one to the
 * test as it resolves; the whole browser is killed with SIGKILL in the middle of the writes, then
 * started again on the same profile. Every acknowledged transaction must be there, whole, no
 * transaction partly there, the indexes must agree with the documents, and the DB must keep
 * working — across several kills.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, expect, test, type Browser, type Page } from '@playwright/test'
import { openTab, uniqueName } from './browser-helpers.js'
import type { CollectionConfig } from '../src/client/index.js'

/** Documents created per transaction; every third transaction also saves a document of the one before. */
const PER_TXN = 5
/** Kills (and reopens) of the browser. */
const ROUNDS = 4
/** Text of every document: a transaction is a few kilobytes. */
const TEXT = 'x'.repeat(2_000)
/**
 * Text of the documents of every fifth transaction: 5 × 200 kB of ops does not fit in one record
 * (900 kB), so those transactions span several records.
 */
const BIG = 200_000
const textOf = (n: number): string => n % 5 === 4 ? 'y'.repeat(BIG) : TEXT

const crash: CollectionConfig = {
  name: 'crash',
  schema: {
    type: 'object',
    properties: { _id: { type: 'string' }, tag: { type: 'string' }, n: { type: 'integer' }, savedBy: { type: 'integer' }, text: { type: 'string' } },
    required: ['_id', 'tag', 'n']
  },
  indexes: [{ path: 'tag', unique: true }, { path: 'n' }]
}

interface Launched {
  pid: number
  browser: Browser
  exited: Promise<void>
}

/** Start Chromium on `profile` in a process group of its own and connect to it over CDP. */
async function launch(profile: string, executable: string, args: string[]): Promise<Launched> {
  // A killed browser leaves its singleton lock behind; these files are in our own profile.
  for (const f of ['SingletonLock', 'SingletonSocket', 'SingletonCookie']) await rm(join(profile, f), { force: true })
  const child: ChildProcess = spawn(executable, [
    ...args, '--headless=new', '--remote-debugging-port=0', '--remote-debugging-address=127.0.0.1',
    `--user-data-dir=${profile}`, '--no-default-browser-check', '--hide-crash-restore-bubble', 'about:blank'
  ], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  const ws = await new Promise<string>((resolve, reject) => {
    let err = ''
    const timer = setTimeout(() => { reject(new Error(`Chromium did not start: ${err}`)) }, 30_000)
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      err += s
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err)
      if (m != null) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`Chromium exited (${code ?? signal}): ${err}`)) })
  })
  const browser = await chromium.connectOverCDP(ws)
  return { pid: child.pid!, browser, exited }
}

/** PIDs of the processes still in process group `pgid`. */
async function groupMembers(pgid: number): Promise<number[]> {
  const out: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8')
      // Fields after the command name (which may hold spaces): state ppid pgrp …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(entry))
    } catch {
      // the process ended while we read
    }
  }
  return out
}

/** SIGKILL every process of the browser we started (its process group), and wait until none is left. */
async function killBrowser(b: Launched): Promise<void> {
  process.kill(-b.pid, 'SIGKILL')
  await b.exited
  await expect.poll(async () => await groupMembers(b.pid), { timeout: 10_000 }).toEqual([])
}

/** Open the test page of peer `name` in the browser's profile and connect it. */
async function tab(b: Launched, name: string): Promise<Page> {
  const context = b.browser.contexts()[0]!
  return await openTab(context, { name })
}

/**
 * Write transactions from the tab until the page goes away: transaction i creates `t<i>-0…4`
 * (`n = i`; the documents of every fifth one are large); when i % 3 === 2 it is a write transaction that also saves `t<i-1>-0` with
 * `savedBy = i`. Each acknowledged transaction is reported to the test (`crashAck(i)`) before the
 * next one starts.
 */
async function startWriting(page: Page, db: string, from: number, acked: number[], failed: string[]): Promise<void> {
  await page.exposeFunction('crashAck', (i: number) => { acked.push(i) })
  await page.exposeFunction('crashFail', (e: string) => { failed.push(e) })
  await page.evaluate(([t, start, per, text, big]) => {
    const c = globalThis.weftPeer!.client()
    const d = c.db.getDB(t)
    const docs = (i: number): Array<Record<string, unknown>> =>
      Array.from({ length: per }, (_, j) => ({ _id: `t${i}-${j}`, tag: `t${i}-${j}`, n: i, text: i % 5 === 4 ? 'y'.repeat(big) : text }))
    const { crashAck: ack, crashFail: fail } = globalThis as unknown as { crashAck: (i: number) => Promise<void>; crashFail: (e: string) => Promise<void> }
    void (async () => {
      for (let i = start; ; i++) {
        if (i % 3 === 2) {
          const w = d.writeTransaction('crash')
          await w.start()
          await w.create(docs(i))
          await w.save([{ _id: `t${i - 1}-0`, tag: `t${i - 1}-0`, n: i - 1, savedBy: i, text }])
          await w.end()
        } else {
          await d.create('crash', docs(i))
        }
        await ack(i)
      }
    })().catch(async (err: Error) => { await fail(`${err.name}: ${err.message}`) })
  }, [db, from, PER_TXN, TEXT, BIG] as const)
}

interface Stored { _id: string; tag: string; n: number; savedBy?: number; text: string }

/** Check what the reopened DB holds against what was acknowledged; returns the next transaction number. */
async function check(page: Page, db: string, acked: readonly number[], label: string): Promise<number> {
  const docs = await page.evaluate(async (t) => await globalThis.weftPeer!.client().db.getDB(t).find('crash') as unknown as Stored[], db)
  const byID = new Map(docs.map((d) => [d._id, d]))
  const present = new Set(docs.map((d) => d.n))
  const problems: string[] = []
  for (const i of acked) if (!present.has(i)) problems.push(`acknowledged transaction ${i} is missing`)
  for (const i of present) {
    const have = Array.from({ length: PER_TXN }, (_, j) => byID.has(`t${i}-${j}`))
    if (!have.every(Boolean)) problems.push(`transaction ${i} is partly there: ${have.join(',')}`)
    if (i % 3 === 2 && byID.get(`t${i - 1}-0`)?.savedBy !== i) problems.push(`transaction ${i} is there without its save`)
  }
  for (const d of docs) {
    if (d.savedBy !== undefined && !present.has(d.savedBy)) problems.push(`the save of transaction ${d.savedBy} is there without its creates`)
    if (d.text !== (d.savedBy !== undefined ? TEXT : textOf(d.n)) || d.tag !== d._id) problems.push(`${d._id} is torn`)
  }
  expect(problems, label).toEqual([])
  // The indexes agree with the documents: the whole range through each, and a value of each.
  const through = await page.evaluate(async (t) => {
    const { where } = globalThis.weftPeer!.sdk
    const d = globalThis.weftPeer!.client().db.getDB(t)
    const tag = await d.find('crash', where('tag').ge(''))
    const n = await d.find('crash', where('n').ge(0))
    const plans = [(await d.explain('crash', where('tag').ge(''))).plan, (await d.explain('crash', where('n').ge(0))).plan]
    return { tag: tag.map((x) => x._id as string).sort(), n: n.map((x) => x._id as string).sort(), plans }
  }, db)
  const ids = [...byID.keys()].sort()
  expect(through, `${label}: queries through the indexes`).toEqual({ tag: ids, n: ids, plans: ['index', 'index'] })
  return Math.max(-1, ...present) + 1
}

test('a browser killed while its tab writes reopens its IndexedDB with every acknowledged transaction whole and none partial', async ({ browserName }, testInfo) => {
  expect(browserName).toBe('chromium')
  test.setTimeout(180_000)
  const launchOptions = testInfo.project.use.launchOptions ?? {}
  const executable = launchOptions.executablePath ?? '/usr/bin/chromium'
  const args = launchOptions.args ?? ['--no-sandbox']
  const profile = await mkdtemp(join(tmpdir(), 'weft-crash-idb-'))
  const name = uniqueName('crash')
  let b = await launch(profile, executable, args)
  try {
    let page = await tab(b, name)
    const db = await page.evaluate(async (cs) => (await globalThis.weftPeer!.client().db.newDB(undefined, { name: 'crash', collections: [cs] })).id, crash)
    let next = 0
    const allAcked: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const acked: number[] = []
      const failed: string[] = []
      await startWriting(page, db, next, acked, failed)
      // Kill once some transactions are acknowledged, at a moment that varies between rounds.
      const want = 5 + Math.floor(Math.random() * 15)
      await expect.poll(() => failed.length > 0 || acked.length >= want, { timeout: 60_000 }).toBe(true)
      expect(failed, 'writes before the kill').toEqual([])
      await killBrowser(b)
      const label = `kill ${round + 1}, after ${acked.length} acknowledged transactions from ${next}`
      b = await launch(profile, executable, args)
      page = await tab(b, name)
      allAcked.push(...acked)
      next = await check(page, db, allAcked, label)
    }
    // The DB keeps working after the kills: a write (not one that saves), then a read of it.
    let last = next
    while (last % 3 === 2 || last % 5 === 4) last++
    await page.evaluate(async ([t, i, per, text]) => {
      await globalThis.weftPeer!.client().db.getDB(t).create('crash', Array.from({ length: per }, (_, j) => ({ _id: `t${i}-${j}`, tag: `t${i}-${j}`, n: i, text })))
    }, [db, last, PER_TXN, TEXT] as const)
    expect(await check(page, db, [...allAcked, last], 'after the last reopen')).toBe(last + 1)
    // The large transactions took several records each (a record per transaction at least besides).
    const { records, txns, big } = await page.evaluate(async (t) => {
      const c = globalThis.weftPeer!.client()
      const ns = new Set((await c.db.getDB(t).find('crash')).map((d) => d.n as number))
      const own = (await c.net.getThread(t)).logs.find((l) => l.managed)!
      return { records: own.head.counter, txns: ns.size, big: [...ns].filter((n) => n % 5 === 4).length }
    }, db)
    expect(big).toBeGreaterThan(0)
    expect(records).toBeGreaterThanOrEqual(txns + big)
  } finally {
    await b.browser.close().catch(() => undefined)
    try { process.kill(-b.pid, 'SIGKILL') } catch { /* already gone */ }
    await b.exited
    await rm(profile, { recursive: true, force: true })
  }
})

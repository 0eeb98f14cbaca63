/**
 * The demo app, the way a newcomer meets it: `npm start` (build, relay, static server) is run as a
 * user would, on free ports; two browser contexts (two people, two devices) open the URL it
 * prints. Alice names herself and her board; she invites Bob; a task Alice adds appears at Bob's (screenshots of both are saved as
 * artifacts), with the sync indicator on one line at 1,100 px and the board's owner named; Bob
 * reloads and the two browsers are direct again within 5 s; Bob, with the network cut, reloads
 * the app from the service worker and edits the task, and the edit reaches Alice when the network
 * returns; Bob's delete of Alice's task is refused, in the UI and in the data. Ctrl-C (SIGINT to npm's process group) stops it cleanly.
 *
 * Cutting the network: `context.setOffline(true)` makes the page offline (its requests fail, so it
 * must load from the service worker, and `navigator.onLine` is false), but it does not reach the
 * Weft SharedWorker's WebSocket to the relay: Chromium's offline emulation leaves open WebSockets
 * alone, and Playwright does not attach to shared workers (checked: with the page offline, a write
 * still reached the other device at once). So Bob's browser context also reaches the network
 * through an HTTP proxy this test runs (loopback included: `<-loopback>`), and cutting Bob's
 * network is `setOffline(true)` plus unplugging that proxy (every tunnel closed, new ones refused).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test, type BrowserContext, type Locator, type Page, type TestInfo } from '@playwright/test'
import { unpluggableNetwork, type Network } from './network.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

interface Started {
  url: string
  child: ChildProcess
  output(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** `npm start` in its own process group, on free loopback ports; resolves to the URL it prints. */
async function npmStart(repo: string): Promise<Started> {
  const env: NodeJS.ProcessEnv = {}
  // The global setup exports its relay's address (WEFT_RELAY_WS) and its Vite dev server sets
  // NODE_ENV=development in this process: a user's shell has neither.
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('WEFT_RELAY_') && k !== 'DEBUG' && k !== 'NODE_ENV') env[k] = v
  }
  Object.assign(env, {
    WEFT_APP_PORT: '0',
    WEFT_RELAY_REPO: repo,
    WEFT_RELAY_TCP: '/ip4/127.0.0.1/tcp/0',
    WEFT_RELAY_WS: '/ip4/127.0.0.1/tcp/0/ws',
    WEFT_RELAY_HTTP: '127.0.0.1:0'
  })
  const child = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { out += s })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { resolve({ code, signal }) })
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`npm start printed no URL within 90 s:\n${out}`)) }, 90_000)
    const onData = (): void => {
      const m = /Open\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)
      if (m == null) return
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      resolve(m[1]!)
    }
    child.stdout!.on('data', onData)
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`npm start exited (code ${code}, signal ${signal}) before printing a URL:\n${out}`))
    })
  })
  return { url, child, output: () => out, exited }
}

/** Ctrl-C, as a terminal sends it: SIGINT to the whole process group. SIGKILL if it hangs. */
async function ctrlC(started: Started): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const pgid = started.child.pid!
  if (started.child.exitCode !== null) return await started.exited
  process.kill(-pgid, 'SIGINT')
  const timer = setTimeout(() => { try { process.kill(-pgid, 'SIGKILL') } catch { /* gone */ } }, 30_000)
  try {
    return await started.exited
  } finally {
    clearTimeout(timer)
  }
}

/** Bob's device loses (or regains) the network: the page and the Weft worker alike. */
async function setNetwork(context: BrowserContext, network: Network, online: boolean): Promise<void> {
  if (online) network.plug()
  else network.unplug()
  await context.setOffline(!online)
}

/** Whether the sync indicator holds on one line, and its words fit without being cut. */
async function oneLine(page: Page): Promise<{ oneLine: boolean; fits: boolean }> {
  return await page.locator('#sync').evaluate((el) => {
    const line = parseFloat(getComputedStyle(el).lineHeight) || 20
    const detail = el.querySelector<HTMLElement>('.sync-detail')!
    return { oneLine: el.getBoundingClientRect().height < line * 1.6, fits: detail.scrollWidth <= detail.clientWidth }
  })
}

/** Whether the app's browser holds a direct WebRTC connection to another browser opened at or after `since`. */
async function directSince(page: Page, since: number): Promise<boolean> {
  return await page.evaluate(async (t) => {
    const info = await globalThis.weftApp!.client.info()
    return info.connections.some((c) => c.via === 'webrtc' && c.openedAt >= t)
  }, since)
}

/** The task titles in the open board's database (through the app's console handle). */
async function titles(page: Page): Promise<string[]> {
  return await page.evaluate(async () => (await globalThis.weftApp!.board!.list()).map((t) => t.title))
}

const task = (page: Page, title: string): Locator => page.locator('li.task', { hasText: title })

async function addTask(page: Page, title: string, note = ''): Promise<void> {
  await page.locator('#new-title').fill(title)
  await page.locator('#new-note').fill(note)
  await page.getByRole('button', { name: 'Add', exact: true }).click()
}

/** A screenshot of the page as a test artifact, taken while `shown` is on screen; checks it is a PNG. */
async function screenshot(page: Page, shown: Locator, name: string, testInfo: TestInfo): Promise<string> {
  await expect(shown).toBeVisible()
  const path = testInfo.outputPath(`${name}.png`)
  await page.screenshot({ path, fullPage: true })
  await expect(shown).toBeVisible()
  const bytes = await readFile(path)
  expect(bytes.length).toBeGreaterThan(1000)
  expect([...bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE)
  await testInfo.attach(name, { path, contentType: 'image/png' })
  return path
}

test('npm start serves the board: invite, live sync, offline edit from the service worker, refused delete', async ({ browser }, testInfo) => {
  test.setTimeout(300_000)
  const repo = await mkdtemp(join(tmpdir(), 'weft-app-relay-'))
  const app = await npmStart(repo)
  const network = await unpluggableNetwork()
  // 1,100 px wide: the sync indicator must hold on one line.
  const viewport = { width: 1100, height: 800 }
  const alice = await browser.newContext({ viewport })
  const bob = await browser.newContext({ ...network.contextOptions(), viewport })
  let exit: Awaited<ReturnType<typeof ctrlC>> | undefined
  try {
    // One URL, printed once, with the hint to open a second browser.
    expect(app.output().match(/https?:\/\//g)).toHaveLength(1)
    expect(app.output()).toContain('second browser profile')

    const a = await alice.newPage()
    const b = await bob.newPage()
    // The first visit asks for the user's name and the board's before it makes the board.
    await a.goto(app.url)
    await a.locator('#create-panel').getByLabel('Your name').fill('Alice')
    await a.locator('#create-panel').getByLabel('Board name').fill('Groceries')
    await a.getByRole('button', { name: 'Create board' }).click()
    await expect(a).toHaveURL(/#board=/, { timeout: 30_000 })
    await expect(a.locator('#board-name')).toHaveText('Groceries')
    await expect(a.locator('#sync')).toHaveAttribute('data-state', /online|syncing/, { timeout: 30_000 })

    // Alice invites Bob: the link opens her board in Bob's browser.
    await a.getByRole('button', { name: 'Invite' }).click()
    const link = a.getByLabel('Invite link')
    await expect(link).toBeVisible({ timeout: 30_000 })
    const invite = await link.inputValue()
    expect(invite).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#invite=weft2\./)
    const boardA = new URL(a.url()).hash
    await b.goto(invite)
    await expect(b).toHaveURL(new RegExp(`${boardA}$`), { timeout: 60_000 })
    await b.locator('.toolbar').getByLabel('Your name').fill('Bob')
    await b.locator('.toolbar').getByLabel('Your name').press('Enter')

    // A task Alice adds appears at Bob's, with its author; her private note stays hers.
    await addTask(a, 'Buy milk', 'two litres, oat')
    await expect(task(a, 'Buy milk')).toContainText('two litres, oat')
    await expect(task(b, 'Buy milk')).toBeVisible({ timeout: 60_000 })
    await expect(task(b, 'Buy milk')).toContainText('by Alice')
    await expect(task(b, 'Buy milk')).not.toContainText('two litres')
    // The indicator shows the other device (direct WebRTC once it is up, relayed before), on one line.
    await expect(a.locator('#sync')).toHaveAttribute('data-via', /webrtc|relayed/, { timeout: 60_000 })
    await expect(a.locator('#sync')).toContainText('1 other device')
    await expect(a.locator('#sync')).toHaveAttribute('data-state', 'online', { timeout: 30_000 })
    expect(await oneLine(a)).toEqual({ oneLine: true, fits: true })
    // Who owns the board: Alice made it.
    await expect(a.locator('#board-owner')).toHaveText('owned by you')
    await expect(b.locator('#board-owner')).toHaveText('owned by Alice', { timeout: 30_000 })
    await screenshot(a, task(a, 'Buy milk'), 'alice-board', testInfo)
    await screenshot(b, task(b, 'Buy milk'), 'bob-board', testInfo)

    // Bob reloads: the two browsers are directly connected again within 5 s, on both sides.
    await expect.poll(async () => await directSince(a, 0), { timeout: 30_000 }).toBe(true)
    const reloadedAt = Date.now()
    await b.reload()
    await expect(task(b, 'Buy milk')).toBeVisible()
    await expect.poll(async () => await directSince(b, reloadedAt), { timeout: 5_000, intervals: [100] }).toBe(true)
    await expect.poll(async () => await directSince(a, reloadedAt), { timeout: 5_000, intervals: [100] }).toBe(true)

    // Bob's network goes away; the app reloads from the service worker and takes an edit.
    await expect.poll(async () => await b.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: 30_000 }).toBe(true)
    // Installable, as Chromium judges it (a test context is incognito, which Chromium names too).
    const { installabilityErrors } = await (await bob.newCDPSession(b)).send('Page.getInstallabilityErrors')
    expect(installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito')).toEqual([])
    await setNetwork(bob, network, false)
    await b.reload()
    await expect(b.locator('#sync')).toHaveAttribute('data-state', 'offline', { timeout: 30_000 })
    await expect(b.locator('#sync')).toHaveAttribute('data-online', 'false')
    await task(b, 'Buy milk').getByRole('button', { name: 'Edit' }).click()
    await b.getByLabel('Title').fill('Buy oat milk')
    await b.getByLabel('Title').press('Enter')
    await expect(task(b, 'Buy oat milk')).toBeVisible()
    await expect(b.locator('#sync')).toHaveAttribute('data-pending', '1')
    await expect(task(a, 'Buy milk')).toBeVisible()
    expect(await a.locator('li.task', { hasText: 'Buy oat milk' }).count()).toBe(0)

    // The network returns: the edit reaches Alice without anyone asking.
    await setNetwork(bob, network, true)
    await expect(task(a, 'Buy oat milk')).toBeVisible({ timeout: 90_000 })
    await expect(b.locator('#sync')).toHaveAttribute('data-pending', '0', { timeout: 30_000 })

    // Bob may not delete Alice's task: the board's write validator refuses, and says why.
    await task(b, 'Buy oat milk').getByRole('button', { name: 'Delete' }).click()
    await task(b, 'Buy oat milk').getByRole('button', { name: 'Yes, delete' }).click()
    await expect(b.getByRole('alert').filter({ hasText: 'Refused: only the author of a task can delete it' })).toBeVisible()
    await expect(task(b, 'Buy oat milk')).toBeVisible()
    // ... and the data agrees: both databases still hold it, and so do both boards reloaded from them.
    for (const page of [a, b]) expect(await titles(page)).toEqual(['Buy oat milk'])
    await Promise.all([a.reload(), b.reload()])
    await expect(task(a, 'Buy oat milk')).toBeVisible()
    await expect(task(b, 'Buy oat milk')).toBeVisible()

    // Alice, its author, may: the task goes from both boards.
    await task(a, 'Buy oat milk').getByRole('button', { name: 'Delete' }).click()
    await task(a, 'Buy oat milk').getByRole('button', { name: 'Yes, delete' }).click()
    await expect(task(a, 'Buy oat milk')).toHaveCount(0)
    await expect(task(b, 'Buy oat milk')).toHaveCount(0, { timeout: 60_000 })
  } finally {
    await alice.close()
    await bob.close()
    exit = await ctrlC(app)
    await network.close()
    await rm(repo, { recursive: true, force: true })
  }
  // Ctrl-C stops everything cleanly: the relay got exactly one SIGINT and stopped, then the start
  // script. (npm itself re-raises the SIGINT it got, as it does for any script.)
  expect([{ code: 0, signal: null }, { code: null, signal: 'SIGINT' }], app.output()).toContainEqual(exit)
  expect(app.output().match(/weft-relay: SIGINT received/g)).toHaveLength(1)
  expect(app.output()).toContain('weft-relay: stopped')
  expect(app.output()).toMatch(/^Stopped\.$/m)
})

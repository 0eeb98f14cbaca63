/**
 * The demo app as a first-time user meets it (served by the Vite dev server, with the relay of the
 * global setup in its config.json): the first visit asks for the user's name and the board's
 * before it makes the board; the invite link is compact and its panel closes; the board keeps its
 * name at the invitee's and a rename reaches every member; people appear by name, never by key
 * fragments; a delete asks first; the status line holds on one line at 1,100 px.
 */
import { expect, test, type Browser, type BrowserContext, type Locator, type Page } from '@playwright/test'
import { relayAddr } from './browser-helpers.js'

const VIEWPORT = { width: 1100, height: 800 }

function appUrl(): string {
  const base = process.env.WEFT_VITE_URL
  if (base == null) throw new Error('WEFT_VITE_URL is not set (the global setup starts Vite)')
  return `${base}/index.html`
}

/** A device: a browser context whose app finds the test relay in config.json. */
async function device(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: VIEWPORT })
  await context.route('**/config.json', async (route) => { await route.fulfill({ json: { relays: [relayAddr()], allowPrivate: true } }) })
  return context
}

const task = (page: Page, title: string): Locator => page.locator('li.task', { hasText: title })

async function addTask(page: Page, title: string): Promise<void> {
  await page.locator('#new-title').fill(title)
  await page.getByRole('button', { name: 'Add', exact: true }).click()
  await expect(task(page, title)).toBeVisible()
}

/** Whether the header holds on one row (title and status side by side) and the status's words fit. */
async function headerOnOneRow(page: Page): Promise<{ oneRow: boolean; fits: boolean }> {
  return await page.evaluate(() => {
    const brand = document.querySelector('.brand')!.getBoundingClientRect()
    const sync = document.querySelector('#sync')!.getBoundingClientRect()
    const detail = document.querySelector<HTMLElement>('#sync .sync-detail')!
    const line = parseFloat(getComputedStyle(document.querySelector('#sync')!).lineHeight) || 20
    return {
      oneRow: Math.abs((brand.top + brand.bottom) / 2 - (sync.top + sync.bottom) / 2) < line && sync.height < line * 1.6,
      fits: detail.scrollWidth <= detail.clientWidth
    }
  })
}

test('a first visit names the user and the board before making it; the invite is compact, closes, and carries the name; a rename reaches everyone; people appear by name; a delete asks first', async ({ browser }) => {
  test.setTimeout(180_000)
  const alice = await device(browser)
  const bob = await device(browser)
  try {
    const a = await alice.newPage()
    await a.goto(appUrl())
    // Nothing is made before the user says what: the form asks for both names.
    await expect(a.locator('#create-panel')).toBeVisible({ timeout: 30_000 })
    expect(new URL(a.url()).hash).toBe('')
    await a.locator('#create-panel').getByLabel('Your name').fill('Alice')
    await a.locator('#create-panel').getByLabel('Board name').fill('Groceries')
    await a.getByRole('button', { name: 'Create board' }).click()
    await expect(a).toHaveURL(/#board=/, { timeout: 30_000 })
    await expect(a.locator('#board-name')).toHaveText('Groceries')
    await expect(a.locator('#create-panel')).toBeHidden()
    await expect(a.locator('#whoami')).toHaveText('You are Alice')
    await expect(a.locator('#board-owner')).toHaveText('owned by you')
    await expect(a.locator('.toolbar').getByLabel('Your name')).toHaveValue('Alice')
    await addTask(a, 'Milk')
    await expect(task(a, 'Milk')).toContainText('by you')

    // The invite: a compact link, in a panel that closes (button and Escape).
    await a.getByRole('button', { name: 'Invite' }).click()
    const link = a.getByLabel('Invite link')
    await expect(link).toBeVisible({ timeout: 30_000 })
    const invite = await link.inputValue()
    expect(invite).toMatch(/#invite=weft2\.[A-Za-z0-9_-]+$/)
    expect(invite.length).toBeLessThan(700)
    await a.getByRole('button', { name: 'Close' }).click()
    await expect(a.locator('#invite-panel')).toBeHidden()
    await a.getByRole('button', { name: 'Invite' }).click()
    await expect(link).toBeVisible()
    await link.press('Escape')
    await expect(a.locator('#invite-panel')).toBeHidden()

    // Bob joins: the board keeps its name, its owner and tasks appear by name.
    const b = await bob.newPage()
    await b.goto(invite)
    await expect(b).toHaveURL(/#board=/, { timeout: 60_000 })
    await expect(b.locator('#board-name')).toHaveText('Groceries', { timeout: 30_000 })
    await expect(task(b, 'Milk')).toContainText('by Alice', { timeout: 30_000 })
    await expect(b.locator('#board-owner')).toHaveText('owned by Alice')
    await b.locator('.toolbar').getByLabel('Your name').fill('Bob')
    await b.locator('.toolbar').getByLabel('Your name').press('Enter')
    await expect(b.locator('#whoami')).toHaveText('You are Bob')
    await addTask(b, 'Bread')
    await expect(task(a, 'Bread')).toContainText('by Bob', { timeout: 30_000 })
    for (const page of [a, b]) {
      for (const text of [await page.locator('#tasks').innerText(), await page.locator('header').innerText(), await page.locator('footer').innerText()]) {
        expect(text, 'no key fragments').not.toMatch(/…\w{4,}/)
      }
    }

    // Alice renames the board: Bob sees the new name.
    await a.getByRole('button', { name: 'Rename' }).click()
    await a.getByLabel('New board name').fill('Weekend groceries')
    await a.getByLabel('New board name').press('Enter')
    await expect(a.locator('#board-name')).toHaveText('Weekend groceries')
    await expect(b.locator('#board-name')).toHaveText('Weekend groceries', { timeout: 30_000 })

    // A delete asks first: "Keep" keeps the task, "Yes, delete" deletes it everywhere.
    await task(a, 'Milk').getByRole('button', { name: 'Delete' }).click()
    await expect(task(a, 'Milk')).toContainText('Delete this task?')
    await task(a, 'Milk').getByRole('button', { name: 'Keep' }).click()
    await expect(task(a, 'Milk')).not.toContainText('Delete this task?')
    expect(await a.evaluate(async () => (await globalThis.weftApp!.board!.list()).map((t) => t.title).sort())).toEqual(['Bread', 'Milk'])
    await task(a, 'Milk').getByRole('button', { name: 'Delete' }).click()
    await task(a, 'Milk').getByRole('button', { name: 'Yes, delete' }).click()
    await expect(task(a, 'Milk')).toHaveCount(0)
    await expect(task(b, 'Milk')).toHaveCount(0, { timeout: 30_000 })

    // At 1,100 px the header holds on one row, and the status's words are not cut.
    await expect(a.locator('#sync')).toHaveAttribute('data-state', /online|syncing/, { timeout: 30_000 })
    await expect(a.locator('#sync')).toContainText('1 other device', { timeout: 30_000 })
    expect(await headerOnOneRow(a)).toEqual({ oneRow: true, fits: true })
    expect(await headerOnOneRow(b)).toEqual({ oneRow: true, fits: true })
  } finally {
    await alice.close()
    await bob.close()
  }
})

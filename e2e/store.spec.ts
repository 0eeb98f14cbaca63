/**
 * The store acceptance suites on IndexedDB in real Chromium: one Playwright test per case, each
 * run inside the harness page (test/browser/store.html). Case names are computed here in Node
 * by calling the suites with factories that are never called.
 */
import { expect, test as base, type Page } from '@playwright/test'
import type { KVStore } from '../src/store/kv.js'
import type { SuiteName } from '../test/browser/store-harness-types.js'
import { kvSuite } from '../test/suites/kv-suite.js'
import { logStoreSuite } from '../test/suites/logstore-suite.js'

const unused = async (): Promise<KVStore> => {
  throw new Error('cases are only listed in Node')
}

const suites: Array<[SuiteName, string, string[]]> = [
  ['kv', 'KV store on IndexedDB', kvSuite(unused, { reopen: unused }).map((c) => c.name)],
  ['logstore', 'log store on IndexedDB', logStoreSuite(unused, { reopen: unused }).map((c) => c.name)]
]

function harnessUrl(): string {
  const base = process.env.WEFT_VITE_URL
  if (base === undefined) throw new Error('WEFT_VITE_URL is not set (the global setup starts Vite)')
  return `${base}/test/browser/store.html`
}

async function openHarness(page: Page): Promise<void> {
  await page.goto(harnessUrl())
  await page.waitForFunction(() => globalThis.weftStoreSuites !== undefined)
}

/**
 * One harness page per worker, shared by the cases (each case uses fresh databases and deletes
 * them). A failing test restarts the worker, so a broken page never leaks into the next case.
 */
const test = base.extend<object, { harness: Page }>({
  harness: [
    async ({ browser }, use) => {
      const page = await browser.newPage()
      await openHarness(page)
      await use(page)
      await page.close()
    },
    { scope: 'worker' }
  ]
})

for (const [suite, title, names] of suites) {
  test.describe(title, () => {
    for (const name of names) {
      test(name, async ({ harness }) => {
        const result = await harness.evaluate(
          async ([s, n]) => {
            const harness = globalThis.weftStoreSuites
            if (harness === undefined) throw new Error('harness not loaded')
            return harness.run(s, n)
          },
          [suite, name] as const
        )
        if (!result.ok) {
          const err = new Error(`${result.message}\n--- stack in the page ---\n${result.stack}`)
          err.name = result.name
          throw err
        }
      })
    }
  })
}

test('IndexedDB data survives a page reload', async ({ page }) => {
  const name = `weft-reload-${Date.now().toString(36)}`
  await openHarness(page)
  await page.evaluate((n) => globalThis.weftStoreSuites?.writeSample(n), name)
  await page.reload()
  await page.waitForFunction(() => globalThis.weftStoreSuites !== undefined)
  try {
    const sample = await page.evaluate((n) => globalThis.weftStoreSuites?.readSample(n), name)
    expect(sample?.value).toEqual([1, 2, 3, 0, 255])
    expect(sample?.counter).toBe(7)
    expect(sample?.records).toBe(7)
    expect(sample?.head).toMatch(/^bafy/)
    expect(sample?.key).toHaveLength(64)
  } finally {
    await page.evaluate((n) => globalThis.weftStoreSuites?.deleteDatabase(n), name)
  }
})

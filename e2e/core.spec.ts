/**
 * The core crypto path in real Chromium: the harness page (test/browser/core.html) seals the
 * format v1 vector records from their inputs and opens the vector blocks; here the results are
 * compared with test/vectors/format-v1.json byte for byte. This shows that the browser build
 * resolves `#weft/crypto` to the WebCrypto edition (not node:crypto) and that it, and the
 * `@noble/ed25519` fallback, produce the specified bytes.
 */
import { readFileSync } from 'node:fs'
import { expect, test } from '@playwright/test'
import type { CoreReport, CoreVectorInput, HexBlock, VectorRecordBlocks } from '../test/browser/core-harness-types.js'

interface Vectors {
  inputs: CoreVectorInput
  outputs: {
    logKey: { publicKey: string; logID: string; identity: string }
    authorKey: { publicKey: string; identity: string }
    records: Array<VectorRecordBlocks & { sig: string }>
  }
}

const vectors = JSON.parse(readFileSync(new URL('../test/vectors/format-v1.json', import.meta.url), 'utf8')) as Vectors
const { inputs, outputs } = vectors
const blockOf = (b: HexBlock): HexBlock => ({ cid: b.cid, bytes: b.bytes })
const vectorBlocks: VectorRecordBlocks[] = outputs.records.map((r) => ({
  record: blockOf(r.record), event: blockOf(r.event), header: blockOf(r.header), body: blockOf(r.body)
}))

function harnessUrl(): string {
  const base = process.env.WEFT_VITE_URL
  if (base === undefined) throw new Error('WEFT_VITE_URL is not set (the global setup starts Vite)')
  return `${base}/test/browser/core.html`
}

function expectVectors(report: CoreReport): void {
  expect(report.logPublicKey).toBe(outputs.logKey.publicKey)
  expect(report.authorPublicKey).toBe(outputs.authorKey.publicKey)
  expect(report.sealed).toHaveLength(outputs.records.length)
  for (const [i, sealed] of report.sealed.entries()) {
    for (const name of ['body', 'header', 'event', 'record'] as const) {
      expect(sealed[name], `record ${i} ${name} block`).toEqual(blockOf(outputs.records[i]![name]))
    }
  }
  expect(report.opened).toEqual(inputs.records.map((r) => ({
    body: r.body,
    time: r.time,
    author: r.author === 'log' ? outputs.logKey.identity : outputs.authorKey.identity
  })))
}

for (const noble of [false, true]) {
  const title = noble
    ? 'the @noble/ed25519 fallback in the page seals and opens the format v1 vectors byte for byte'
    : 'the page uses WebCrypto (#weft/crypto default) and seals and opens the format v1 vectors byte for byte'
  test(title, async ({ page }) => {
    await page.goto(harnessUrl())
    await page.waitForFunction(() => globalThis.weftCoreHarness !== undefined)
    const report = await page.evaluate(
      async ([input, blocks, logID, useNoble]) => {
        const harness = globalThis.weftCoreHarness
        if (harness === undefined) throw new Error('harness not loaded')
        return await harness.run(input, blocks, logID, useNoble)
      },
      [inputs, vectorBlocks, outputs.logKey.logID, noble] as const
    )
    expect(report.platform).toBe('webcrypto')
    expect(report.backend).toBe(noble ? 'noble' : 'webcrypto')
    expectVectors(report)
  })
}

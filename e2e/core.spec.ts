/**
 * The core crypto path in real Chromium: the harness page (test/browser/core.html) seals the
 * format v1 and v2 vector records from their inputs (v2 with the author's certificate, made in the
 * page) and opens the vector blocks; here the results are compared with test/vectors/format-v1.json
 * and format-v2.json byte for byte. This shows that the browser build resolves `#weft/crypto` to
 * the WebCrypto edition (not node:crypto) and that it, and the `@noble/ed25519` fallback, produce
 * the specified bytes, prove delegated authors, and refuse the v1 record whose author v1 cannot prove.
 */
import { readFileSync } from 'node:fs'
import { expect, test } from '@playwright/test'
import type { CoreReport, CoreVectorInput, HexBlock, OpenedVector, VectorRecordBlocks } from '../test/browser/core-harness-types.js'

interface Vectors {
  inputs: CoreVectorInput
  outputs: {
    logKey: { publicKey: string; logID: string; identity: string }
    authorKey: { publicKey: string; identity: string }
    records: Array<VectorRecordBlocks & { sig: string }>
  }
}

const load = (version: 1 | 2): Vectors =>
  JSON.parse(readFileSync(new URL(`../test/vectors/format-v${version}.json`, import.meta.url), 'utf8')) as Vectors
const blockOf = (b: HexBlock): HexBlock => ({ cid: b.cid, bytes: b.bytes })

function harnessUrl(): string {
  const base = process.env.WEFT_VITE_URL
  if (base === undefined) throw new Error('WEFT_VITE_URL is not set (the global setup starts Vite)')
  return `${base}/test/browser/core.html`
}

/** What opening the vectors must give: v2 records open with their authors; v1 only when self-authored. */
function expectedOpened(version: 1 | 2, { inputs, outputs }: Vectors): OpenedVector[] {
  return inputs.records.map((r) => version === 1 && r.author === 'author'
    ? { error: 'UnprovenAuthorError' }
    : { body: r.body, time: r.time, author: r.author === 'log' ? outputs.logKey.identity : outputs.authorKey.identity, version })
}

function expectVectors(version: 1 | 2, vectors: Vectors, report: CoreReport): void {
  const { outputs } = vectors
  expect(report.logPublicKey).toBe(outputs.logKey.publicKey)
  expect(report.authorPublicKey).toBe(outputs.authorKey.publicKey)
  expect(report.sealed).toHaveLength(outputs.records.length)
  for (const [i, sealed] of report.sealed.entries()) {
    for (const name of ['body', 'header', 'event', 'record'] as const) {
      expect(sealed[name], `v${version} record ${i} ${name} block`).toEqual(blockOf(outputs.records[i]![name]))
    }
  }
  expect(report.opened).toEqual(expectedOpened(version, vectors))
}

for (const version of [1, 2] as const) {
  for (const noble of [false, true]) {
    const title = noble
      ? `the @noble/ed25519 fallback in the page seals and opens the format v${version} vectors byte for byte`
      : `the page uses WebCrypto (#weft/crypto default) and seals and opens the format v${version} vectors byte for byte`
    test(title, async ({ page }) => {
      const vectors = load(version)
      const blocks: VectorRecordBlocks[] = vectors.outputs.records.map((r) => ({
        record: blockOf(r.record), event: blockOf(r.event), header: blockOf(r.header), body: blockOf(r.body)
      }))
      await page.goto(harnessUrl())
      await page.waitForFunction(() => globalThis.weftCoreHarness !== undefined)
      const report = await page.evaluate(
        async ([v, input, vectorBlocks, logID, useNoble]) => {
          const harness = globalThis.weftCoreHarness
          if (harness === undefined) throw new Error('harness not loaded')
          return await harness.run(v, input, vectorBlocks, logID, useNoble)
        },
        [version, vectors.inputs, blocks, vectors.outputs.logKey.logID, noble] as const
      )
      expect(report.platform).toBe('webcrypto')
      expect(report.backend).toBe(noble ? 'noble' : 'webcrypto')
      expectVectors(version, vectors, report)
    })
  }
}

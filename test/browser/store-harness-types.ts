/** What the store harness page exposes to Playwright (`globalThis.weftStoreSuites`). */
export type SuiteName = 'kv' | 'logstore'

export type CaseResult = { ok: true } | { ok: false; name: string; message: string; stack: string }

export interface SampleSummary {
  value: number[]
  head: string
  counter: number
  records: number
  key: number[]
}

export interface WeftStoreSuites {
  /** The case names of a suite (as the Node side computes them). */
  names(suite: SuiteName): string[]
  /** Run one case against IndexedDB, each database freshly named and deleted afterwards. */
  run(suite: SuiteName, caseName: string): Promise<CaseResult>
  /** Write a KV value and a small log into the database `name` (kept for `readSample`). */
  writeSample(name: string): Promise<void>
  /** Read back what `writeSample` wrote (in a new page, e.g. after a reload). */
  readSample(name: string): Promise<SampleSummary>
  /** Delete the database `name`. */
  deleteDatabase(name: string): Promise<void>
}

declare global {
  var weftStoreSuites: WeftStoreSuites | undefined
}

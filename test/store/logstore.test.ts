import { afterAll, describe, expect, it } from 'vitest'
import { LOGS_LIMIT_CASE, logStoreSuite } from '../suites/logstore-suite.js'
import { levelBackend, memoryBackend } from './backends.js'

for (const backend of [memoryBackend(), levelBackend()]) {
  describe(`log store: ${backend.name}`, () => {
    afterAll(backend.cleanup)
    const options = backend.reopen === undefined ? {} : { reopen: backend.reopen }
    for (const c of logStoreSuite(backend.make, options)) it(c.name, c.run, 30_000)
  })
}

describe('the log store suite', () => {
  it('runs the logs-per-thread limit on every backend', () => {
    // docs/SECURITY.md names it as 'addLog past the logs-per-thread limit rejects with LimitExceededError'.
    expect(LOGS_LIMIT_CASE).toBe('addLog past the logs-per-thread limit rejects with LimitExceededError')
    expect(logStoreSuite(async () => { throw new Error('not run') }).map((c) => c.name)).toContain(LOGS_LIMIT_CASE)
  })
})

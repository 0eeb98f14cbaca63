import { afterAll, describe, it } from 'vitest'
import { logStoreSuite } from '../suites/logstore-suite.js'
import { levelBackend, memoryBackend } from './backends.js'

for (const backend of [memoryBackend(), levelBackend()]) {
  describe(`log store: ${backend.name}`, () => {
    afterAll(backend.cleanup)
    const options = backend.reopen === undefined ? {} : { reopen: backend.reopen }
    for (const c of logStoreSuite(backend.make, options)) it(c.name, c.run, 30_000)
  })
}

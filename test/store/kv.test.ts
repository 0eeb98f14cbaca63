import { afterAll, describe, it } from 'vitest'
import { kvSuite } from '../suites/kv-suite.js'
import { levelBackend, memoryBackend } from './backends.js'

for (const backend of [memoryBackend(), levelBackend()]) {
  describe(`KV store: ${backend.name}`, () => {
    afterAll(backend.cleanup)
    const options = backend.reopen === undefined ? {} : { reopen: backend.reopen }
    for (const c of kvSuite(backend.make, options)) it(c.name, c.run)
  })
}

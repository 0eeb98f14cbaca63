import { afterAll, beforeAll, describe, it } from 'vitest'
import { createSandbox, type Sandbox } from '../../src/db/index.js'
import { levelBackend, memoryBackend } from '../store/backends.js'
import { dbSuite } from './db-suite.js'

let sandbox: Sandbox
beforeAll(async () => { sandbox = await createSandbox() })
afterAll(() => { sandbox.dispose() })

for (const backend of [memoryBackend(), levelBackend()]) {
  describe(`DB storage: ${backend.name}`, () => {
    afterAll(backend.cleanup)
    const cases = dbSuite({ make: backend.make, ...(backend.reopen !== undefined ? { reopen: backend.reopen } : {}), sandbox: () => sandbox })
    for (const c of cases) it(c.name, c.run)
  })
}

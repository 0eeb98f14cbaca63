import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// The packaging tests (`npm test` runs them as their own step, after the other Node tests):
// build and pack the packages once (setup.ts), then install them into outside projects.
// One file at a time: each runs npm, bundlers and Chromium, on a small machine.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/packaging/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/packaging/setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: process.env.WEFT_VITEST_JSON != null
      ? ['default', ['json', { outputFile: process.env.WEFT_VITEST_JSON }]]
      : ['default']
  }
})

import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['./src/platform/node-polyfills.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: process.env.WEFT_VITEST_JSON != null
      ? ['default', ['json', { outputFile: process.env.WEFT_VITEST_JSON }]]
      : ['default']
  }
})

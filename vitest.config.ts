import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Their own step of `npm test` (test/packaging/vitest.config.ts): they build and install the packages.
    exclude: [...configDefaults.exclude, 'test/packaging/**'],
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

import { defineConfig } from 'vite'

// One Vite config for the dev server used by the browser tests and (later) the app build.
export default defineConfig({
  root: '.',
  publicDir: 'public',
  clearScreen: false,
  server: { host: '127.0.0.1' },
  worker: { format: 'es' },
  build: { target: 'es2022', outDir: 'dist' },
  optimizeDeps: { exclude: ['classic-level'] }
})

import { defineConfig } from 'vite'
import { appShell } from './scripts/vite-app-shell.js'

// One Vite config for the dev server used by the browser tests and the demo app's build
// (`vite build`: index.html + src/app → dist/; appShell() lists the build in dist/sw.js).
export default defineConfig({
  root: '.',
  publicDir: 'public',
  clearScreen: false,
  server: { host: '127.0.0.1' },
  worker: { format: 'es' },
  plugins: [appShell()],
  build: { target: 'es2022', outDir: 'dist', rolldownOptions: { input: 'index.html' } },
  optimizeDeps: { exclude: ['classic-level'] }
})

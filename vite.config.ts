import { defineConfig } from 'vite'
import { appShell } from './scripts/vite-app-shell.js'

// One Vite config for the dev server used by the browser tests and the demo app's build
// (`vite build`: index.html + src/app → dist/; appShell() lists the build in dist/sw.js).
// keepNames: Weft's errors are named after their classes (`err.name`, which callers branch on),
// so a production build must not rename or minify class names, in the page nor in the workers.
export default defineConfig({
  root: '.',
  publicDir: 'public',
  clearScreen: false,
  server: { host: '127.0.0.1' },
  worker: { format: 'es', rolldownOptions: { output: { keepNames: true } } },
  plugins: [appShell()],
  build: { target: 'es2022', outDir: 'dist', rolldownOptions: { input: 'index.html', output: { keepNames: true } } },
  optimizeDeps: { exclude: ['classic-level'] }
})

// The worker as the weftdb package ships it: worker/shared-worker.ts and
// worker/dedicated-worker.ts bundled with every dependency (ES modules, no bare imports left,
// nothing CommonJS for an app's dev server to pre-bundle), sharing chunks under chunks/, with
// QuickJS's wasm as a file under assets/ that the code reaches with
// `new URL('../assets/…wasm', import.meta.url)` — the form Vite, webpack and Rollup all follow
// and copy into an app's build. Not minified: an app's bundler minifies it with the rest.
//
// Built with Vite in library mode (no module-preload helper, which needs a `document`), with
// one change: library mode inlines every asset as a data: URL, which a Content-Security-Policy
// without `data:` in connect-src would refuse; wasm files are kept as files instead.
import { build } from 'vite'
import { ROOT } from './packages.mjs'

const WASM_URL = /new URL\((['"])([^'"?]+\.wasm)\1,\s*import\.meta\.url\)/g

/** Keeps `new URL('x.wasm', import.meta.url)` assets as files (`?no-inline`) in library mode. */
export function wasmAsFile() {
  let seen = 0
  return {
    name: 'weft:wasm-as-file',
    enforce: 'pre',
    transform(code) {
      if (!code.includes('.wasm')) return null
      const out = code.replace(WASM_URL, (_m, q, file) => { seen++; return `new URL(${q}${file}?no-inline${q}, import.meta.url)` })
      return out === code ? null : { code: out, map: null }
    },
    buildEnd() {
      if (seen === 0) this.error('no `new URL(…wasm, import.meta.url)` found: how does QuickJS load its wasm now?')
    }
  }
}

/**
 * @param {{ outDir: string, entries: Record<string, string> }} options `entries`: output file
 *   (relative to the package's dist/, e.g. 'worker/shared-worker.js') → source entry.
 */
export async function buildWorker({ outDir, entries }) {
  const input = Object.fromEntries(Object.entries(entries).map(([out, src]) => [out.replace(/^worker\//, '').replace(/\.js$/, ''), src]))
  await build({
    configFile: false,
    root: ROOT,
    base: './',
    publicDir: false,
    logLevel: 'warn',
    plugins: [wasmAsFile()],
    define: { 'process.env.NODE_ENV': '"production"' },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      sourcemap: false,
      reportCompressedSize: false,
      lib: { entry: input, formats: ['es'] },
      rolldownOptions: {
        checks: { pluginTimings: false },
        output: {
          entryFileNames: '[name].js',
          chunkFileNames: 'chunks/[name]-[hash].js',
          assetFileNames: 'assets/[name]-[hash][extname]'
        }
      }
    }
  })
}

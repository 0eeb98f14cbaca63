/**
 * A web app installs the packed weftdb from its tarball, as from the registry:
 * - a Vite app made of create-vite's vanilla-ts template files (its tsconfig, made stricter
 *   still), type-checked by its own `tsc` (the template's TypeScript 7) against our declarations,
 *   then built with `vite build` and run under `vite dev`, each opened in Chromium;
 * - a webpack 5 app with the same code, built and opened in Chromium;
 * - the worker files served by the app itself (`workerUrl`), not through a bundler.
 * In each: connect, create, find, a schema error and a validator rejection caught by name (the
 * validator runs QuickJS, so its wasm must load in the worker). The builds are the bundlers'
 * defaults (no vite.config, webpack's production mode): minified, class names renamed, and the
 * errors' names still literal.
 */
import { cp, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser } from '@playwright/test'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP_TS, appJS } from './app-source.js'
import {
  installedPackages, launchChromium, newProject, npmInstall, openApp, packaging, repoVersion, run, serveStatic, start,
  type AppResult
} from './outside.js'

/** The TypeScript that create-vite's vanilla-ts template installs. */
const TEMPLATE_TYPESCRIPT = '7.0.2'
const WEBPACK = '5.112.2'
/** What a web app must never install (Node-only) or get separately (bundled into the worker). */
const NOT_FOR_THE_WEB = ['weftdb-node', 'classic-level', '@libp2p/tcp', 'ws', 'prom-client', 'node-datachannel', '@libp2p/webrtc', 'libp2p']

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
})

function expectWorking(result: AppResult, mode = 'shared-worker'): void {
  expect(result.peerId).toMatch(/^12D3KooW/)
  expect(result.mode).toBe(mode)
  expect(result.found).toEqual([{ _id: result.id, title: 'Try Weft', done: false }])
  expect(result.caught).toBe('SchemaValidationError')
  expect(result.rejected).toBe('ValidatorRejectedError')
  expect(result.identity).toMatch(/^b/)
}

describe('a Vite app (create-vite vanilla-ts) that installs weftdb', () => {
  let app: string

  beforeAll(async () => {
    app = await newProject('vite-app', {
      'package.json': JSON.stringify({
        name: 'vite-typescript-starter',
        private: true,
        version: '0.0.0',
        type: 'module',
        scripts: { dev: 'vite', build: 'tsc && vite build', preview: 'vite preview' }
      }, null, 2),
      // create-vite's vanilla-ts tsconfig, plus `strict` and `noUncheckedSideEffectImports`.
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          target: 'es2023',
          module: 'esnext',
          lib: ['ES2023', 'DOM'],
          types: ['vite/client'],
          allowArbitraryExtensions: true,
          skipLibCheck: true,
          moduleResolution: 'bundler',
          allowImportingTsExtensions: true,
          verbatimModuleSyntax: true,
          moduleDetection: 'force',
          noEmit: true,
          strict: true,
          noUnusedLocals: true,
          noUnusedParameters: true,
          erasableSyntaxOnly: true,
          noFallthroughCasesInSwitch: true,
          noUncheckedSideEffectImports: true
        },
        include: ['src']
      }, null, 2),
      'index.html': `<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>Vite + TS</title>
  </head>
  <body>
    <div id="app"></div>
    <script type="module" src="/src/main.ts"></script>
  </body>
</html>
`,
      'src/main.ts': APP_TS
    })
    await npmInstall(app, [packaging().weftdb], [`vite@${repoVersion('vite')}`, `typescript@${TEMPLATE_TYPESCRIPT}`])
  })

  it('installs nothing Node-only: the worker comes bundled', async () => {
    const installed = await installedPackages(app)
    expect(installed).toContain('weftdb')
    for (const name of NOT_FOR_THE_WEB) expect(installed, `${name} reached a web app`).not.toContain(name)
  })

  it("type-checks with the template's own tsc, and with our declarations checked too", async () => {
    await run(join(app, 'node_modules/.bin/tsc'), [], { cwd: app })
    await run(join(app, 'node_modules/.bin/tsc'), ['--skipLibCheck', 'false'], { cwd: app })
  })

  it('builds with vite build and works in Chromium, in a SharedWorker and in a dedicated Worker', async () => {
    await run(join(app, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], { cwd: app })
    const served = await serveStatic(join(app, 'dist'))
    try {
      expectWorking((await openApp(browser, `${served.url}?name=built`)).result)
      expectWorking((await openApp(browser, `${served.url}?name=built-dedicated&shared=no`)).result, 'dedicated-owner')
    } finally {
      await served.close()
    }
  })

  it('starts the worker file the app serves itself (workerUrl)', async () => {
    // After the build above: the app copies the published worker folder next to its pages.
    await cp(join(app, 'node_modules/weftdb/dist/worker'), join(app, 'dist/weft-worker'), { recursive: true })
    const served = await serveStatic(join(app, 'dist'))
    try {
      const { result } = await openApp(browser, `${served.url}?name=hosted&worker=/weft-worker/shared-worker.js`)
      expectWorking(result)
      expect(served.requests).toContain('/weft-worker/shared-worker.js')
      expect(served.requests.some((r) => /^\/weft-worker\/assets\/emscripten-module-[\w-]+\.wasm$/.test(r)), served.requests.join(' ')).toBe(true)
    } finally {
      await served.close()
    }
  })

  it("works under vite dev, with the worker's debug lines in the tab's console", async () => {
    const dev = await start(join(app, 'node_modules/.bin/vite'), ['--host', '127.0.0.1', '--port', '0'], { cwd: app, ready: /Local:\s+http:\/\/127\.0\.0\.1:\d+/ })
    try {
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(dev.line)![0]
      const { result, console: lines } = await openApp(browser, `${url}?name=dev`, { debug: 'weft:worker:*' })
      expectWorking(result)
      // localStorage.debug, read by the tab and sent to the worker, whose lines come back.
      expect(lines.some((l) => /weft:worker:peer peer 12D3KooW\w+ started/.test(l)), lines.join('\n')).toBe(true)
      expect(lines.some((l) => / weft:store:/.test(l)), 'only the namespaces asked for').toBe(false)
    } finally {
      await dev.stop()
    }
  })
})

describe('a webpack 5 app that installs weftdb', () => {
  it('builds (production) and works in Chromium, in a SharedWorker and in a dedicated Worker', async () => {
    const app = await newProject('webpack-app', {
      'package.json': JSON.stringify({ name: 'webpack-app', private: true, type: 'module' }, null, 2),
      'src/index.js': appJS(),
      'webpack.config.js': `export default {
  mode: 'production',
  entry: './src/index.js',
  output: { path: new URL('./dist', import.meta.url).pathname, clean: true }
}
`,
      'build.js': `import webpack from 'webpack'
import config from './webpack.config.js'
webpack(config, (err, stats) => {
  if (err != null) throw err
  if (stats.hasErrors()) { console.error(stats.toString('errors-only')); process.exit(1) }
})
`
    })
    await npmInstall(app, [packaging().weftdb], [`webpack@${WEBPACK}`])
    await run(process.execPath, ['build.js'], { cwd: app })
    const html = '<!doctype html><html><head><meta charset="utf-8"><title>webpack app</title></head><body><pre id="app"></pre><script src="main.js"></script></body></html>\n'
    await writeFile(join(app, 'dist/index.html'), html)
    const served = await serveStatic(join(app, 'dist'))
    try {
      expectWorking((await openApp(browser, `${served.url}?name=webpack`)).result)
      expectWorking((await openApp(browser, `${served.url}?name=webpack-dedicated&shared=no`)).result, 'dedicated-owner')
    } finally {
      await served.close()
    }
  })
})

// What each published package is made of. The build (scripts/build.mjs) compiles the sources
// listed here, places each file under the package's dist/ (src/core/x.ts → dist/core/x.js,
// relay/main.ts → dist/relay/main.js), bundles the `bundles` entries, and writes one executable
// per `bins` entry. A package's public entry points are its package.json `exports`; their
// sources follow from the same mapping (./dist/core/index.js ← src/core/index.ts).
//
// - weftdb: what a web app installs, and the isomorphic layers — the client SDK, the worker
//   (bundled with its dependencies), core, store (memory, IndexedDB), net, db, and the tab⇄worker
//   contract the client and the worker share. No Node-only
//   dependency.
// - weftdb-node: what only Node needs — createPeer, LevelDB, the Node 20 polyfills, the relay CLI
//   and the hub CLI. It takes weftdb as a peer dependency of the exact same
//   version and reaches the modules it needs from it through weftdb's `./internal/*` exports.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

/**
 * @typedef {object} PackageSpec
 * @property {string} name          npm name (also in its package.json)
 * @property {string} dir           folder of the package, relative to the repository
 * @property {'web' | 'node'} platform  'web': nothing Node-only may reach it (dependencies,
 *   imports, declarations) except through the `node` export condition
 * @property {string[]} sources     source files and folders (ending in /) compiled into dist/
 * @property {string[]} [exclude]   sources under `sources` that belong elsewhere
 * @property {Record<string, string>} [bundles]  bundled entries: output file under dist/ → source
 * @property {Record<string, string>} [bins]     executables: bin name → source module it runs
 */

/** @type {PackageSpec[]} */
export const PACKAGES = [
  {
    name: 'weftdb',
    dir: 'packages/weftdb',
    platform: 'web',
    sources: [
      'src/core/', 'src/store/', 'src/net/', 'src/db/', 'src/contract/', 'src/client/',
      'src/platform/rtc-host.browser.ts', 'src/platform/rtc-protocol.browser.ts'
    ],
    exclude: ['src/store/level.ts'],
    // The worker: built with its dependencies (see scripts/build-worker.mjs). The SDK starts
    // dist/worker/shared-worker.js with `new SharedWorker(new URL(…, import.meta.url))`.
    bundles: {
      'worker/shared-worker.js': 'worker/shared-worker.ts',
      'worker/dedicated-worker.js': 'worker/dedicated-worker.ts'
    }
  },
  {
    name: 'weftdb-node',
    dir: 'packages/weftdb-node',
    platform: 'node',
    sources: ['src/node/', 'src/store/level.ts', 'src/platform/node-polyfills.ts', 'relay/', 'hub/'],
    bins: {
      'weft-relay': 'relay/main.ts',
      'weft-hub': 'hub/main.ts'
    }
  }
]

/** The package.json of a package. */
export function manifest(spec) {
  return JSON.parse(readFileSync(`${ROOT}${spec.dir}/package.json`, 'utf8'))
}

/** Whether the source file `file` (repository-relative, .ts) is one of `spec`'s compiled sources. */
export function owns(spec, file) {
  if ((spec.exclude ?? []).includes(file)) return false
  return spec.sources.some((s) => s.endsWith('/') ? file.startsWith(s) : file === s)
}

/** Where a compiled source lands under dist/, without extension: src/core/x.ts → core/x. */
export function distPath(file) {
  const noExt = file.replace(/\.ts$/, '')
  return noExt.startsWith('src/') ? noExt.slice(4) : noExt
}

/** The source of a dist path (without extension), the inverse of {@link distPath}. */
export function sourceOf(spec, path) {
  for (const [out, src] of Object.entries(spec.bundles ?? {})) if (out.replace(/\.js$/, '') === path) return src
  const top = path.split('/')[0]
  return ['relay', 'hub'].includes(top) ? `${path}.ts` : `src/${path}.ts`
}

/**
 * The public entry points of a package, from its package.json `exports`: subpath → source file
 * (e.g. './core' → 'src/core/index.ts'). Wildcard subpaths (./internal/*) are left out.
 */
export function entries(spec) {
  const out = {}
  for (const [subpath, target] of Object.entries(manifest(spec).exports ?? {})) {
    if (subpath.includes('*') || subpath === './package.json') continue
    const file = typeof target === 'string' ? target : target.default ?? target.import
    if (typeof file !== 'string' || !file.startsWith('./dist/')) continue
    out[subpath] = sourceOf(spec, file.slice('./dist/'.length).replace(/\.js$/, ''))
  }
  return out
}

/** The package that owns a source file (compiled or bundled), if any. */
export function ownerOf(file) {
  return PACKAGES.find((p) => owns(p, file) || Object.values(p.bundles ?? {}).includes(file))
}

// `npm run build`: builds the published packages (scripts/packages.mjs) into packages/*/dist:
//   1. tsc (tsconfig.build.json) compiles the library sources to ESM JavaScript and .d.ts under
//      .build/tsc/;
//   2. each package takes its sources from there, placed under its dist/ (src/core/x → core/x),
//      with every relative import rewritten to where its target now is: the same package
//      (a relative path), or weftdb (`weftdb/<entry>` for a public entry, else
//      `weftdb/internal/<path>`);
//   3. the worker is bundled with its dependencies into weftdb's dist/worker/
//      (scripts/build-worker.mjs);
//   4. each `bins` entry gets an executable dist/bin/<name>.js that plain `node` runs;
//   5. scripts/build-check.mjs checks the result (imports against dependencies, exports, types).
// Options: --skip-worker (the JS packages only, for quick iterations).
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, posix, relative } from 'node:path'
import ts from 'typescript'
import { checkPackages, walk } from './build-check.mjs'
import { buildWorker } from './build-worker.mjs'
import { distPath, entries, manifest, owns, ownerOf, PACKAGES, ROOT } from './packages.mjs'

const TSC_OUT = join(ROOT, '.build', 'tsc')

class BuildError extends Error {}

function compile() {
  rmSync(join(ROOT, '.build'), { recursive: true, force: true })
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc')
  const r = spawnSync(tsc, ['-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' })
  if (r.status !== 0) throw new BuildError('tsc failed (tsconfig.build.json)')
}

/** Where `spec` is reached from a file of `from`: a relative path or a `weftdb…` specifier. */
function relocate(from, sourceFile, spec) {
  const pkg = PACKAGES.find((p) => p.name === from)
  // Imports name the compiled .js; `new URL()` of a worker names its .ts source.
  const source = spec.endsWith('.ts') ? spec : spec.replace(/\.js$/, '.ts')
  const target = posix.normalize(posix.join(posix.dirname(sourceFile), source))
  const owner = ownerOf(target)
  if (owner == null) {
    throw new BuildError(`${sourceFile} imports ${spec} (${target}), which no package is built from: add it to a package's sources in scripts/packages.mjs`)
  }
  const bundled = Object.entries(owner.bundles ?? {}).find(([, src]) => src === target)?.[0]
  const targetDist = bundled != null ? bundled.replace(/\.js$/, '') : distPath(target)
  if (owner === pkg) {
    const rel = posix.relative(posix.dirname(distPath(sourceFile)), targetDist)
    return `${rel.startsWith('.') ? rel : `./${rel}`}.js`
  }
  const peers = manifest(pkg).peerDependencies ?? {}
  if (peers[owner.name] == null) throw new BuildError(`${sourceFile} (in ${pkg.name}) imports ${target} (in ${owner.name}), which ${pkg.name} does not depend on`)
  const entry = Object.entries(entries(owner)).find(([, src]) => src === target)?.[0]
  return entry != null ? `${owner.name}${entry.slice(1)}` : `${owner.name}/internal/${targetDist}`
}

/** Rewrites the relative module specifiers of one emitted file (JS or .d.ts). */
function rewrite(pkgName, sourceFile, text, isJS) {
  const edits = []
  for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
    if (!ref.fileName.startsWith('.')) continue
    const at = ['\'', '"'].map((q) => text.indexOf(`${q}${ref.fileName}${q}`, Math.max(0, ref.pos - 1))).filter((i) => i >= 0)
    if (at.length === 0) throw new BuildError(`cannot find the import ${ref.fileName} in ${sourceFile}`)
    edits.push({ start: Math.min(...at) + 1, end: Math.min(...at) + 1 + ref.fileName.length, to: relocate(pkgName, sourceFile, ref.fileName) })
  }
  if (isJS) {
    // Workers and assets the SDK starts by URL: `new URL('<relative>', import.meta.url)`.
    for (const m of text.matchAll(/new URL\((['"])(\.{1,2}\/[^'"]+)\1,\s*import\.meta\.url\)/g)) {
      const start = m.index + 'new URL('.length + 1
      edits.push({ start, end: start + m[2].length, to: relocate(pkgName, sourceFile, m[2]) })
    }
  }
  edits.sort((a, b) => b.start - a.start)
  let out = text
  for (const e of edits) out = out.slice(0, e.start) + e.to + out.slice(e.end)
  return out
}

function assemble(spec) {
  const dist = join(ROOT, spec.dir, 'dist')
  rmSync(dist, { recursive: true, force: true })
  let count = 0
  for (const file of walk(TSC_OUT)) {
    const emitted = relative(TSC_OUT, file).split('\\').join('/')
    const isDts = emitted.endsWith('.d.ts')
    const source = emitted.replace(/\.d\.ts$|\.js$/, '.ts')
    if (!owns(spec, source)) continue
    const out = join(dist, `${distPath(source)}${isDts ? '.d.ts' : '.js'}`)
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, rewrite(spec.name, source, readFileSync(file, 'utf8'), !isDts))
    count++
  }
  for (const [name, source] of Object.entries(spec.bins ?? {})) {
    const out = join(dist, 'bin', `${name}.js`)
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, `#!/usr/bin/env node\n// ${name}: runs ${source}\nimport '../${distPath(source)}.js'\n`)
    chmodSync(out, 0o755)
  }
  return count
}

export async function buildPackages({ worker = true, log = console.log } = {}) {
  const t0 = Date.now()
  compile()
  for (const spec of PACKAGES) log(`[build] ${spec.name}: ${assemble(spec)} files`)
  if (worker) {
    const weftdb = PACKAGES.find((p) => p.bundles != null)
    await buildWorker({ outDir: join(ROOT, weftdb.dir, 'dist', 'worker'), entries: weftdb.bundles })
    log(`[build] ${weftdb.name}: worker bundled`)
  }
  const problems = checkPackages({ worker })
  if (problems.length > 0) throw new BuildError(`the packages are not right:\n  ${problems.join('\n  ')}`)
  log(`[build] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildPackages({ worker: !process.argv.includes('--skip-worker') }).catch((err) => {
    console.error(err instanceof BuildError ? `[build] ${err.message}` : err)
    process.exit(1)
  })
}

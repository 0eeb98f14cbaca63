// Checks the built packages (packages/*/dist) against their package.json, so that what npm
// would publish installs and resolves for someone else:
// - every import in dist/ (JavaScript and .d.ts) resolves: a relative file that exists, an
//   `imports` entry ("#weft/crypto"), a declared dependency or peer dependency (through an
//   `exports` entry of it when it is one of ours), or a Node builtin — and a Node builtin only in
//   the Node package or in a file that only the `node` condition reaches;
// - every declared dependency is imported somewhere (nothing installed for nothing), with the same
//   range as the repository's package.json;
// - the worker bundle imports nothing but its own chunks;
// - weftdb's declarations never need Node's types (a web app has no @types/node);
// - every exports / imports / bin target exists; the versions agree.
// Returns a list of problems (empty when all is well).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative } from 'node:path'
import ts from 'typescript'
import { manifest, PACKAGES, ROOT } from './packages.mjs'

const BUILTINS = new Set(builtinModules)

/** Every file under `dir` (none when it does not exist). */
export function walk(dir) {
  if (!existsSync(dir)) return []
  const out = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...walk(path))
    else out.push(path)
  }
  return out
}

function packageName(spec) {
  const parts = spec.split('/')
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
}

/** Every string target of an exports/imports value, with the conditions that lead to it. */
function targets(value, conditions = []) {
  if (typeof value === 'string') return [{ file: value, conditions }]
  if (value == null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([k, v]) => targets(v, [...conditions, k]))
}

/** Does `subpath` ('./x/y') of package `pkg` resolve to a file through its exports? */
function resolvesThroughExports(pkg, subpath, dts) {
  const exports = manifest(pkg).exports ?? {}
  const condition = dts ? 'types' : 'default'
  for (const [key, value] of Object.entries(exports)) {
    let star
    if (key === subpath) star = ''
    else if (key.endsWith('*') && subpath.startsWith(key.slice(0, -1))) star = subpath.slice(key.length - 1)
    else continue
    const target = typeof value === 'string' ? value : value[condition] ?? value.default
    if (typeof target !== 'string') return false
    return existsSync(join(ROOT, pkg.dir, target.replace('*', star)))
  }
  return false
}

export function checkPackages({ worker = true } = {}) {
  const problems = []
  const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const rootRanges = { ...rootManifest.dependencies, ...rootManifest.devDependencies }
  const versions = new Set(PACKAGES.map((p) => manifest(p).version))
  if (versions.size !== 1) problems.push(`the packages' versions differ: ${[...versions].join(', ')}`)

  for (const pkg of PACKAGES) {
    const m = manifest(pkg)
    const dir = join(ROOT, pkg.dir)
    const say = (msg) => problems.push(`${pkg.name}: ${msg}`)
    const deps = m.dependencies ?? {}
    const peers = m.peerDependencies ?? {}
    const used = new Set()
    const nodeOnly = new Set(targets(m.imports ?? {}).concat(targets(m.exports ?? {}))
      .filter((t) => t.conditions.includes('node')).map((t) => join(dir, t.file)))
    const isWeb = pkg.platform === 'web'

    if (m.private === true) say('is private: it would not publish')
    for (const field of ['license', 'engines', 'files', 'exports', 'sideEffects', 'type']) if (m[field] == null) say(`package.json has no "${field}"`)
    for (const [name, range] of Object.entries(deps)) {
      if (rootRanges[name] !== range) say(`depends on ${name}@${range}, the repository on ${rootRanges[name] ?? 'nothing'}`)
    }
    for (const [name, range] of Object.entries(peers)) {
      const peer = PACKAGES.find((p) => p.name === name)
      if (peer != null && range !== manifest(peer).version) say(`takes ${name}@${range} but builds against ${manifest(peer).version} (internal imports need the exact version)`)
    }
    for (const t of [...targets(m.exports ?? {}), ...targets(m.imports ?? {}), ...Object.values(m.bin ?? {}).map((file) => ({ file }))]) {
      if (t.file.includes('*')) continue
      if (!existsSync(join(dir, t.file))) say(`${t.file} is in package.json but not built`)
    }
    for (const file of Object.values(m.bin ?? {})) {
      const path = join(dir, file)
      if (!existsSync(path)) continue
      if (!readFileSync(path, 'utf8').startsWith('#!/usr/bin/env node\n')) say(`${file} has no #!/usr/bin/env node line`)
      if ((statSync(path).mode & 0o111) === 0) say(`${file} is not executable`)
    }

    for (const file of walk(join(dir, 'dist'))) {
      const rel = relative(dir, file).split('\\').join('/')
      const dts = rel.endsWith('.d.ts')
      if (!dts && !rel.endsWith('.js')) continue
      const text = readFileSync(file, 'utf8')
      const inWorker = pkg.bundles != null && rel.startsWith('dist/worker/')
      const info = ts.preProcessFile(text, true, true)
      if (dts && isWeb) {
        for (const ref of info.typeReferenceDirectives) if (ref.fileName === 'node') say(`${rel} references Node's types`)
      }
      for (const { fileName: spec } of info.importedFiles) {
        if (spec.startsWith('.')) {
          const target = join(dirname(file), dts ? spec.replace(/\.js$/, '.d.ts') : spec)
          if (!existsSync(target)) say(`${rel} imports ${spec}, which is not in the package`)
          else if (inWorker && !target.startsWith(join(dir, 'dist', 'worker'))) say(`${rel} (worker) imports ${spec} outside the bundle`)
          continue
        }
        if (inWorker) { say(`${rel} (worker) imports ${spec}: the worker must be bundled`); continue }
        if (spec.startsWith('#')) {
          if ((m.imports ?? {})[spec] == null) say(`${rel} imports ${spec}, which package.json "imports" lacks`)
          continue
        }
        if (spec.startsWith('node:') || BUILTINS.has(packageName(spec))) {
          if (isWeb && (dts || !nodeOnly.has(file))) say(`${rel} imports ${spec}: Node-only, in the web package`)
          continue
        }
        const name = packageName(spec)
        used.add(name)
        if (deps[name] == null && peers[name] == null) say(`${rel} imports ${spec}, but ${name} is not a dependency`)
        const ours = PACKAGES.find((p) => p.name === name)
        if (ours != null && !resolvesThroughExports(ours, `.${spec.slice(name.length)}`, dts)) say(`${rel} imports ${spec}, which ${name}'s exports do not resolve`)
      }
    }
    for (const name of [...Object.keys(deps), ...Object.keys(peers)]) {
      if (!used.has(name)) say(`depends on ${name}, which nothing in dist/ imports`)
    }
    if (worker && pkg.bundles != null) {
      for (const out of Object.keys(pkg.bundles)) if (!existsSync(join(dir, 'dist', out))) say(`dist/${out} was not bundled`)
    }
  }
  return problems
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkPackages()
  for (const p of problems) console.error(`[check] ${p}`)
  process.exit(problems.length === 0 ? 0 : 1)
}

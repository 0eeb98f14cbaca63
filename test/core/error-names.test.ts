/**
 * Error names are part of the API (callers branch on `err.name`, and names cross the worker's
 * port), so every error class sets its `name` literally: a minifier that renames classes (every
 * production build without `keepNames`) must not change them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Every module that defines error classes. */
const MODULES = [
  'src/core/errors.ts', 'src/core/channel.ts', 'src/store/errors.ts', 'src/net/errors.ts', 'src/net/limiter.ts',
  'src/net/admission.ts', 'src/db/errors.ts', 'src/contract/errors.ts', 'src/client/errors.ts', 'hub/errors.ts', 'relay/errors.ts'
]

type ErrorClass = new (...args: unknown[]) => Error

/** The exported error classes of a module, by export name. */
function errorClasses(mod: Record<string, unknown>): Array<[string, ErrorClass]> {
  return Object.entries(mod).filter((e): e is [string, ErrorClass] =>
    typeof e[1] === 'function' && e[1].prototype instanceof Error)
}

/** A class defined in the module itself (not re-exported from a module below). */
function definedIn(source: string, name: string): boolean {
  return new RegExp(`^export class ${name} `, 'm').test(source)
}

describe('error names', () => {
  it('every exported error class reports its class name as name', async () => {
    let seen = 0
    for (const file of MODULES) {
      const mod = await import(pathToFileURL(join(ROOT, file)).href) as Record<string, unknown>
      for (const [name, Ctor] of errorClasses(mod)) {
        expect(new Ctor().name, `${file}: ${name}`).toBe(name)
        seen++
      }
    }
    expect(seen).toBeGreaterThan(100)
  })

  it('a minified bundle without keepNames still reports the literal names', async () => {
    const { readFile } = await import('node:fs/promises')
    const exports: string[] = []
    const lines: string[] = []
    for (const [i, file] of MODULES.entries()) {
      const source = await readFile(join(ROOT, file), 'utf8')
      const mod = await import(pathToFileURL(join(ROOT, file)).href) as Record<string, unknown>
      const names = errorClasses(mod).map(([n]) => n).filter((n) => definedIn(source, n))
      lines.push(`export { ${names.map((n) => `${n} as m${i}_${n}`).join(', ')} } from ${JSON.stringify(join(ROOT, file))}`)
      exports.push(...names.map((n) => `m${i}_${n}`))
    }
    const dir = await mkdtemp(join(tmpdir(), 'weft-error-names-'))
    try {
      const out = await build({
        stdin: { contents: lines.join('\n'), resolveDir: ROOT, loader: 'ts' },
        bundle: true, minify: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent'
      })
      const file = join(dir, 'bundle.mjs')
      await writeFile(file, out.outputFiles[0]!.text)
      const bundle = await import(pathToFileURL(file).href) as Record<string, ErrorClass>
      let renamed = 0
      for (const key of exports) {
        const name = key.replace(/^m\d+_/, '')
        const Ctor = bundle[key]!
        if (Ctor.name !== name) renamed++
        expect(new Ctor().name, key).toBe(name)
        expect(Object.prototype.toString.call(new Ctor())).toBe('[object Error]')
      }
      // The minifier did rename the classes: the names above come from the literals.
      expect(renamed).toBeGreaterThan(exports.length / 2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

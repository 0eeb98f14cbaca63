/**
 * A Vite build plugin for the demo app's service worker (public/sw.js): once the bundle is
 * written, it lists every file of the build (the app shell: HTML, scripts, the worker bundles, the
 * QuickJS wasm, manifest and icons) and prepends that list, with a version hashed from the files'
 * contents, to `sw.js` as `self.WEFT_SHELL = { version, files }`. The service worker precaches
 * exactly those files, so the app opens with the network off; a build that changes any file
 * changes `sw.js`, which is how browsers learn there is a new version.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import type { Plugin } from 'vite'

export interface AppShellOptions {
  /** The service worker script, relative to the build's output directory. @default 'sw.js' */
  serviceWorker?: string
  /** Files not to precache (matched against their path relative to the output directory). */
  exclude?: RegExp[]
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await walk(path))
    else if (entry.isFile()) out.push(path)
  }
  return out
}

export function appShell(options: AppShellOptions = {}): Plugin {
  const swName = options.serviceWorker ?? 'sw.js'
  const exclude = [/\.map$/, /^\.vite\//, ...(options.exclude ?? [])]
  let outDir = 'dist'
  return {
    name: 'weft:app-shell',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir)
    },
    async closeBundle(error?: Error) {
      if (error != null) return
      const swPath = join(outDir, swName)
      const sw = await readFile(swPath, 'utf8').catch(() => undefined)
      if (sw === undefined) return
      const files = (await walk(outDir))
        .map((f) => relative(outDir, f).split(sep).join('/'))
        .filter((f) => f !== swName && !exclude.some((re) => re.test(f)))
        .sort()
      const hash = createHash('sha256')
      for (const f of files) hash.update(f).update('\0').update(await readFile(join(outDir, f)))
      const shell = { version: hash.digest('hex').slice(0, 16), files: ['./', ...files] }
      await writeFile(swPath, `self.WEFT_SHELL = ${JSON.stringify(shell)}\n${sw}`)
    }
  }
}

/**
 * Outside projects for the packaging tests: each is a fresh folder under the system's temporary
 * directory (so nothing of this repository's node_modules is within reach), with its own
 * package.json, files and `npm install` of the packed tarballs and of its tools, through the npm
 * registry and its cache.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { chromium, type Browser } from '@playwright/test'
import { inject } from 'vitest'
// @ts-expect-error: a plain ESM script of the repository, without declarations
import { createStaticServer } from '../../scripts/serve.mjs'
import { REPO_ROOT, run } from './commands.js'

export { REPO_ROOT, run, start, type Ran, type Started } from './commands.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the outside projects go, and the packed tarballs of weftdb and weftdb-node. */
    packaging: { root: string; weftdb: string; weftdbNode: string }
  }
}

export function packaging(): { root: string; weftdb: string; weftdbNode: string } {
  return inject('packaging')
}

/** The version of a tool installed in this repository (so the outside project gets the same). */
export function repoVersion(name: string): string {
  const require = createRequire(join(REPO_ROOT, 'package.json'))
  return (JSON.parse(require('fs').readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version
}

/** A new project folder with these files (paths relative to it). */
export async function newProject(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(packaging().root, name)
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  return dir
}

const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error']

/** `npm install` in `dir`: `deps` (names, name@version or tarball paths), then `devDeps` exactly. */
export async function npmInstall(dir: string, deps: string[], devDeps: string[] = []): Promise<void> {
  if (devDeps.length > 0) await run('npm', ['install', ...NPM_FLAGS, '--save-dev', '--save-exact', ...devDeps], { cwd: dir })
  if (deps.length > 0) await run('npm', ['install', ...NPM_FLAGS, ...deps], { cwd: dir })
}

/** Every package a project's lockfile installed (names, from node_modules paths). */
export async function installedPackages(dir: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> }
  return Object.keys(lock.packages).filter((p) => p !== '').map((p) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length))
}

/** Serves a built app's folder over HTTP on a free loopback port; `requests` lists the paths asked for. */
export async function serveStatic(root: string): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const server = createStaticServer({ root }) as Server
  const requests: string[] = []
  server.on('request', (req: IncomingMessage) => { requests.push(req.url ?? '') })
  await new Promise<void>((done) => { server.listen(0, '127.0.0.1', done) })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((done) => { server.close(() => { done() }) })
    }
  }
}

export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync']
  })
}

/** What the outside app's page reports (see app-source.ts). */
export interface AppResult {
  peerId: string
  mode: string
  id: string
  found: Array<{ _id: string; title: string }>
  caught: string
  rejected: string
  identity: string
}

/**
 * Opens the app in a fresh browser context and waits for its result. `debug` is put in
 * `localStorage.debug` before the page's scripts run; the console lines are returned.
 */
export async function openApp(browser: Browser, url: string, options: { debug?: string } = {}): Promise<{ result: AppResult; console: string[] }> {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const lines: string[] = []
    page.on('console', (m) => { lines.push(`${m.type()} ${m.text()}`) })
    page.on('pageerror', (e) => { lines.push(`pageerror ${e.message}`) })
    if (options.debug != null) await page.addInitScript((d) => { localStorage.setItem('debug', d) }, options.debug)
    await page.goto(url)
    const done = await page.waitForSelector('#app[data-done]', { timeout: 60_000 })
    const text = (await done.textContent()) ?? ''
    if ((await done.getAttribute('data-done')) !== 'ok') throw new Error(`the app failed: ${text}\n${lines.join('\n')}`)
    return { result: JSON.parse(text) as AppResult, console: lines }
  } finally {
    await context.close()
  }
}

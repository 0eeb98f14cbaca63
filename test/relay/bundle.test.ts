/**
 * The Docker image runs an esbuild bundle of relay/main.ts with only the runtime dependencies
 * installed (relay/Dockerfile). Build it the same way and check that it imports nothing from
 * devDependencies and that it starts and answers /healthz.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { cleanupRelays, REPO_ROOT, startRelayProcess } from './harness.js'

// Inside node_modules so that the bundle's bare imports resolve against the repo's packages.
const outDir = join(REPO_ROOT, 'node_modules', '.cache', `weft-relay-bundle-${process.pid}`)

afterAll(async () => {
  await cleanupRelays()
  await rm(outDir, { recursive: true, force: true })
})

interface Metafile { inputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }> }

describe('relay bundle (Docker image)', () => {
  it('builds with esbuild, imports only runtime dependencies, and serves /healthz', async () => {
    await mkdir(outDir, { recursive: true })
    const outfile = join(outDir, 'relay.mjs')
    const meta = join(outDir, 'meta.json')
    // The same flags as relay/Dockerfile (target aside).
    const built = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'esbuild'), [
      'relay/main.ts', '--bundle', '--platform=node', '--format=esm', '--packages=external',
      '--target=node20', `--outfile=${outfile}`, `--metafile=${meta}`, '--log-level=warning'
    ], { cwd: REPO_ROOT, encoding: 'utf8' })
    expect(built.status, built.stderr).toBe(0)

    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    const metafile = JSON.parse(await readFile(meta, 'utf8')) as Metafile
    const external = new Set<string>()
    for (const input of Object.values(metafile.inputs)) {
      for (const imp of input.imports) {
        if (imp.external !== true || imp.path.startsWith('node:')) continue
        const parts = imp.path.split('/')
        external.add(imp.path.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!)
      }
    }
    expect(external.size).toBeGreaterThan(0)
    for (const name of external) expect(pkg.dependencies, `${name} must be a runtime dependency`).toHaveProperty([name])

    const relay = await startRelayProcess({ args: [outfile] })
    const res = await fetch(`${relay.http}/healthz`)
    expect(res.status).toBe(200)
    expect((await res.json() as { peerId: string }).peerId).toBe(relay.peerId)
    expect((await relay.stop()).code).toBe(0)
  }, 120_000)
})

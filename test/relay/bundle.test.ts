/**
 * The Docker image runs an esbuild bundle of relay/main.ts with only the runtime dependencies
 * installed (relay/Dockerfile). Build it the same way and check that it imports nothing from
 * devDependencies and that it starts and answers /healthz.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { bundleDaemon, externalPackages } from '../helpers/daemon-bundle.js'
import { cleanupRelays, REPO_ROOT, startRelayProcess } from './harness.js'

// Inside node_modules so that the bundle's bare imports resolve against the repo's packages.
const outDir = join(REPO_ROOT, 'node_modules', '.cache', `weft-relay-bundle-${process.pid}`)

afterAll(async () => {
  await cleanupRelays()
  await rm(outDir, { recursive: true, force: true })
})


describe('relay bundle (Docker image)', () => {
  it('builds with esbuild, imports only runtime dependencies, and serves /healthz', async () => {
    await mkdir(outDir, { recursive: true })
    const outfile = join(outDir, 'relay.mjs')
    const meta = join(outDir, 'meta.json')
    // The same flags as relay/Dockerfile (target aside).
    const built = bundleDaemon(REPO_ROOT, 'relay/main.ts', outfile, meta)
    expect(built.status, built.stderr).toBe(0)

    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    const external = await externalPackages(meta)
    expect(external.size).toBeGreaterThan(0)
    for (const name of external) expect(pkg.dependencies, `${name} must be a runtime dependency`).toHaveProperty([name])

    const relay = await startRelayProcess({ args: [outfile] })
    const res = await fetch(`${relay.http}/healthz`)
    expect(res.status).toBe(200)
    expect((await res.json() as { peerId: string }).peerId).toBe(relay.peerId)
    expect((await relay.stop()).code).toBe(0)
  }, 120_000)
})

/**
 * The hub as an operator runs it: a real process that prints its READY line, answers /healthz and
 * /metrics (with its calls counted), keeps its DBs and peer ID across a restart, exits 0 on
 * SIGTERM and 2 on a bad configuration; and the esbuild bundle its Docker image runs imports only
 * runtime dependencies and starts.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { newThreadID, threadIDFromBytes, threadIDToBytes } from '../../src/core/thread-id.js'
import { HUB_METRIC_NAMES } from '../../hub/metrics.js'
import { bundleDaemon, externalPackages } from '../helpers/daemon-bundle.js'
import { cleanupHubs, clientsFor, REPO_ROOT, runHubUntilExit, startHubProcess, tempDir } from './harness.js'

const outDir = join(REPO_ROOT, 'node_modules', '.cache', `weft-hub-bundle-${process.pid}`)

afterAll(async () => {
  await cleanupHubs()
  await rm(outDir, { recursive: true, force: true })
})

describe('the hub daemon', () => {
  it('serves health and metrics, keeps its DBs across a restart and exits 0 on SIGTERM', async () => {
    const repo = await tempDir()
    const hub = await startHubProcess({ repo })
    const health = await fetch(`${hub.httpUrl}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok', peerId: hub.peerId })
    const c = clientsFor('grpc', hub)
    const dbID = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID, name: 'kept', collections: [{ name: 'Things' }] })
    await c.db.create({ dbID, collectionName: 'Things', instances: [new TextEncoder().encode('{"_id":"one"}')] })
    await c.db.listDBs({})
    const metrics = await (await fetch(`${hub.httpUrl}/metrics`)).text()
    for (const name of HUB_METRIC_NAMES) expect(metrics).toContain(name)
    expect(metrics).toMatch(/weft_hub_calls_total\{method="threads\.pb\.API\/ListDBs",code="ok"\} 1/)
    expect(metrics).toMatch(/weft_hub_dbs 1/)
    expect(await hub.stop()).toEqual({ code: 0, signal: null })
    expect(hub.stdout()).toContain('weft-hub: stopped')

    const again = await startHubProcess({ repo })
    expect(again.peerId).toBe(hub.peerId)
    const d = clientsFor('websocket', again)
    const { dbs } = await d.db.listDBs({})
    expect(dbs.map((x) => [threadIDFromBytes(x.dbID), x.info?.name])).toEqual([[threadIDFromBytes(dbID), 'kept']])
    expect((await d.db.has({ dbID, collectionName: 'Things', instanceIDs: ['one'] })).exists).toBe(true)
    expect((await again.stop()).code).toBe(0)
  })

  it('exits 2 and names every bad variable', async () => {
    const r = await runHubUntilExit({ WEFT_HUB_GRPC: 'nowhere', WEFT_HUB_MAX_STREAMS: '0', WEFT_HUB_ALLOWED_ORIGINS: 'ftp://x/y/z' })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/WEFT_HUB_GRPC="nowhere"/)
    expect(r.stderr).toMatch(/WEFT_HUB_MAX_STREAMS="0"/)
    expect(r.stderr).toMatch(/WEFT_HUB_ALLOWED_ORIGINS="ftp:\/\/x\/y\/z"/)
  })

  it('runs as the esbuild bundle of its Docker image, which imports only runtime dependencies', async () => {
    await mkdir(outDir, { recursive: true })
    const outfile = join(outDir, 'hub.mjs')
    const meta = join(outDir, 'meta.json')
    // The same flags as hub/Dockerfile (target aside).
    const built = bundleDaemon(REPO_ROOT, 'hub/main.ts', outfile, meta)
    expect(built.status, built.stderr).toBe(0)
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    const external = await externalPackages(meta)
    for (const name of external) expect(pkg.dependencies, `${name} must be a runtime dependency`).toHaveProperty([name])
    const hub = await startHubProcess({ args: [outfile] })
    expect((await fetch(`${hub.httpUrl}/healthz`)).status).toBe(200)
    expect((await clientsFor('grpc', hub).db.listDBs({})).dbs).toEqual([])
    expect((await hub.stop()).code).toBe(0)
  }, 120_000)
})

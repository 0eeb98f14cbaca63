/**
 * Once for the packaging tests: builds the packages (scripts/build.mjs, which also checks them),
 * packs them with `npm pack` into a fresh temporary folder — the tarballs npm would publish —
 * and hands their paths to the tests. The folder (tarballs and outside projects) is removed at
 * the end, unless WEFT_KEEP_PACKAGING is set (to look at a failure).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
// @ts-expect-error: a plain ESM script of the repository, without declarations
import { buildPackages } from '../../scripts/build.mjs'
import { REPO_ROOT, run } from './commands.js'

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await (buildPackages as (o: { log: (s: string) => void }) => Promise<void>)({ log: () => {} })
  const root = await mkdtemp(join(tmpdir(), 'weft-packaging-'))
  const packed = await run('npm', ['pack', './packages/weftdb', './packages/weftdb-node', '--pack-destination', root, '--json', '--loglevel=error'], { cwd: REPO_ROOT })
  const files = (JSON.parse(packed.stdout) as Array<{ name: string; filename: string }>)
  const tarball = (name: string): string => join(root, files.find((f) => f.name === name)!.filename)
  project.provide('packaging', { root, weftdb: tarball('weftdb'), weftdbNode: tarball('weftdb-node') })
  return async () => {
    if (process.env.WEFT_KEEP_PACKAGING == null) await rm(root, { recursive: true, force: true })
  }
}

/**
 * Bundle a daemon (relay, hub) the way its Dockerfile does: esbuild, Node ESM, runtime
 * dependencies left external (target aside, the Dockerfiles' flags).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Run esbuild from `root` on `entry` into `outfile` (and a metafile, if given). */
export function bundleDaemon(root: string, entry: string, outfile: string, metafile?: string): SpawnSyncReturns<string> {
  return spawnSync(join(root, 'node_modules', '.bin', 'esbuild'), [
    entry, '--bundle', '--platform=node', '--format=esm', '--packages=external',
    '--target=node20', `--outfile=${outfile}`, ...(metafile !== undefined ? [`--metafile=${metafile}`] : []), '--log-level=warning'
  ], { cwd: root, encoding: 'utf8' })
}

/** The packages (not `node:` modules) a bundle's metafile shows it imports at run time. */
export async function externalPackages(metafile: string): Promise<Set<string>> {
  const meta = JSON.parse(await readFile(metafile, 'utf8')) as { inputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }> }
  const external = new Set<string>()
  for (const input of Object.values(meta.inputs)) {
    for (const imp of input.imports) {
      if (imp.external !== true || imp.path.startsWith('node:')) continue
      const parts = imp.path.split('/')
      external.add(imp.path.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!)
    }
  }
  return external
}

// Type-checks every ```ts example in README.md and the packages' READMEs: writes each to
// .readme-examples/ as its own module and runs tsc over them with the project's settings.
// Examples import the published
// packages ('weftdb/client', 'weftdb-node', …): each entry point maps to the source it is built
// from (scripts/packages.mjs), so no build is needed. Run by `npm test`.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { entries, PACKAGES } from './packages.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = `${root}.readme-examples`
// The repository's README and the packages' (what npm shows).
const readmes = ['README.md', ...PACKAGES.map((p) => `${p.dir}/README.md`)]
const blocks = readmes.flatMap((file) => [...readFileSync(`${root}${file}`, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]))
rmSync(out, { recursive: true, force: true })
mkdirSync(out)
blocks.forEach((code, i) => {
  writeFileSync(`${out}/example-${String(i + 1).padStart(2, '0')}.ts`, `${code}\nexport {}\n`)
})
const paths = {}
for (const spec of PACKAGES) {
  for (const [subpath, source] of Object.entries(entries(spec))) {
    if (!source.endsWith('.ts') || Object.values(spec.bundles ?? {}).includes(source)) continue
    paths[`${spec.name}${subpath.slice(1)}`] = [`../${source}`]
  }
}
writeFileSync(`${out}/tsconfig.json`, JSON.stringify({
  extends: '../tsconfig.json',
  compilerOptions: { noUnusedLocals: false, noUnusedParameters: false, paths },
  include: ['./*.ts']
}, null, 2))
console.log(`[readme] type-checking ${blocks.length} TypeScript examples from ${readmes.join(', ')}`)
const r = spawnSync('npx', ['tsc', '--noEmit', '-p', `${out}/tsconfig.json`], { stdio: 'inherit', cwd: root })
process.exit(r.status ?? 1)

/**
 * docs/SECURITY.md names, for every guarantee, the tests that show it. This test keeps that list
 * true: each named file exists and contains a test with exactly that name.
 */
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..')
const doc = readFileSync(join(root, 'docs/SECURITY.md'), 'utf8')
const refs = [...doc.matchAll(/`(test\/[^`]+\.test\.ts)` › "([^"]+)"/g)].map((m) => ({ file: m[1]!, name: m[2]! }))

/** The string literal forms a test name can take in source: '…', "…" or `…`. */
function declares(source: string, name: string): boolean {
  return [`'${name.replaceAll("'", "\\'")}'`, `"${name}"`, `\`${name}\``].some((lit) => source.includes(lit))
}

describe('docs/SECURITY.md', () => {
  it('names at least one test for every guarantee', () => {
    const sections = doc.split(/^### /m).slice(1)
    expect(sections.length).toBeGreaterThanOrEqual(11)
    for (const s of sections) expect(s, s.split('\n')[0]).toMatch(/`test\/[^`]+\.test\.ts` › "/)
  })

  it.each(refs.map((r) => [`${r.file} › ${r.name}`, r] as const))('names a test that exists: %s', (_label, ref) => {
    const path = join(root, ref.file)
    expect(existsSync(path), `${ref.file} is missing`).toBe(true)
    expect(declares(readFileSync(path, 'utf8'), ref.name), `${ref.file} has no test named "${ref.name}"`).toBe(true)
  })
})

/**
 * A Node program installs the packed weftdb and weftdb-node from their tarballs, as from the
 * registry, and uses them with plain `node` (no TypeScript loader): a peer with LevelDB and a
 * document DB; the same program in TypeScript, compiled by `tsc` with `node16` and `nodenext`
 * module settings (our declarations checked too, no `@types/*` of ours); and the relay, run from
 * its `weft-relay` bin until `/healthz` answers.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: a plain ESM script of the repository, without declarations
import { checkPackages } from '../../scripts/build-check.mjs'
import { newProject, npmInstall, packaging, repoVersion, run, start } from './outside.js'

/** The program, in TypeScript; the plain-node one is the same with the types left out. */
const PROGRAM = `import { createPeer, type Peer } from 'weftdb-node'
import { createDBManager, dbNetFromNet, where, type CollectionConfig } from 'weftdb/db'
import { newThreadID, type ThreadID } from 'weftdb/core'

const people: CollectionConfig = {
  name: 'People',
  schema: { type: 'object', properties: { _id: { type: 'string' }, name: { type: 'string' } }, required: ['_id', 'name'] },
  writeValidator: 'return event.patch.type !== "delete" || "people stay"'
}

const peer: Peer = await createPeer({ repo: process.argv[2] ?? './.weft/peer' })
const dbs = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore), kv: peer.kv })
const db = await dbs.newDB(undefined, { name: 'people', collections: [people] })
const [id] = await db.create('People', [{ _id: '', name: 'Ada' }])
const found = await db.find('People', where('name').eq('Ada'))
let caught = ''
try {
  await db.create('People', [{ _id: '', name: 7 }])
} catch (err) {
  if (err instanceof Error && err.name === 'SchemaValidationError') caught = err.name
}
let rejected = ''
try {
  await db.delete('People', [id!])
} catch (err) {
  if (err instanceof Error && err.name === 'ValidatorRejectedError') rejected = err.name
}
const thread: ThreadID = newThreadID()
console.log(JSON.stringify({ peerId: peer.peerId, id, found, caught, rejected, thread }))
await dbs.close()
await peer.stop()

/** Never called: tsc must refuse these, so the imports are typed (not \`any\` from a lost declaration). */
export function typesHold(): void {
  // @ts-expect-error: repo is a path
  void createPeer({ repo: 42 })
  // @ts-expect-error: a query starts from a field name
  where(1)
}
`

const PLAIN = PROGRAM
  .replace(', type Peer }', ' }').replace(', type CollectionConfig }', ' }').replace(', type ThreadID }', ' }')
  .replace('const people: CollectionConfig', 'const people').replace('const peer: Peer', 'const peer')
  .replace('const thread: ThreadID', 'const thread').replace('[id!]', '[id]').replace('(): void {', '() {')

function expectRan(stdout: string): void {
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>
  expect(out.peerId).toMatch(/^12D3KooW/)
  expect(out.found).toEqual([{ _id: out.id, name: 'Ada' }])
  expect(out.caught).toBe('SchemaValidationError')
  expect(out.rejected).toBe('ValidatorRejectedError')
  expect(out.thread).toMatch(/^b/)
}

describe('the packages as built', () => {
  it('import only what they declare, and declare only what they import', () => {
    expect((checkPackages as () => string[])()).toEqual([])
  })
})

describe('a Node program that installs weftdb and weftdb-node', () => {
  let app: string

  beforeAll(async () => {
    // node16 checks every declaration file (ours and our dependencies'); nodenext skips them, as
    // most projects do, and relies on typesHold() to show that ours resolve.
    const tsconfig = (module: string): string => JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module, moduleResolution: module, strict: true, skipLibCheck: module !== 'node16',
        exactOptionalPropertyTypes: true, verbatimModuleSyntax: true, types: ['node'], outDir: `out-${module}`
      },
      include: ['src']
    }, null, 2)
    app = await newProject('node-app', {
      'package.json': JSON.stringify({ name: 'node-app', private: true, type: 'module' }, null, 2),
      'main.js': PLAIN,
      'src/main.ts': PROGRAM,
      'tsconfig.node16.json': tsconfig('node16'),
      'tsconfig.nodenext.json': tsconfig('nodenext')
    })
    const { weftdb, weftdbNode } = packaging()
    await npmInstall(app, [weftdb, weftdbNode], [`typescript@${repoVersion('typescript')}`, `@types/node@${repoVersion('@types/node')}`])
  })

  it('runs with plain node: a peer on LevelDB and a document DB', async () => {
    const { stdout } = await run(process.execPath, ['main.js', join(app, '.weft/plain')], { cwd: app })
    expectRan(stdout)
  })

  for (const module of ['node16', 'nodenext']) {
    it(`compiles with tsc (module ${module}) against our declarations, and runs`, async () => {
      await run(join(app, 'node_modules/.bin/tsc'), ['-p', `tsconfig.${module}.json`], { cwd: app })
      const { stdout } = await run(process.execPath, [`out-${module}/main.js`, join(app, `.weft/${module}`)], { cwd: app })
      expectRan(stdout)
    })
  }

  it('runs the relay from its bin with plain node until /healthz answers', async () => {
    const bin = join(app, 'node_modules/.bin/weft-relay')
    expect(await readFile(bin, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/)
    const env: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WEFT_RELAY_') && k !== 'DEBUG') env[k] = v
    const relay = await start(bin, [], {
      cwd: app,
      env: {
        ...env,
        WEFT_RELAY_REPO: join(app, '.weft/relay'),
        WEFT_RELAY_TCP: '/ip4/127.0.0.1/tcp/0',
        WEFT_RELAY_WS: '/ip4/127.0.0.1/tcp/0/ws',
        WEFT_RELAY_HTTP: '127.0.0.1:0'
      },
      ready: /^WEFT_RELAY_READY /
    })
    try {
      const ready = JSON.parse(relay.line.slice('WEFT_RELAY_READY '.length)) as { peerId: string; http: string }
      const res = await fetch(`${ready.http}/healthz`)
      expect(res.status).toBe(200)
      expect((await res.json() as { peerId: string }).peerId).toBe(ready.peerId)
    } finally {
      await relay.stop()
    }
  })
})

/**
 * The outside web app the packaging tests build: what a developer writes after
 * `npm install weftdb` — connect, a collection with a schema and a write validator (so QuickJS's
 * wasm must load in the worker), create, find, and two errors caught by name (one from the
 * schema, one from the validator). It writes its findings as JSON into #app, with
 * `data-done="ok"`. `?name=` names the peer; `?worker=<url>` starts a worker file the app hosts
 * itself (`workerUrl`); `?shared=no` runs the worker as a dedicated Worker, as in browsers
 * without SharedWorker. TypeScript for the Vite app (its `tsc` checks it against the published
 * declarations); the webpack app gets the same code with the types stripped.
 */
import ts from 'typescript'

export const APP_TS = `import { connect, where, type CollectionConfig } from 'weftdb/client'
import { generateKeyPair } from 'weftdb/core'

const tasks: CollectionConfig = {
  name: 'Tasks',
  schema: {
    type: 'object',
    properties: { _id: { type: 'string' }, title: { type: 'string' }, done: { type: 'boolean' } },
    required: ['_id', 'title']
  },
  writeValidator: 'return event.patch.type !== "delete" || "tasks are never deleted"'
}

async function run(): Promise<Record<string, unknown>> {
  const params = new URLSearchParams(location.search)
  const worker = params.get('worker')
  const client = await connect({
    relays: [],
    name: params.get('name') ?? 'app',
    sharedWorker: params.get('shared') !== 'no',
    ...(worker != null ? { workerUrl: new URL(worker, location.href) } : {})
  })
  const db = await client.db.newDB(undefined, { name: 'board', collections: [tasks] })
  const [id] = await db.create('Tasks', [{ title: 'Try Weft', done: false }])
  const found = await db.find('Tasks', where('title').eq('Try Weft'))
  let caught = ''
  try {
    await db.create('Tasks', [{ title: 42 }])
  } catch (err) {
    if (err instanceof Error && err.name === 'SchemaValidationError') caught = err.name
  }
  let rejected = ''
  try {
    await db.delete('Tasks', [id!])
  } catch (err) {
    if (err instanceof Error && err.name === 'ValidatorRejectedError') rejected = err.name
  }
  const key = await generateKeyPair()
  return { peerId: client.peerId, mode: client.mode, id, found, caught, rejected, identity: key.publicKey.toString() }
}

/** Never called: tsc must refuse these, so the imports are typed (not \`any\` from a lost declaration). */
export function typesHold(): void {
  // @ts-expect-error: relays is a list
  void connect({ relays: 'none' })
  // @ts-expect-error: a query starts from a field name
  where(1)
}

const out = document.querySelector<HTMLElement>('#app')!
run().then(
  (result) => { out.textContent = JSON.stringify(result); out.dataset.done = 'ok' },
  (err: unknown) => { out.textContent = String((err as Error)?.stack ?? err); out.dataset.done = 'error' }
)
`

/** The same app as JavaScript (types stripped). */
export function appJS(): string {
  return ts.transpileModule(APP_TS, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true }
  }).outputText
}

/**
 * Type tests, checked by the type-check step (tsc) and run by vitest: typed collections in the
 * client and in the Node DB (a type derived from the JSON Schema with json-schema-to-ts's
 * `FromSchema`, as docs/DB.md shows), and the tab⇄worker contract (a call to a method the worker
 * lacks, a wrong argument, or a handler that answers the wrong type does not compile). Each
 * `@ts-expect-error` fails the type-check if the line below it compiles.
 */
import type { FromSchema } from 'json-schema-to-ts'
import { describe, expectTypeOf, it } from 'vitest'
import type { ClientCollection, ClientDatabase, JSONObject, Subscription } from '../../src/client/index.js'
import type { Caller } from '../../src/client/rpc.js'
import type { DBMethods, DBStreams } from '../../src/contract/index.js'
import type { Collection, Database, LiveQuery, NewInstance } from '../../src/db/index.js'
import type { HandlerTable, StreamTable } from '../../worker/api.js'

const taskSchema = {
  type: 'object',
  properties: {
    _id: { type: 'string' },
    title: { type: 'string' },
    done: { type: 'boolean' },
    rank: { type: 'number' }
  },
  required: ['_id', 'title', 'done'],
  additionalProperties: false
} as const

type Task = FromSchema<typeof taskSchema>

/** Compiled, never called: the statements are what the type-check checks. */
function unused(_f: () => unknown): void {}

describe('typed collections', () => {
  it('derive the instance type from the JSON Schema', () => {
    expectTypeOf(taskSchema.required).toEqualTypeOf<readonly ['_id', 'title', 'done']>()
    expectTypeOf<Task>().toEqualTypeOf<{ _id: string; title: string; done: boolean; rank?: number }>()
    expectTypeOf<NewInstance<Task>>().toMatchTypeOf<{ title: string; done: boolean; _id?: string }>()
  })

  it('type create, save, find, findByID, listen and observe in the client', () => {
    expectTypeOf<ClientCollection<Task>['find']>().returns.resolves.toEqualTypeOf<Task[]>()
    expectTypeOf<ClientCollection<Task>['findByID']>().returns.resolves.toEqualTypeOf<Task>()
    expectTypeOf<ClientCollection<Task>['observe']>().returns.toEqualTypeOf<Subscription<Task[]>>()
    unused(async () => {
      const db = null as unknown as ClientDatabase
      expectTypeOf(await db.collection('Any').find()).toEqualTypeOf<JSONObject[]>()
      const tasks = db.collection<Task>('Tasks')
      await tasks.create([{ title: 'a', done: false }])
      // @ts-expect-error: `done` must be a boolean
      await tasks.create([{ title: 'a', done: 'no' }])
      // @ts-expect-error: `title` is required
      await tasks.save([{ _id: 'x', done: true }])
      for await (const e of tasks.listen()) if (e.type === 'save') expectTypeOf(e.instance).toEqualTypeOf<Task | undefined>()
      for await (const result of tasks.observe()) expectTypeOf(result).toEqualTypeOf<Task[]>()
    })
  })

  it('type the same in the Node DB', () => {
    expectTypeOf<Collection<Task>['find']>().returns.resolves.toEqualTypeOf<Task[]>()
    expectTypeOf<Collection<Task>['observe']>().returns.toEqualTypeOf<LiveQuery<Task>>()
    unused(async () => {
      const tasks = (null as unknown as Database).collection<Task>('Tasks')
      await tasks.create([{ title: 'a', done: false, rank: 1 }])
      // @ts-expect-error: `rank` must be a number
      await tasks.create([{ title: 'a', done: false, rank: '1' }])
      const one = await tasks.findByID('x')
      expectTypeOf(one.title).toBeString()
    })
  })
})

describe('the tab⇄worker contract', () => {
  it('types the calls of the tab', () => {
    unused(async () => {
      const call = null as unknown as Caller
      expectTypeOf(await call('db.find', ['thread', 'Tasks', null, {}])).toMatchTypeOf<unknown>()
      expectTypeOf(await call('net.listThreads', [])).toEqualTypeOf<string[]>()
      // @ts-expect-error: no such method in the worker
      await call('net.listThread', [])
      // @ts-expect-error: a thread ID is a string
      await call('db.getDBInfo', [42])
      // @ts-expect-error: create takes the options argument too
      await call('db.create', ['thread', 'Tasks', [{}]])
    })
  })

  it("types the worker's handlers: all of the contract's methods, answering its types", () => {
    type Partial = Pick<DBMethods, 'stateHash' | 'listDBs'>
    const ok: HandlerTable<Partial> = { stateHash: () => 'hash', listDBs: async () => [] }
    expectTypeOf(ok).toMatchTypeOf<HandlerTable<Partial>>()
    // @ts-expect-error: stateHash answers a string
    const wrong: HandlerTable<Partial> = { stateHash: () => 42, listDBs: async () => [] }
    // @ts-expect-error: listDBs is missing
    const missing: HandlerTable<Partial> = { stateHash: () => 'hash' }
    // @ts-expect-error: observe yields result sets
    const badStream: StreamTable<Pick<DBStreams, 'observe'>> = { observe: async function * () { yield 'x' } }
    unused(() => [wrong, missing, badStream])
  })
})

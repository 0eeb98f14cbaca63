/**
 * Live queries (`observe`): the current result, then a new one after each change that alters it,
 * without running the query again for changes that cannot; sorted, limited and skipping queries
 * stay exact; remote changes count; read filters apply; `signal` and `return()` stop it. On
 * memory and on LevelDB.
 */
import { describe, expect, it } from 'vitest'
import type { Database, JSONObject, LiveQuery } from '../../src/db/index.js'
import { where } from '../../src/db/index.js'
import { couldAlter } from '../../src/db/observe.js'
import { normalizeQuery } from '../../src/db/query.js'
import { closeAfterEach, group, onEveryBackend } from './helpers.js'

interface Task { _id: string; title: string; done: boolean; rank: number }

const TASKS = {
  name: 'Tasks',
  schema: {
    type: 'object',
    properties: { _id: { type: 'string' }, title: { type: 'string' }, done: { type: 'boolean' }, rank: { type: 'number' } },
    required: ['_id', 'title', 'done', 'rank']
  },
  indexes: [{ path: 'rank' }]
}
const NOTES = { name: 'Notes', schema: { type: 'object', properties: { _id: { type: 'string' } } } }
const SECRETS = { name: 'Secrets', readFilter: 'return instance.hidden === true && reader !== "admin" ? null : instance' }

/** The next result of a live query (fails after 10 s). */
async function next<T>(live: LiveQuery<T>): Promise<T[]> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_r, reject) => { timer = setTimeout(() => { reject(new Error('no result within 10 s')) }, 10_000) })
  try {
    const r = await Promise.race([live.next(), timeout])
    if (r.done === true) throw new Error('the live query ended')
    return r.value
  } finally {
    clearTimeout(timer)
  }
}

const titles = (ts: Array<{ title: string }>): string[] => ts.map((t) => t.title)

describe('which changes can alter a live query', () => {
  const open = normalizeQuery({ ...where('done').eq(false).orderBy('rank').toJSON(), limit: 2 })
  const skipping = normalizeQuery({ ...where('done').eq(false).toJSON(), skip: 1 })
  const inResult = new Set(['in'])
  const change = (type: 'create' | 'save' | 'delete', instanceID: string, instance?: JSONObject): Parameters<typeof couldAlter>[2] =>
    ({ type, collection: 'Tasks', instanceID, ...(instance !== undefined ? { instance } : {}) })

  it('a change of an instance in the result, whatever it is', () => {
    expect(couldAlter(open, inResult, change('save', 'in', { done: true }))).toBe(true)
    expect(couldAlter(open, inResult, change('delete', 'in'))).toBe(true)
  })

  it('an instance that matches the condition now (it may enter or move)', () => {
    expect(couldAlter(open, inResult, change('create', 'new', { done: false }))).toBe(true)
    expect(couldAlter(open, inResult, change('save', 'out', { done: false }))).toBe(true)
  })

  it('not an instance outside the result that does not match, nor its delete', () => {
    expect(couldAlter(open, inResult, change('create', 'new', { done: true }))).toBe(false)
    expect(couldAlter(open, inResult, change('save', 'out', { done: true }))).toBe(false)
    expect(couldAlter(open, inResult, change('delete', 'out'))).toBe(false)
    expect(couldAlter(open, inResult, change('save', 'hidden'))).toBe(false)
  })

  it('with skip, a save or delete outside the result (it may have sat in the skipped part)', () => {
    expect(couldAlter(skipping, inResult, change('delete', 'out'))).toBe(true)
    expect(couldAlter(skipping, inResult, change('save', 'out', { done: true }))).toBe(true)
    expect(couldAlter(skipping, inResult, change('create', 'new', { done: true }))).toBe(false)
  })
})

onEveryBackend((make) => {
  const { keep, signal } = closeAfterEach()

  async function one(): Promise<Database> {
    return keep(await group(make, 1, { collections: [TASKS, NOTES, SECRETS] })).dbs[0]!
  }

  describe('observe', () => {
    it('yields the current result, then a new one after each change that alters it', async () => {
      const db = await one()
      const tasks = db.collection<Task>('Tasks')
      await tasks.create([{ title: 'a', done: false, rank: 1 }])
      const live = tasks.observe(where('done').eq(false), { signal: signal() })
      expect(titles(await next(live))).toEqual(['a'])
      const [b] = await tasks.create([{ title: 'b', done: false, rank: 2 }])
      expect(titles(await next(live)).sort()).toEqual(['a', 'b'])
      await tasks.save([{ _id: b!, title: 'b', done: true, rank: 2 }])
      expect(titles(await next(live))).toEqual(['a'])
    })

    it('does not run the query again for changes that cannot alter its result', async () => {
      const db = await one()
      const tasks = db.collection<Task>('Tasks')
      const live = tasks.observe(where('done').eq(false), { signal: signal() })
      expect(await next(live)).toEqual([])
      await db.create('Notes', [{}, {}])
      await tasks.create([{ title: 'finished', done: true, rank: 1 }])
      const [late] = await tasks.create([{ title: 'late', done: true, rank: 2 }])
      await tasks.delete([late!])
      await tasks.create([{ title: 'open', done: false, rank: 3 }])
      expect(titles(await next(live))).toEqual(['open'])
      // The first run, and one for "open": the notes, the done tasks and the delete ran nothing.
      expect(live.runs).toBe(2)
    })

    it('keeps a sorted, limited query exact: an instance past the limit yields nothing', async () => {
      const db = await one()
      const tasks = db.collection<Task>('Tasks')
      const ids = await tasks.create([1, 2, 3].map((rank) => ({ title: `t${rank}`, done: false, rank })))
      const live = tasks.observe({ ...where('done').eq(false).orderByDesc('rank').toJSON(), limit: 2 }, { signal: signal() })
      expect(titles(await next(live))).toEqual(['t3', 't2'])
      await tasks.create([{ title: 't0', done: false, rank: 0 }]) // past the limit: no new result
      await tasks.create([{ title: 't9', done: false, rank: 9 }])
      expect(titles(await next(live))).toEqual(['t9', 't3'])
      await tasks.delete([ids[2]!]) // t3 leaves: t2 moves up
      expect(titles(await next(live))).toEqual(['t9', 't2'])
    })

    it('shifts a skipping query when an instance in the skipped part goes', async () => {
      const db = await one()
      const tasks = db.collection<Task>('Tasks')
      const ids = await tasks.create([1, 2, 3, 4].map((rank) => ({ title: `t${rank}`, done: false, rank })))
      const live = tasks.observe({ ...where('rank').ge(0).orderBy('rank').toJSON(), skip: 1, limit: 2 }, { signal: signal() })
      expect(titles(await next(live))).toEqual(['t2', 't3'])
      await tasks.delete([ids[0]!])
      expect(titles(await next(live))).toEqual(['t3', 't4'])
    })

    it('follows changes that arrive from other peers', async () => {
      const g = keep(await group(make, 2, { collections: [TASKS] }))
      await g.settle()
      const live = g.dbs[1]!.observe<Task>('Tasks', where('done').eq(false), { signal: signal() })
      expect(await next(live)).toEqual([])
      await g.dbs[0]!.create('Tasks', [{ title: 'from r0', done: false, rank: 1 }])
      await g.settle()
      expect(titles(await next(live))).toEqual(['from r0'])
    })

    it('drops an instance from the result when the read filter comes to hide it', async () => {
      const db = await one()
      const [id] = await db.create('Secrets', [{ name: 's', hidden: false }])
      const live = db.observe<JSONObject>('Secrets', undefined, { signal: signal() })
      expect((await next(live)).map((i) => i._id)).toEqual([id])
      await db.save('Secrets', [{ _id: id!, name: 's', hidden: true }])
      expect(await next(live)).toEqual([])
    })

    it('stops when its signal aborts, and when the loop leaves (return)', async () => {
      const db = await one()
      const tasks = db.collection<Task>('Tasks')
      const stop = new AbortController()
      const live = tasks.observe(undefined, { signal: stop.signal })
      expect(await next(live)).toEqual([])
      stop.abort()
      expect((await live.next()).done).toBe(true)

      const seen: number[] = []
      for await (const result of tasks.observe()) {
        seen.push(result.length)
        if (seen.length === 2) break
        await tasks.create([{ title: 'x', done: false, rank: 1 }])
      }
      expect(seen).toEqual([0, 1])
      // Stopped: later changes reach no one, and nothing fails.
      await tasks.create([{ title: 'y', done: false, rank: 2 }])
      expect(await tasks.find()).toHaveLength(2)
    })
  })
})

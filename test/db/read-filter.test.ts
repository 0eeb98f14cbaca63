/**
 * Read filters (docs/SECURITY.md G10): a filter that fails on one instance — throws, runs past
 * its budget, returns something that is not an object — hides that instance only; the read goes
 * on, and the failure is reported (`onFilterError`, and a logged error). Asking for that instance
 * by ID is a ReadFilterError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandbox, type FilterFailure, type Sandbox } from '../../src/db/index.js'
import { closeAfterEach, group, onEveryBackend, take } from './helpers.js'

const FILTERED = {
  name: 'Docs',
  schema: { type: 'object', properties: { _id: { type: 'string' }, mode: { type: 'string' } } },
  readFilter: `
    if (instance.mode === 'throw') throw new Error('cannot show ' + instance._id)
    if (instance.mode === 'loop') for (;;) {}
    if (instance.mode === 'number') return 42
    if (instance.mode === 'hidden') return null
    return instance`
}

let sandbox: Sandbox
beforeAll(async () => { sandbox = await createSandbox({ pollBudget: 20 }) })
afterAll(() => { sandbox.dispose() })

const { keep, signal } = closeAfterEach()

onEveryBackend((make) => {
  describe('read filters', () => {
    it('a filter that throws on one instance hides only that instance and reports it', async () => {
      const g = keep(await group(make, 1, { collections: [FILTERED], init: () => ({ sandbox }) }))
      const [db] = g.dbs
      await db!.create('Docs', [{ _id: 'a' }, { _id: 'bad', mode: 'throw' }, { _id: 'c' }, { _id: 'h', mode: 'hidden' }])
      const failures: FilterFailure[] = []
      const onFilterError = (f: FilterFailure): void => { failures.push(f) }
      expect((await db!.find('Docs', {}, { onFilterError })).map((d) => d._id)).toEqual(['a', 'c'])
      expect(failures).toEqual([{ collection: 'Docs', instanceID: 'bad', error: { name: 'ValidatorError', message: expect.stringContaining('cannot show bad') } }])
      await expect(db!.findByID('Docs', 'bad', { onFilterError })).rejects.toMatchObject({ name: 'ReadFilterError' })
      expect(await db!.findByID('Docs', 'a')).toEqual({ _id: 'a' })
      await expect(db!.findByID('Docs', 'h')).rejects.toMatchObject({ name: 'InstanceNotFoundError' })
      expect(await db!.has('Docs', ['a', 'c'])).toBe(true)
      expect(await db!.has('Docs', ['a', 'bad'], { onFilterError })).toBe(false)
      // A save needs the instance as the filter shows it: it cannot be computed.
      await expect(db!.save('Docs', [{ _id: 'bad', mode: 'fine' }])).rejects.toMatchObject({ name: 'ReadFilterError' })
      // Listeners skip the change and report it.
      const heard: FilterFailure[] = []
      const events = take(db!.listen([{ collection: 'Docs' }], { signal: signal(), onFilterError: (f) => { heard.push(f) } }), 1)
      await db!.create('Docs', [{ _id: 'bad2', mode: 'throw' }])
      await db!.create('Docs', [{ _id: 'd' }])
      expect((await events).map((e) => e.type === 'rejected' ? e.type : e.instanceID)).toEqual(['d'])
      expect(heard.map((f) => f.instanceID)).toEqual(['bad2'])
      expect(failures.map((f) => f.instanceID)).toEqual(['bad', 'bad', 'bad'])
    })

    it('a filter that runs past its budget or returns a non-object on one instance hides only that instance', async () => {
      const g = keep(await group(make, 1, { collections: [FILTERED], init: () => ({ sandbox }) }))
      const [db] = g.dbs
      await db!.create('Docs', [{ _id: 'a' }, { _id: 'loop', mode: 'loop' }, { _id: 'num', mode: 'number' }, { _id: 'z' }])
      const failures: FilterFailure[] = []
      const shown = await db!.find('Docs', { limit: 3 }, { onFilterError: (f) => { failures.push(f) } })
      expect(shown.map((d) => d._id)).toEqual(['a', 'z'])
      expect(failures.map((f) => `${f.instanceID}:${f.error.name}`)).toEqual(['loop:ValidatorTimeoutError', 'num:ValidatorError'])
      await expect(db!.findByID('Docs', 'loop')).rejects.toMatchObject({ name: 'ReadFilterError' })
    })
  })
})

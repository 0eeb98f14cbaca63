/**
 * JSON hygiene (docs/SECURITY.md G5): keys named `__proto__` never reach an object's prototype —
 * they are refused with InvalidInstanceError in instances, patches and configs, from this peer's
 * API and from remote events alike — while `constructor` and `prototype` are plain data. What is
 * stored always satisfies the collection's schema.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { where } from '../../src/db/index.js'
import { body, closeAfterEach, group, onEveryBackend, take } from './helpers.js'

const PEOPLE = {
  name: 'People',
  schema: { type: 'object', properties: { _id: { type: 'string' }, name: { type: 'string' }, prototype: { type: 'string' } }, required: ['_id', 'name'] },
  indexes: [{ path: 'prototype' }]
}

const { keep, signal } = closeAfterEach()
afterEach(() => {
  expect(({} as Record<string, unknown>).name).toBeUndefined()
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
})

onEveryBackend((make) => {
  describe('JSON hygiene', () => {
    it('a merge patch with a __proto__ key is refused and the stored instance keeps its required fields', async () => {
      const g = keep(await group(make, 2, { collections: [PEOPLE] }))
      const [a, b] = g.dbs
      await a!.create('People', [{ _id: 'x', name: 'Alice' }])
      await g.settle()
      // Through the API: the instance to save carries a __proto__ key (as JSON.parse makes one).
      const local = JSON.parse('{"_id":"x","name":null,"__proto__":{"name":"Mallory"}}') as object
      await expect(b!.save('People', [local])).rejects.toMatchObject({ name: 'InvalidInstanceError' })
      await expect(b!.create('People', [JSON.parse('{"name":"N","__proto__":{"polluted":true}}') as object])).rejects.toMatchObject({ name: 'InvalidInstanceError' })
      // From a member running modified code: a patch that drops `name` and offers it through the prototype.
      await g.replicas[1]!.net.createRecord(g.id, body({ t: 'save', c: 'People', id: 'x', patch: JSON.parse('{"name":null,"__proto__":{"name":"Mallory"}}') }))
      await g.settle()
      for (const db of g.dbs) {
        expect(await db.findByID('People', 'x')).toEqual({ _id: 'x', name: 'Alice' })
        expect((await db.conflicts()).map((c) => c.error.name)).toEqual(['InvalidInstanceError'])
      }
      expect(await b!.stateHash()).toBe(await a!.stateHash())
    })

    it('constructor and prototype keys are plain data, stored, indexed and queried like any other', async () => {
      const g = keep(await group(make, 2, { collections: [PEOPLE] }))
      const [a, b] = g.dbs
      await a!.create('People', [{ _id: 'c', name: 'C', constructor: { x: 1 }, prototype: 'p1' }])
      await a!.save('People', [{ _id: 'c', name: 'C', constructor: { x: 1, y: 2 }, prototype: 'p2' }])
      await g.replicas[1]!.net.createRecord(g.id, body({ t: 'create', c: 'People', id: 'd', doc: { _id: 'd', name: 'D', constructor: 'plain', prototype: 'p2' } }))
      await g.settle()
      for (const db of g.dbs) {
        expect(await db.findByID('People', 'c')).toEqual({ _id: 'c', name: 'C', constructor: { x: 1, y: 2 }, prototype: 'p2' })
        expect((await db.find('People', where('prototype').eq('p2'))).map((d) => d._id)).toEqual(['c', 'd'])
        expect((await db.explain('People', where('prototype').eq('p2'))).plan).toBe('index')
        expect((await db.find('People', where('constructor.y').eq(2))).map((d) => d._id)).toEqual(['c'])
        expect(await db.conflicts()).toEqual([])
      }
      expect(await b!.stateHash()).toBe(await a!.stateHash())
    })

    it('a collection config with a __proto__ key is refused with InvalidInstanceError, locally and remotely', async () => {
      const g = keep(await group(make, 2, { collections: [PEOPLE] }))
      const [a] = g.dbs
      const schema = JSON.parse('{"type":"object","properties":{"_id":{"type":"string"},"__proto__":{"type":"string"}}}') as Record<string, unknown>
      await expect(a!.newCollection({ name: 'Bad', schema })).rejects.toMatchObject({ name: 'InvalidInstanceError' })
      await g.replicas[0]!.net.createRecord(g.id, body({ t: 'newCollection', c: 'Bad', config: { name: 'Bad', schema, indexes: [], writeValidator: '', readFilter: '' } }))
      await g.settle()
      for (const db of g.dbs) {
        expect((await db.listCollections()).map((c) => c.name)).toEqual(['People'])
        expect((await db.conflicts()).map((c) => c.error.name)).toEqual(['InvalidInstanceError'])
      }
    })

    it('queries and listen filters with __proto__ keys are refused or inert, and change no prototype', async () => {
      const g = keep(await group(make, 1, { collections: [PEOPLE] }))
      const [a] = g.dbs
      await a!.create('People', [{ _id: 'q', name: 'Q' }])
      await expect(a!.find('People', JSON.parse('{"__proto__":{"polluted":1}}') as object)).rejects.toMatchObject({ name: 'InvalidQueryError' })
      await expect(a!.find('People', JSON.parse('{"ands":[{"fieldPath":"name","operation":0,"value":{"__proto__":{"string":"Q"}}}]}') as object)).rejects.toMatchObject({ name: 'InvalidQueryError' })
      expect(await a!.find('People', where('__proto__.polluted').eq(1))).toEqual([])
      // A listen filter is read, never merged: its own `__proto__` key is no condition at all.
      const events = take(a!.listen([JSON.parse('{"__proto__":{"collection":"Nope"}}') as object], { signal: signal() }), 1)
      await a!.create('People', [{ _id: 'r', name: 'R' }])
      expect((await events).map((e) => e.type)).toEqual(['create'])
    })

    it('a remote number out of range is refused and stores nothing', async () => {
      const g = keep(await group(make, 1, { collections: [PEOPLE] }))
      await g.replicas[0]!.net.createRecord(g.id, { weftdb: 2, ops: '[{"t":"create","c":"People","id":"big","doc":{"_id":"big","name":"B","n":1e400}}]' })
      await g.dbs[0]!.sync()
      expect(await g.dbs[0]!.find('People')).toEqual([])
      expect((await g.dbs[0]!.conflicts()).map((c) => c.error.name)).toEqual(['InvalidInstanceError'])
    })
  })
})

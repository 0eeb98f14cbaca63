/**
 * Strings (docs/SECURITY.md G10): a string that is not well-formed UTF-16 (a lone surrogate)
 * cannot be stored or indexed faithfully — UTF-8 turns it into U+FFFD — so it is refused with
 * InvalidStringError wherever it would be: instance IDs, documents (values and keys), indexed
 * values, queries, and remote events alike. Two different strings never share an index entry.
 */
import { describe, expect, it } from 'vitest'
import { where } from '../../src/db/index.js'
import { body, closeAfterEach, group, onEveryBackend } from './helpers.js'

const USERS = {
  name: 'Users',
  schema: { type: 'object', properties: { _id: { type: 'string' }, handle: { type: 'string' }, bio: { type: 'string' } } },
  indexes: [{ path: 'handle', unique: true }]
}
const LONE = '\ud801'

const { keep } = closeAfterEach()

onEveryBackend((make) => {
  describe('strings', () => {
    it('a lone surrogate in an ID or an indexed value is refused with InvalidStringError', async () => {
      const g = keep(await group(make, 2, { collections: [USERS] }))
      const [a, b] = g.dbs
      await a!.create('Users', [{ _id: 'u1', handle: '\ufffd' }])
      // Was a false UniqueConstraintError: both strings are the same bytes in UTF-8.
      await expect(a!.create('Users', [{ _id: 'u2', handle: LONE }])).rejects.toMatchObject({ name: 'InvalidStringError' })
      await expect(a!.create('Users', [{ _id: LONE, handle: 'x' }])).rejects.toMatchObject({ name: 'InvalidStringError' })
      await expect(a!.create('Users', [{ _id: 'u3', bio: `a${LONE}b` }])).rejects.toMatchObject({ name: 'InvalidStringError' })
      await expect(a!.create('Users', [{ _id: 'u4', [`k${LONE}`]: 1 }])).rejects.toMatchObject({ name: 'InvalidStringError' })
      await expect(a!.save('Users', [{ _id: `u1${LONE}` }])).rejects.toMatchObject({ name: 'InvalidStringError' })
      await expect(a!.delete('Users', [`\udc00u1`])).rejects.toMatchObject({ name: 'InvalidStringError' })
      await expect(a!.findByID('Users', LONE)).rejects.toMatchObject({ name: 'InvalidStringError' })
      await expect(a!.find('Users', where('handle').eq(LONE))).rejects.toMatchObject({ name: 'InvalidStringError' })
      await expect(a!.newCollection({ name: 'Other', indexes: [{ path: `p${LONE}` }] })).rejects.toMatchObject({ name: 'InvalidStringError' })
      // A surrogate pair is a character like any other.
      await a!.create('Users', [{ _id: 'u5', handle: '\ud83d\ude00' }])
      expect((await a!.find('Users', where('handle').eq('\ud83d\ude00'))).map((d) => d._id)).toEqual(['u5'])
      // Remote events carrying one are rejected on every peer.
      const net = g.replicas[1]!.net
      await net.createRecord(g.id, body({ t: 'create', c: 'Users', id: 'r1', doc: { _id: 'r1', handle: LONE } }))
      await net.createRecord(g.id, body({ t: 'create', c: 'Users', id: LONE, doc: { _id: LONE } }))
      await g.settle()
      for (const db of g.dbs) {
        expect((await db.find('Users')).map((d) => d._id)).toEqual(['u1', 'u5'])
        expect((await db.conflicts()).map((c) => c.error.name)).toEqual(['InvalidStringError', 'InvalidStringError'])
      }
      expect(await b!.stateHash()).toBe(await a!.stateHash())
    })
  })
})

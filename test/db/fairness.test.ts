/**
 * Received records are applied in the background one chunk per turn of the DB's write lock, so
 * reads and local writes waiting for it go in between: a member who keeps sending events stamped
 * in the past (each one rewinds and replays everything after it) cannot keep them waiting. On
 * LevelDB, where a rewind yields to I/O and new records keep arriving while it runs.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { levelBackend } from '../store/backends.js'
import { body, closeAfterEach, createFakeWorld, forger, replica } from './helpers.js'

const BOARD = { name: 'Board', schema: { type: 'object', properties: { _id: { type: 'string' }, text: { type: 'string' } } } }
const backend = levelBackend()
afterAll(backend.cleanup)
const { keep } = closeAfterEach()

describe('applying received records', () => {
  it('late events arriving one after another do not keep reads and local writes waiting', async () => {
    const r = keep(await replica(createFakeWorld(), 'ann', { store: await backend.make() }))
    const db = await r.manager.newDB(undefined, { collections: [BOARD] })
    const base = Date.now()
    // Five hundred events a little ahead, then late ones that sort before all of them.
    const bulk = await forger(db.id)
    for (let i = 0; i < 500; i++) r.net.deliver(bulk.record(body({ t: 'create', c: 'Board', id: `b${i}`, doc: { _id: `b${i}`, text: 'bulk' } }), { wall: base + 5_000 + i, counter: 0 }))
    await db.sync()
    const late = await forger(db.id)
    let sent = 0
    const timer = setInterval(() => {
      r.net.deliver(late.record(body({ t: 'save', c: 'Board', id: 'b0', patch: { text: `late ${sent}` } }), { wall: base + 1 + sent, counter: 0 }))
      sent++
    }, 10)
    try {
      while (sent < 20) await new Promise((resolve) => setTimeout(resolve, 10))
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now()
        expect((await db.findByID('Board', 'b1')).text).toBe('bulk')
        await db.create('Board', [{ _id: `mine-${i}`, text: 'local' }])
        expect(Date.now() - t0).toBeLessThan(5_000)
      }
    } finally {
      clearInterval(timer)
    }
    await db.sync()
    expect((await db.findByID('Board', 'b0')).text).toBe(`late ${sent - 1}`)
  }, 60_000)
})

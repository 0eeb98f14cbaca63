/**
 * A writer faster than a connected peer takes pushes: it pushes at most a window of records at
 * once, and the peer pulls the rest in one stream once it is shown the writer's heads — instead
 * of one round trip per record. Real peers on TCP loopback.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { newThreadID } from '../../src/core/thread-id.js'
import { PUSH_WINDOW } from '../../src/net/scheduler.js'
import { collect, startPeer, stopAll } from './helpers.js'

afterEach(async () => { await stopAll() })

describe('a burst of records to a connected peer', () => {
  it('arrives whole and in order, most of it pulled in one stream rather than pushed record by record', async () => {
    const a = await startPeer()
    const b = await startPeer()
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    const sub = b.net.subscribe({ threads: [id] })
    const n = 600
    const got = collect(sub, n, 60_000)
    await Promise.all(Array.from({ length: n }, async (_, i) => await a.net.createRecord(id, { i })))
    const records = await got
    expect(records.map((r) => r.counter)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
    expect(new Set(records.map((r) => (r.body as { i: number }).i)).size).toBe(n)
    // B pulled records from A's stream: A served them (pushes are not counted as served).
    expect(a.net.stats().recordsServed).toBeGreaterThan(0)
    expect(PUSH_WINDOW).toBeLessThan(n)
    expect(a.net.stats().strikes + b.net.stats().strikes).toBe(0)
  })
})

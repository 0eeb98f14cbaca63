/**
 * Reading a log back from the peer's own store (`net.readLog`, what the DB catches up from): every
 * record, in order, opened — and, since only records that verified are ever stored, without a
 * second Ed25519 verification; a record that arrives from a peer is verified exactly once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { newThreadID } from '../../src/core/thread-id.js'
import { logIDToPublicKey } from '../../src/core/log-id.js'
import { collect, removeTempDirs, startPeer, stopAll, stopPeer, tempDir } from './helpers.js'

afterEach(async () => {
  vi.restoreAllMocks()
  await stopAll()
  await removeTempDirs()
})

/** Count Ed25519 verifications (every public key of the process shares one class). */
function countVerifications(log: string): { count: () => number } {
  const proto = Object.getPrototypeOf(logIDToPublicKey(log)) as { verify: (...args: unknown[]) => unknown }
  const spy = vi.spyOn(proto, 'verify')
  return { count: () => spy.mock.calls.length }
}

describe('reading a log back from the store', () => {
  it('yields every stored record in order, opened, from any counter, across a restart', async () => {
    const repo = await tempDir('weft-net-stored-')
    const a = await startPeer({ repo })
    const id = newThreadID()
    await a.net.createThread(id)
    for (let i = 1; i <= 150; i++) await a.net.createRecord(id, { i })
    const log = (await a.net.getThread(id)).logs[0]!.id
    await stopPeer(a)
    const again = await startPeer({ repo })
    const all = []
    for await (const r of again.net.readLog(id, log)) all.push(r)
    expect(all.map((r) => r.counter)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1))
    expect(all.map((r) => (r.body as { i: number }).i)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1))
    expect(all.every((r) => r.author !== undefined && r.time !== undefined)).toBe(true)
    const tail = []
    for await (const r of again.net.readLog(id, log, { after: 140 })) tail.push(r.counter)
    expect(tail).toEqual([141, 142, 143, 144, 145, 146, 147, 148, 149, 150])
  })

  it('verifies a received record once, when it arrives, and not when it is read back', async () => {
    const a = await startPeer()
    const b = await startPeer()
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    const verifications = countVerifications((await a.net.getThread(id)).logs[0]!.id)
    const incoming = collect(b.net.subscribe({ threads: [id] }), 20)
    for (let i = 0; i < 20; i++) await a.net.createRecord(id, { i })
    const received = await incoming
    const log = received[0]!.log
    const afterArrival = verifications.count()
    expect(afterArrival).toBeGreaterThanOrEqual(20)
    const read = []
    for await (const r of b.net.readLog(id, log)) read.push(r)
    expect(read.map((r) => (r.body as { i: number }).i)).toEqual(received.map((r) => (r.body as { i: number }).i))
    expect(verifications.count()).toBe(afterArrival)
  })

  it('refuses a log that is not part of the thread by name', async () => {
    const a = await startPeer()
    const id = newThreadID()
    await a.net.createThread(id)
    const read = async (): Promise<void> => { for await (const _ of a.net.readLog(id, 'bafkqaaa' as never)) { /* nothing */ } }
    await expect(read()).rejects.toMatchObject({ name: 'LogUnknownError' })
  })
})

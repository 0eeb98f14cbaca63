import { afterEach, describe, expect, it } from 'vitest'
import { newThreadID } from '../../src/core/thread-id.js'
import { startPeer, stopAll, counterOf } from './helpers.js'

afterEach(async () => { await stopAll() })

describe('catch-up', () => {
  it('resumes a 10,000-record catch-up interrupted halfway without re-fetching, ending with no duplicates and no gaps', async () => {
    const a = await startPeer()
    const id = newThreadID()
    const info = await a.net.createThread(id)
    const total = 10_000
    for (let i = 0; i < total; i++) await a.net.createRecord(id, { i })
    const b = await startPeer({ pullBatchSize: 500 })
    const stop = new AbortController()
    let seen = 0
    await expect(b.net.addThread(info.addrs[0]!, {
      threadKey: info.key,
      signal: stop.signal,
      onProgress: (p) => {
        seen = p.fetched
        expect(p.expected).toBe(total)
        if (p.fetched >= total / 2) stop.abort()
      }
    })).rejects.toMatchObject({ name: 'AbortError' })
    const atInterrupt = await counterOf(b, id)
    expect(atInterrupt).toBeGreaterThanOrEqual(total / 2)
    expect(atInterrupt).toBeLessThan(total)
    expect(atInterrupt).toBe(seen)
    const servedBefore = a.net.stats().recordsServed

    const progress: Array<{ fetched: number; expected: number }> = []
    await b.net.pullThread(id, { onProgress: (p) => progress.push({ fetched: p.fetched, expected: p.expected }) })
    expect(await counterOf(b, id)).toBe(total)
    // only what was missing was fetched the second time
    expect(progress.at(-1)).toEqual({ fetched: total - atInterrupt, expected: total - atInterrupt })
    expect(a.net.stats().recordsServed - servedBefore).toBe(total - atInterrupt)

    // the log holds 1..10000 in order, each once, each readable
    const writer = (await b.net.getThread(id)).logs.find((l) => l.head.counter === total)!
    let expected = 1
    const cids = new Set<string>()
    for await (const entry of b.logStore.readLog(id, writer.id)) {
      expect(entry.counter).toBe(expected)
      cids.add(entry.cid.toString())
      if (expected % 1000 === 0) {
        const rec = await b.net.getRecord(id, entry.cid)
        expect(rec.body).toEqual({ i: expected - 1 })
      }
      expected++
    }
    expect(expected - 1).toBe(total)
    expect(cids.size).toBe(total)
  }, 120_000)
})

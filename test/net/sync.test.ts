import { afterEach, describe, expect, it } from 'vitest'
import { newThreadID } from '../../src/core/thread-id.js'
import type { ThreadID } from '../../src/core/types.js'
import { collect, counterOf, startPeer, stopAll, stopPeer, tcpAddr, until } from './helpers.js'

afterEach(async () => { await stopAll() })

describe('net sync between real peers on loopback', () => {
  it('delivers records created on each of three peers to every other, through a relay, once each', async () => {
    const relay = await startPeer({ relayServer: true, replicator: true })
    const [a, b, c] = await Promise.all([startPeer(), startPeer(), startPeer()])
    const id = newThreadID()
    const info = await a!.net.createThread(id)
    await a!.net.addReplicator(id, tcpAddr(relay))
    const join = `${tcpAddr(relay)}/thread/${id}`
    await b!.net.addThread(join, { threadKey: info.key })
    await c!.net.addThread(join, { threadKey: info.key })
    // everyone learns everyone's logs through the relay (gossip), without being told
    await until(async () => {
      const counts = await Promise.all([a!, b!, c!].map(async (p) => (await p.net.getThread(id)).logs.length))
      return counts.every((n) => n === 3)
    }, 20_000, 'every peer to know the three logs')
    const subs = [a!, b!, c!].map((p) => p.net.subscribe({ threads: [id] }))
    const got = subs.map(async (s, i) => ({ i, r: await collect(s, 6, 20_000) }))
    for (const [n, p] of [a!, b!, c!].entries()) {
      await p.net.createRecord(id, { from: n, k: 1 })
      await p.net.createRecord(id, { from: n, k: 2 })
    }
    const results = await Promise.all(got)
    for (const { r } of results) {
      const keys = r.map((x) => x.cid.toString())
      expect(new Set(keys).size).toBe(keys.length) // once each
      expect(r.map((x) => `${(x.body as { from: number }).from}-${(x.body as { k: number }).k}`).sort())
        .toEqual(['0-1', '0-2', '1-1', '1-2', '2-1', '2-2'])
    }
    expect(results.every(({ r }) => r.some((x) => x.origin === 'local') && r.some((x) => x.origin === 'remote'))).toBe(true)
  })

  it('lets a peer that was offline catch up from the relay alone, with the writers stopped', async () => {
    const relay = await startPeer({ relayServer: true, replicator: true })
    const a = await startPeer()
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await a.net.addReplicator(id, tcpAddr(relay))
    for (let i = 0; i < 40; i++) await a.net.createRecord(id, { i })
    await until(async () => (await counterOf(relay, id)) === 40, 20_000, 'the relay to hold 40 records')
    await stopPeer(a)
    const late = await startPeer()
    const progress: number[] = []
    await late.net.addThread(`${tcpAddr(relay)}/thread/${id}`, { threadKey: info.key, onProgress: (p) => progress.push(p.fetched) })
    expect(await counterOf(late, id)).toBe(40)
    expect(progress.at(-1)).toBe(40)
    const bodies: number[] = []
    const thread = await late.net.getThread(id)
    const writer = thread.logs.find((l) => l.head.counter === 40)!
    for await (const entry of late.logStore.readLog(id, writer.id)) {
      const rec = await late.net.getRecord(id, entry.cid)
      bodies.push((rec.body as { i: number }).i)
    }
    expect(bodies).toEqual(Array.from({ length: 40 }, (_, i) => i))
  })

  it('the replicator stores and serves records but cannot read them', async () => {
    const relay = await startPeer({ relayServer: true, replicator: true })
    const a = await startPeer()
    const id = newThreadID()
    await a.net.createThread(id)
    await a.net.addReplicator(id, tcpAddr(relay))
    const rec = await a.net.createRecord(id, { secret: 'never-on-the-relay' })
    await until(async () => (await counterOf(relay, id)) === 1, 10_000, 'the relay to store the record')
    const onRelay = await relay.net.getThread(id)
    expect(onRelay.readable).toBe(false)
    const stored = await relay.net.getRecord(id, rec.cid)
    expect(stored.body).toBeUndefined()
    await expect(relay.net.createRecord(id, { x: 1 })).rejects.toMatchObject({ name: 'ReadOnlyThreadError' })
  })

  it('exchanges heads on the interval and pulls only when they differ', async () => {
    const a = await startPeer({ syncIntervalMs: 100 })
    const b = await startPeer({ syncIntervalMs: 100 })
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    // write on A while B is not told (push fails silently when B's handler is gone) …
    await b.net.stop()
    await a.net.createRecord(id, { n: 1 })
    await a.net.createRecord(id, { n: 2 })
    await b.net.start()
    // … B's interval heads exchange finds the difference and pulls
    await until(async () => (await counterOf(b, id)) === 2, 10_000, 'B to catch up by interval')
    const served = a.net.stats().recordsServed
    const answered = a.net.stats().headsAnswered
    // equal heads: further interval exchanges happen and move no records
    await until(() => a.net.stats().headsAnswered >= answered + 3, 10_000, 'three more heads exchanges')
    expect(a.net.stats().recordsServed).toBe(served)
  })

  it('reports sync status: peers, how they are connected, pending pushes and the last error', async () => {
    const a = await startPeer()
    const b = await startPeer()
    const id: ThreadID = newThreadID()
    const info = await a.net.createThread(id)
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    await b.net.createRecord(id, { hi: 1 })
    const status = await a.net.syncStatus(id)
    expect(status.peers).toEqual([{ peer: b.peerId, connected: true, via: 'direct', strikes: 0, failures: 0, holds: 0 }])
    await until(async () => (await b.net.syncStatus(id)).pendingPush === 0, 10_000, 'the push to be acknowledged')
  })

  it('counts a record as pending until a peer holds it, also when the peer pulls it instead of taking the push', async () => {
    const a = await startPeer()
    const b = await startPeer({ syncIntervalMs: 100 })
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    await b.net.stop()
    await a.net.createRecord(id, { n: 1 })
    await until(async () => (await a.net.syncStatus(id)).lastError != null || (await a.net.syncStatus(id)).pendingPush === 1, 10_000, 'the push to fail')
    expect((await a.net.syncStatus(id)).pendingPush).toBe(1)
    await b.net.start()
    await until(async () => (await counterOf(b, id)) === 1, 10_000, 'B to pull the record')
    await until(async () => (await a.net.syncStatus(id)).pendingPush === 0, 10_000, 'the pending count to clear')
  })
})

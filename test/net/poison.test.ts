/**
 * Poison-proof sync (docs/PROTOCOL.md, "Unreadable records"): a member seals records whose service
 * layer verifies but whose header no reader can decrypt, and hands them to the relay running as a
 * real process. The relay stores and serves them, honest readers store, serve and report them
 * (`error` instead of `time` and `body`), nobody's pull stops at them and nobody is struck.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { newThreadID } from '../../src/core/thread-id.js'
import { parseThreadKey, type ReadableThreadKey } from '../../src/core/thread-key.js'
import type { ThreadID } from '../../src/core/types.js'
import type { NetRecord } from '../../src/net/types.js'
import type { Peer } from '../../src/node/peer.js'
import { cleanupRelays, metricValue, scrape, startRelayProcess } from '../relay/harness.js'
import { forger } from './forge.js'
import { collect, startPeer, stopAll, stopPeer } from './helpers.js'

afterEach(async () => {
  await stopAll()
  await cleanupRelays()
})

function recordsOf(peer: Peer, id: ThreadID, signal: AbortSignal): AsyncIterable<NetRecord> {
  return peer.net.subscribe({ threads: [id], signal })
}

describe('records readers cannot open', () => {
  it('a record readers cannot decrypt is stored, served and reported without aborting the pull', async () => {
    const relay = await startRelayProcess()
    const writer = await startPeer()
    const id = newThreadID()
    const info = await writer.net.createThread(id)
    const key = parseThreadKey(info.key) as ReadableThreadKey
    for (let i = 0; i < 3; i++) await writer.net.createRecord(id, { honest: i })
    await writer.net.addReplicator(id, relay.tcpAddr)

    // A member hands the relay its log: a readable record, two poisoned ones, a readable one.
    const m = await forger(id, key)
    const [good1] = await m.chain('good', 1)
    const bad2 = await m.poison(good1!.record.cid)
    const bad3 = await m.poison(bad2.record.cid)
    const [good4] = await m.chain('good', 1, bad3.record.cid, 4)
    const e = await startPeer()
    const answers = await m.push(e, { peerId: relay.peerId, addr: relay.tcpAddr }, [good1!, bad2, bad3, good4!], 1)
    expect(answers).toEqual([
      expect.objectContaining({ type: 'ok' }), expect.objectContaining({ type: 'ok' }), expect.objectContaining({ type: 'ok' }),
      expect.objectContaining({ type: 'ok' }), expect.objectContaining({ type: 'ok' })
    ])

    // A newcomer joins from the relay alone and pulls everything, poison included.
    const newcomer = await startPeer()
    const stop = new AbortController()
    const seen = collect(recordsOf(newcomer, id, stop.signal), 7, 20_000)
    await newcomer.net.addThread(`${relay.tcpAddr}/thread/${id}`, { threadKey: info.key })
    const got = await seen
    stop.abort()
    const ofM = got.filter((r) => r.log === m.log).sort((a, b) => a.counter - b.counter)
    expect(ofM.map((r) => r.counter)).toEqual([1, 2, 3, 4])
    expect(ofM[0]).toMatchObject({ body: { label: 'good', n: 1 } })
    for (const r of [ofM[1]!, ofM[2]!]) {
      expect(r.error?.name).toBe('DecryptionError')
      expect(r.time).toBeUndefined()
      expect(r.body).toBeUndefined()
      expect(r.author).toBeDefined()
    }
    expect(ofM[3]).toMatchObject({ body: { label: 'good', n: 4 } })
    expect(got.filter((r) => r.log !== m.log).map((r) => (r.body as { honest: number }).honest).sort()).toEqual([0, 1, 2])
    // Read back from the store, a poisoned record is reported the same way.
    expect(await newcomer.net.getRecord(id, bad2.record.cid)).toMatchObject({ counter: 2, error: { name: 'DecryptionError' } })

    // The newcomer serves it in turn: a third peer pulls the whole log from it, the relay gone.
    await relay.stop()
    const third = await startPeer()
    await third.net.addThread((await newcomer.net.getThread(id)).addrs[0]!, { threadKey: info.key })
    const log = (await third.net.getThread(id)).logs.find((l) => l.id === m.log)
    expect(log?.head.counter).toBe(4)
    expect((await third.net.getRecord(id, bad3.record.cid)).error?.name).toBe('DecryptionError')

    // Nobody was struck for passing the records on.
    for (const p of [writer, newcomer, third]) expect(p.net.stats()).toMatchObject({ strikes: 0, bans: 0, rejected: 0 })
  }, 60_000)

  it('the relay counts no strike and keeps serving honest records after poison', async () => {
    const relay = await startRelayProcess()
    const writer = await startPeer()
    const id = newThreadID()
    const info = await writer.net.createThread(id)
    const key = parseThreadKey(info.key) as ReadableThreadKey
    await writer.net.addReplicator(id, relay.tcpAddr)
    const m = await forger(id, key)
    const e = await startPeer()
    await m.push(e, { peerId: relay.peerId, addr: relay.tcpAddr }, [await m.poison()], 1)
    await stopPeer(e)
    await writer.net.createRecord(id, { after: 'poison' })
    // The record reaches the relay by a push that createRecord does not wait for: wait for it.
    await writer.net.addReplicator(id, relay.tcpAddr)
    const late = await startPeer()
    await late.net.addThread(`${relay.tcpAddr}/thread/${id}`, { threadKey: info.key })
    const logs = (await late.net.getThread(id)).logs
    expect(logs.find((l) => l.id === m.log)?.head.counter).toBe(1)
    expect(logs.reduce((n, l) => n + l.head.counter, 0)).toBe(2)
    const text = await scrape(relay)
    expect(metricValue(text, 'weft_relay_strikes_total')).toBe(0)
    expect(metricValue(text, 'weft_relay_rejected_total')).toBe(0)
  }, 60_000)
})

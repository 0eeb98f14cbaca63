/**
 * Logs of ours per identity (`net.addLog`, `createRecord(…, { log })`): a log keyed with a key of
 * its own, writing as another identity through that identity's certificate, on real TCP peers and
 * a replicator; kept across a restart on LevelDB.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createAuthorCertificate } from '../../src/core/author.js'
import { generateKeyPair, identityToString, privateKeyToBytes, publicKeyToBytes } from '../../src/core/identity.js'
import { logIDFromPublicKey } from '../../src/core/log-id.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { collect, counterOf, removeTempDirs, startPeer, stopAll, stopPeer, tcpAddr, tempDir, until } from './helpers.js'

afterEach(async () => {
  await stopAll()
  await removeTempDirs()
})

describe('logs of ours per identity', () => {
  it('a log added for an identity writes as that identity on every peer, the replicator checking it, and keeps doing so after a restart', async () => {
    const repo = await tempDir('weft-net-own-logs-')
    const relay = await startPeer({ replicator: true })
    let a = await startPeer({ repo })
    const b = await startPeer()
    const id = newThreadID()
    const info = await a.net.createThread(id)
    await a.net.addReplicator(id, tcpAddr(relay))
    await b.net.addThread(info.addrs[0]!, { threadKey: info.key })
    const alice = await generateKeyPair()
    const logKey = await generateKeyPair()
    const log = logIDFromPublicKey(logKey.publicKey)
    const certificate = await createAuthorCertificate(alice, logKey.publicKey)
    const added = await a.net.addLog(id, { logKey: privateKeyToBytes(logKey), author: identityToString(alice.publicKey), certificate })
    expect(added).toMatchObject({ id: log, managed: true, author: identityToString(alice.publicKey), head: { counter: 0 } })
    // Adding it again finds it.
    expect((await a.net.addLog(id, { logKey: privateKeyToBytes(logKey), author: publicKeyToBytes(alice.publicKey), certificate })).id).toBe(log)

    const stop = new AbortController()
    const atB = collect(b.net.subscribe({ threads: [id], signal: stop.signal }), 2)
    const mine = await a.net.createRecord(id, { by: 'alice' }, { log })
    const first = await a.net.createRecord(id, { by: 'the peer' })
    expect(mine).toMatchObject({ log, author: identityToString(alice.publicKey) })
    expect(first.log).not.toBe(log)
    const got = await atB
    stop.abort()
    expect(got.find((r) => r.log === log)).toMatchObject({ author: identityToString(alice.publicKey), body: { by: 'alice' } })
    await until(async () => (await counterOf(relay, id)) === 2, 10_000, 'the replicator to take both records')
    expect(relay.net.stats().strikes).toBe(0)

    // After a restart the log still writes as Alice.
    await stopPeer(a)
    a = await startPeer({ repo })
    const again = await a.net.createRecord(id, { by: 'alice again' }, { log })
    expect(again).toMatchObject({ counter: 2, author: identityToString(alice.publicKey) })
    expect((await a.net.getThread(id)).logs.find((l) => l.id === log)?.author).toBe(identityToString(alice.publicKey))
  })

  it('refuses an author without a valid certificate with UnprovenAuthorError, and a write to a log not ours with ReadOnlyThreadError', async () => {
    const a = await startPeer()
    const id = newThreadID()
    await a.net.createThread(id)
    const alice = await generateKeyPair()
    const bob = await generateKeyPair()
    const logKey = await generateKeyPair()
    await expect(a.net.addLog(id, { logKey: privateKeyToBytes(logKey), author: publicKeyToBytes(alice.publicKey) })).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    const bobs = await createAuthorCertificate(bob, logKey.publicKey)
    await expect(a.net.addLog(id, { logKey: privateKeyToBytes(logKey), author: publicKeyToBytes(alice.publicKey), certificate: bobs })).rejects.toMatchObject({ name: 'UnprovenAuthorError' })
    expect((await a.net.getThread(id)).logs).toHaveLength(1)
    await expect(a.net.createRecord(id, {}, { log: logIDFromPublicKey(logKey.publicKey) })).rejects.toMatchObject({ name: 'ReadOnlyThreadError' })
  })
})

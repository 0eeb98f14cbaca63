/**
 * The thread registry on a real log store (memory): threads held per (thread ID, key ID), so a
 * replicator handed one thread ID under two keys holds two threads, finds each by its key ID, and
 * finds them again after a restart.
 */
import { describe, expect, it } from 'vitest'
import { logger } from '../../src/core/logger.js'
import { newThreadID, threadIDToBytes } from '../../src/core/thread-id.js'
import { newThreadKey } from '../../src/core/thread-key.js'
import { keyID } from '../../src/net/auth.js'
import { createThreadRegistry } from '../../src/net/registry.js'
import { generateKeyPair, publicKeyToBytes } from '../../src/core/identity.js'
import { logIDFromPublicKey, logIDToBytes } from '../../src/core/log-id.js'
import type { LogStore } from '../../src/store/index.js'
import { signAddrs } from '../../src/net/log-addrs.js'
import { createLogStore } from '../../src/store/logstore.js'
import { memoryStore } from '../../src/store/memory.js'

describe('the thread registry', () => {
  it('holds one thread ID under two keys as two threads, each found by its key ID, across a restart', async () => {
    const kv = memoryStore()
    const open = async (): Promise<ReturnType<typeof createThreadRegistry>> =>
      createThreadRegistry({ store: await createLogStore(kv), self: 'me', onAddrs: () => {}, log: logger('weft:test:registry') })
    const registry = await open()
    const id = newThreadID()
    const [first, second] = [newThreadKey(), newThreadKey()]
    let asked = 0
    const admit = async (): Promise<void> => { asked++ }
    const a = await registry.adopt(id, first.service, admit)
    const b = await registry.adopt(id, second.service, admit)
    // the same hand-over again adopts nothing new and asks no policy
    expect(await registry.adopt(id, first.service, admit)).toBe(a)
    expect(asked).toBe(2)
    expect(a.storeId).toBe(id)
    expect(b.storeId).not.toBe(id)
    expect([a.id, b.id]).toEqual([id, id])
    const bytes = threadIDToBytes(id)
    expect((await registry.find(bytes, keyID(first.service)))?.storeId).toBe(a.storeId)
    expect((await registry.find(bytes, keyID(second.service)))?.storeId).toBe(b.storeId)
    expect(await registry.find(bytes, keyID(newThreadKey().service))).toBeUndefined()
    expect(await registry.find(threadIDToBytes(newThreadID()), keyID(first.service))).toBeUndefined()
    // the thread ID alone names the first
    expect((await registry.get(id)).kid).toEqual(keyID(first.service))
    const again = await open()
    expect((await again.find(bytes, keyID(second.service)))?.key.service).toEqual(second.service)
    expect((await again.list()).map((t) => t.id)).toEqual([id, id])
    await kv.close()
  })

  it('refuses a hand-over when the policy throws, and holds nothing for it', async () => {
    const kv = memoryStore()
    const registry = createThreadRegistry({ store: await createLogStore(kv), self: 'me', onAddrs: () => {}, log: logger('weft:test:registry') })
    const id = newThreadID()
    await expect(registry.adopt(id, newThreadKey().service, async () => { throw new Error('no') })).rejects.toThrow('no')
    expect(await registry.list()).toEqual([])
    await expect(registry.get(id)).rejects.toMatchObject({ name: 'ThreadUnknownError' })
    await kv.close()
  })

  it('learns a new log without listing the thread\'s logs again, and names its peers as a fresh start would', async () => {
    const kv = memoryStore()
    const store = await createLogStore(kv)
    let listed = 0
    const counting = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'listLogs') listed++
        return Reflect.get(target, prop, receiver) as unknown
      }
    }) as LogStore
    const open = (s: LogStore): ReturnType<typeof createThreadRegistry> =>
      createThreadRegistry({ store: s, self: 'me', onAddrs: () => {}, log: logger('weft:test:registry') })
    const registry = open(counting)
    const id = newThreadID()
    const state = await registry.create(id, newThreadKey())
    await registry.peers(state)
    listed = 0
    // Announcements of 40 new logs, each naming a peer (two name the same one), as a member makes them.
    for (let i = 0; i < 40; i++) {
      const key = await generateKeyPair()
      const log = logIDToBytes(logIDFromPublicKey(key.publicKey))
      const peer = logIDFromPublicKey((await generateKeyPair()).publicKey)
      const addrs = [`/ip4/127.0.0.1/tcp/${4000 + (i % 39)}/p2p/${i === 39 ? 'me' : peer}`]
      const signed = await signAddrs(key, state.idBytes, log, 1, addrs)
      const learnt = await registry.learnLog(state, { id: log, pubKey: publicKeyToBytes(key.publicKey), addrs, addrSeq: signed.seq, addrSig: signed.sig, counter: 0 })
      expect(learnt).toEqual({ added: true, addrs: true })
      await registry.peers(state)
    }
    expect(listed).toBe(0)
    // What it names is what a registry started afresh on the same store names.
    const fresh = await open(store).get(id)
    expect([...(await registry.peers(state)).entries()].sort()).toEqual([...(await open(store).peers(fresh)).entries()].sort())
    expect((await registry.peers(state)).size).toBe(39)
    await kv.close()
  })
})

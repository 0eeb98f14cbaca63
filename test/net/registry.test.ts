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
})

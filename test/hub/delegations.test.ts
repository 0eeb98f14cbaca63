/**
 * The delegations the hub keeps (hub/delegations.ts) on LevelDB: they survive a reopen, stay
 * within their bound (the oldest dropped first, the hub's own never), refuse a newer format by
 * name, and skip an entry that does not decode.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createAuthorCertificate, verifyAuthorCertificate } from '../../src/core/author.js'
import { generateKeyPair, identityToString, parseIdentity } from '../../src/core/identity.js'
import { encodeTuple, encodeUint64 } from '../../src/store/index.js'
import { levelStore } from '../../src/store/level.js'
import { HUB_STORE_VERSION, openDelegations, type Delegation } from '../../hub/delegations.js'
import { cleanupHubs, tempDir } from './harness.js'

afterAll(async () => { await cleanupHubs() })

async function delegation(at: number): Promise<Delegation> {
  const who = await generateKeyPair()
  const logKey = await generateKeyPair()
  return { identity: identityToString(who.publicKey), logKey, certificate: await createAuthorCertificate(who, logKey.publicKey), at }
}

describe('the hub\'s delegations', () => {
  it('survive a reopen with their keys and certificates, and keep at most the bound, dropping the oldest but never the pinned one', async () => {
    const path = await tempDir()
    let kv = await levelStore({ path })
    const [hub, a, b, c] = await Promise.all([delegation(1), delegation(2), delegation(3), delegation(4)])
    let store = await openDelegations({ kv, max: 2, pinned: hub.identity })
    for (const d of [hub, a, b]) await store.put(d)
    expect(store.size).toBe(3)
    await kv.close()

    kv = await levelStore({ path })
    store = await openDelegations({ kv, max: 2, pinned: hub.identity })
    const back = store.get(a.identity)!
    expect(back.logKey.publicKey.equals(a.logKey.publicKey)).toBe(true)
    await verifyAuthorCertificate(parseIdentity(a.identity), back.logKey.publicKey, back.certificate)
    expect(back.at).toBe(2)
    // A third identity drops the oldest (a), not the pinned hub's.
    await store.put(c)
    expect(store.get(a.identity)).toBeUndefined()
    expect(store.get(hub.identity)).toBeDefined()
    expect([b, c].every((d) => store.get(d.identity) !== undefined)).toBe(true)
    await kv.close()

    // A lower bound on reopen drops the oldest there too.
    kv = await levelStore({ path })
    store = await openDelegations({ kv, max: 1, pinned: hub.identity })
    expect(store.size).toBe(2)
    expect(store.get(c.identity)).toBeDefined()
    await kv.close()
  })

  it('refuse a repository of a newer format with UnsupportedStoreFormatError and skip an entry that does not decode', async () => {
    const kv = await levelStore({ path: await tempDir() })
    const good = await delegation(1)
    const store = await openDelegations({ kv })
    await store.put(good)
    await kv.put(encodeTuple(['weft-hub', 'd', 'bbaareibroken']), new Uint8Array([1, 2, 3]))
    const again = await openDelegations({ kv })
    expect(again.size).toBe(1)
    expect(again.get(good.identity)).toBeDefined()
    await kv.put(encodeTuple(['weft-hub', 'v']), encodeUint64(HUB_STORE_VERSION + 1))
    await expect(openDelegations({ kv })).rejects.toMatchObject({ name: 'UnsupportedStoreFormatError' })
    await kv.close()
  })
})

/**
 * Tokens on the hub: GetToken proves an identity, a token from another issuer or with a forged
 * signature is Unauthenticated on every transport, a missing token is accepted unless the hub
 * requires one, and the token's identity is the `reader` of read filters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Code } from '@connectrpc/connect'
import { verifyAuthorCertificate } from '../../src/core/author.js'
import { UnprovenAuthorError } from '../../src/core/errors.js'
import { generateKeyPair, identityToString } from '../../src/core/identity.js'
import { newThreadID, threadIDToBytes } from '../../src/core/thread-id.js'
import type { Hub } from '../../hub/hub.js'
import { bearer, cleanupHubs, clientsFor, dec, enc, getToken, rejection, startTestHub, TRANSPORTS, type Clients } from './harness.js'



let hub: Hub
let other: Hub
let strict: Hub

beforeAll(async () => {
  ;[hub, other, strict] = await Promise.all([startTestHub(), startTestHub(), startTestHub({ WEFT_HUB_REQUIRE_TOKEN: 'true' })])
})
afterAll(async () => { await cleanupHubs() })

describe('GetToken', () => {
  it('refuses a signature made by another key with Unauthenticated', async () => {
    const c = clientsFor('grpc', hub)
    const claimed = await generateKeyPair()
    const forger = await generateKeyPair()
    async function * requests(sig: Promise<Uint8Array>) {
      yield { payload: { case: 'key' as const, value: identityToString(claimed.publicKey) } }
      yield { payload: { case: 'signature' as const, value: await sig } }
    }
    let answer: (s: Uint8Array) => void = () => undefined
    const sig = new Promise<Uint8Array>((r) => { answer = r })
    const err = await rejection((async () => {
      for await (const reply of c.db.getToken(requests(sig))) {
        if (reply.payload.case === 'challenge') answer(await forger.sign(reply.payload.value))
      }
    })())
    expect(err.code).toBe(Code.Unauthenticated)
    expect(err.rawMessage).toMatch(/signature does not verify/)
  })

  it('asks for the key first and for a signature second', async () => {
    const c = clientsFor('grpc', hub)
    const noKey = await rejection((async () => { for await (const _ of c.db.getToken((async function * () { yield { payload: { case: 'signature' as const, value: new Uint8Array(64) } } })())) { /* none */ } })())
    expect(noKey.code).toBe(Code.InvalidArgument)
    expect(noKey.rawMessage).toBe('Key is required')
    const badKey = await rejection((async () => { for await (const _ of c.db.getToken((async function * () { yield { payload: { case: 'key' as const, value: 'not an identity' } } })())) { /* none */ } })())
    expect(badKey.code).toBe(Code.InvalidArgument)
  })

  it('ends a challenge the client does not answer within the idle timeout', async () => {
    const quick = await startTestHub({ WEFT_HUB_IDLE_TIMEOUT_MS: '1000' })
    const c = clientsFor('websocket', quick)
    const key = await generateKeyPair()
    const err = await rejection((async () => {
      for await (const _ of c.db.getToken((async function * () {
        yield { payload: { case: 'key' as const, value: identityToString(key.publicKey) } }
        await new Promise((r) => setTimeout(r, 5000))
      })())) { /* the challenge */ }
    })())
    expect(err.code).toBe(Code.DeadlineExceeded)
  })
})

describe.each(TRANSPORTS)('calls over %s', (transport) => {
  let c: Clients

  beforeAll(() => { c = clientsFor(transport, hub) })

  it('refuse a token issued by another hub with Unauthenticated', async () => {
    const { token } = await getToken(clientsFor('grpc', other).db)
    const err = await rejection(c.db.listDBs({}, bearer(token)))
    expect(err.code).toBe(Code.Unauthenticated)
    expect(err.rawMessage).toMatch(/not trusted here/)
  })

  it('refuse a token whose signature was tampered with', async () => {
    const { token } = await getToken(clientsFor('grpc', hub).db)
    const [claims, sig] = token.split('.') as [string, string]
    const flipped = `${claims}.${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`
    expect((await rejection(c.db.listDBs({}, bearer(flipped)))).code).toBe(Code.Unauthenticated)
    expect((await rejection(c.net.getHostID({}, bearer('garbage')))).code).toBe(Code.Unauthenticated)
    expect((await rejection(c.db.listDBs({}, { headers: { authorization: 'basic abc' } }))).code).toBe(Code.Unauthenticated)
  })

  it('accept a call without a token unless the hub requires one', async () => {
    await c.db.listDBs({})
    const s = clientsFor(transport, strict)
    const err = await rejection(s.db.listDBs({}))
    expect(err.code).toBe(Code.Unauthenticated)
    expect(err.rawMessage).toMatch(/token is required/)
    const { token } = await getToken(clientsFor('grpc', strict).db)
    await s.db.listDBs({}, bearer(token))
  })
})

describe('the token identity', () => {
  it('is the reader of read filters', async () => {
    const c = clientsFor('grpc', hub)
    const alice = await getToken(c.db)
    const bob = await getToken(c.db)
    const dbID = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID, collections: [{ name: 'Mail', readFilter: 'return instance.to === reader ? instance : null' }] }, bearer(alice.token))
    await c.db.create({ dbID, collectionName: 'Mail', instances: [enc({ _id: 'm1', to: alice.identity }), enc({ _id: 'm2', to: bob.identity })] }, bearer(alice.token))
    const forAlice = (await c.db.find({ dbID, collectionName: 'Mail' }, bearer(alice.token))).instances.map((b) => dec(b)._id)
    const forBob = (await c.db.find({ dbID, collectionName: 'Mail' }, bearer(bob.token))).instances.map((b) => dec(b)._id)
    expect(forAlice).toEqual(['m1'])
    expect(forBob).toEqual(['m2'])
    expect((await rejection(c.db.findByID({ dbID, collectionName: 'Mail', instanceID: 'm1' }, bearer(bob.token)))).code).toBe(Code.NotFound)
    expect((await c.db.has({ dbID, collectionName: 'Mail', instanceIDs: ['m1'] }, bearer(bob.token))).exists).toBe(false)
  })

  it('signs an author certificate for a log key the hub holds: its GetToken answer', async () => {
    const c = clientsFor('grpc', hub)
    const { identity, key } = await getToken(c.db)
    const d = hub.auth.delegation(identity)
    expect(d?.identity).toBe(identity)
    await verifyAuthorCertificate(key.publicKey, d!.logKey.publicKey, d!.certificate)
    const stranger = await generateKeyPair()
    await expect(verifyAuthorCertificate(stranger.publicKey, d!.logKey.publicKey, d!.certificate)).rejects.toThrow(UnprovenAuthorError)
  })
})

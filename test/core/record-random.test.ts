/**
 * The randomness of records sealed without an injected source: the body key and the three nonces
 * come from CSPRNG bytes drawn ahead for several records (src/core/record.ts); every record still
 * gets its own, across draws.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { generateKeyPair, newThreadKey, openRecord, sealRecord, toHex } from '../../src/core/index.js'

/** The nonce of an encrypted node: the first 12 bytes of its byte string. */
const nonceOf = (bytes: Uint8Array): string => toHex(dagCbor.decode<Uint8Array>(bytes).subarray(0, 12))

describe('record randomness', () => {
  it('gives every record its own nonces and body key, across many draws of the CSPRNG', async () => {
    const threadKey = newThreadKey()
    const logKey = await generateKeyPair()
    const nonces = new Set<string>()
    const bodyKeys = new Set<string>()
    const n = 200
    let prev: CID | null = null
    for (let i = 0; i < n; i++) {
      const r = await sealRecord({ body: { i }, threadKey, logKey, prev, time: { wall: 1_000 + i, counter: 0 } })
      for (const b of [r.record, r.header, r.body]) nonces.add(nonceOf(b.bytes))
      const opened = await openRecord(r, { serviceKey: threadKey.service, readKey: threadKey.read, logPublicKey: logKey.publicKey })
      expect(opened.event?.body).toEqual({ i })
      bodyKeys.add(toHex(opened.event!.header.key))
      prev = r.record.cid
    }
    expect(nonces.size).toBe(3 * n)
    expect(bodyKeys.size).toBe(n)
    expect([...bodyKeys].some((k) => /^0+$/.test(k))).toBe(false)
  })
})

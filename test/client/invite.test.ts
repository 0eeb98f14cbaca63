/**
 * Invites: the compact form (`weft2.`) is what toInvite makes, byte for byte as the committed
 * vectors say; it and the first form (`weft1.`) decode to the same invite; malformed invites of
 * either form fail with InvalidInviteError, bounded.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fromInvite, toInvite, toInviteV1, MAX_INVITE_LENGTH, type Invite } from '../../src/client/invite.js'
import { toBase64url } from '../../src/core/base64url.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { vectors } from '../vectors/generate-invite.js'
import { base32 } from 'multiformats/bases/base32'
import { base58btc } from 'multiformats/bases/base58'
import { base32Bytes, base32Text, base58Bytes, base58Text } from '../../src/client/invite-bases.js'

interface Vector { what: string; invite: Invite; weft2: string; weft1: string }
const committed = JSON.parse(readFileSync(new URL('../vectors/invite-v2.json', import.meta.url), 'utf8')) as { vectors: Vector[] }

describe('invites', () => {
  it('match the committed vectors', () => {
    expect(vectors()).toEqual(committed)
  })

  it.each(committed.vectors.map((v) => [v.what, v] as const))('decode the same in both forms: %s', (_what, v) => {
    expect(toInvite({ id: v.invite.thread, key: v.invite.key, addrs: v.invite.addrs, ...(v.invite.name !== undefined ? { name: v.invite.name } : {}) })).toBe(v.weft2)
    expect(fromInvite(v.weft2)).toEqual(v.invite)
    expect(fromInvite(v.weft1)).toEqual(v.invite)
    expect(v.weft2.length).toBeLessThan(v.weft1.length)
  })

  it('encode base32 and base58btc as multiformats does, and read back only canonical text', () => {
    for (let n = 0; n < 200; n++) {
      const bytes = Uint8Array.from({ length: n % 70 }, (_, i) => (i === 0 && n % 3 === 0) ? 0 : (n * 31 + i * 17) & 0xff)
      expect(base32Text(bytes)).toBe(base32.encode(bytes))
      expect(base58Text(bytes)).toBe(base58btc.baseEncode(bytes))
      expect(base32Bytes(base32Text(bytes))).toEqual(bytes)
      expect(base58Bytes(base58Text(bytes))).toEqual(bytes)
    }
    expect(base32Bytes('bafkO')).toBeUndefined()
    expect(base32Bytes('zabc')).toBeUndefined()
    expect(base32Bytes('bb')).toBeUndefined() // trailing bits set: not canonical
    expect(base58Bytes('12D3KooWl')).toBeUndefined()
  })

  it('make the first form when a value is not canonical base32', () => {
    const invite = toInvite({ id: newThreadID(), key: 'zNotBase32Key', addrs: [] })
    expect(invite.startsWith('weft1.')).toBe(true)
    expect(fromInvite(invite).key).toBe('zNotBase32Key')
  })

  it('refuse malformed compact invites by name', () => {
    const good = committed.vectors[0]!.weft2
    const bytes = Buffer.from(good.slice(6), 'base64url')
    const bad = (b: Uint8Array): string => `weft2.${toBase64url(b)}`
    for (const invite of [
      'weft3.AAAA', 'weft2.!!!', bad(bytes.subarray(0, bytes.length - 3)), bad(Buffer.concat([bytes, Buffer.from([0])])),
      bad(Uint8Array.from([0, 0, 0, 0])), bad(Uint8Array.from([1, 1, 1, 1, 0, 1, 2, 9, 1, 1])), bad(Uint8Array.from([1, 1, 1, 1, 0, 1, 7])),
      bad(Uint8Array.from([1, 1, 1, 1, 0, 65])), `weft2.${'A'.repeat(MAX_INVITE_LENGTH)}`
    ]) {
      expect(() => fromInvite(invite), invite.slice(0, 40)).toThrow(expect.objectContaining({ name: 'InvalidInviteError' }))
    }
  })

  it('still read the first form, and refuse it malformed', () => {
    const first = toInviteV1({ thread: 'bafk', key: 'bkey', addrs: ['/a'] })
    expect(fromInvite(first)).toEqual({ thread: 'bafk', key: 'bkey', addrs: ['/a'] })
    expect(() => fromInvite(`weft1.${toBase64url(new TextEncoder().encode('{"v":1,"thread":1}'))}`)).toThrow(expect.objectContaining({ name: 'InvalidInviteError' }))
  })
})

/**
 * Identity tokens (docs/SECURITY.md G9): a token verifies only where its issuer is trusted, and only
 * in its one canonical encoding.
 */
import { describe, it, expect, beforeAll } from 'vitest'
import * as ed from '@noble/ed25519'
import {
  DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS, TOKEN_CHALLENGE_DOMAIN, TOKEN_SIGNATURE_DOMAIN, concatBytes, createTokenIssuer,
  generateKeyPair, logIDFromPublicKey, parseAuthorCertificatePayload, toBase64url, verifyAuthorCertificate, verifyToken
} from '../../src/core/index.js'
import type { PrivateKey, TokenIssuer } from '../../src/core/index.js'
import { TOKEN_CHALLENGE_PREFIX } from '../../src/client/protocol.js'
import { createTokenIssuer as createWorkerTokenIssuer } from '../../worker/token.js'

const T = 1_750_000_000_000
let peerKey: PrivateKey
let otherPeerKey: PrivateKey
let me: PrivateKey
let issuer: TokenIssuer
let clock = T

beforeAll(async () => {
  ;[peerKey, otherPeerKey, me] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()])
  issuer = createTokenIssuer({ identity: peerKey, now: () => clock })
})

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A token with arbitrary claims text, signed by `key` as an issuer signs. */
async function handMade(key: PrivateKey, claimsText: string): Promise<string> {
  const payload = utf8(claimsText)
  const sig = await key.sign(concatBytes([TOKEN_SIGNATURE_DOMAIN, payload]))
  return `${toBase64url(payload)}.${toBase64url(sig)}`
}

async function answer(who: PrivateKey, challenge: Uint8Array): Promise<Uint8Array> {
  return await who.sign(concatBytes([TOKEN_CHALLENGE_DOMAIN, challenge]))
}

describe('identity tokens', () => {
  it('names the identity that answered the challenge, and verifies on its issuer', async () => {
    const id = me.publicKey.toString()
    const challenge = issuer.challenge(id)
    expect(challenge.byteLength).toBe(32)
    const token = await issuer.issue(id, challenge, await answer(me, challenge), { ttlMs: 60_000 })
    const claims = await issuer.verify(token)
    expect(claims).toEqual({ sub: id, iss: logIDFromPublicKey(peerKey.publicKey), iat: T, exp: T + 60_000 })
    expect(issuer.id).toBe(claims.iss)
    expect(token.split('.')[0]).toBe(toBase64url(utf8(JSON.stringify(claims))))
  })

  it('a token issued by another key is refused with InvalidTokenError', async () => {
    const other = createTokenIssuer({ identity: otherPeerKey, now: () => clock })
    const foreign = await other.issueTrusted(me.publicKey.toString())
    expect((await other.verify(foreign)).sub).toBe(me.publicKey.toString())
    await expect(issuer.verify(foreign)).rejects.toMatchObject({ name: 'InvalidTokenError', code: 'ERR_INVALID_TOKEN' })
    // A holder's own token: issued by its own key, to itself.
    const selfMade = await createTokenIssuer({ identity: me, now: () => clock }).issueTrusted(me.publicKey.toString())
    await expect(issuer.verify(selfMade)).rejects.toMatchObject({ name: 'InvalidTokenError' })
    // Claims naming this issuer, signed by another key.
    const claims = JSON.stringify({ sub: me.publicKey.toString(), iss: issuer.id, iat: T, exp: T + 60_000 })
    await expect(issuer.verify(await handMade(otherPeerKey, claims))).rejects.toMatchObject({ name: 'InvalidTokenError' })
  })

  it('a token of a trusted issuer is accepted: configured at creation, or for one call', async () => {
    const other = createTokenIssuer({ identity: otherPeerKey, now: () => clock })
    const foreign = await other.issueTrusted(me.publicKey.toString())
    const trusting = createTokenIssuer({ identity: peerKey, trustedIssuers: [other.id], now: () => clock })
    expect((await trusting.verify(foreign)).iss).toBe(other.id)
    expect((await issuer.verify(foreign, { trustedIssuers: [other.id] })).iss).toBe(other.id)
    expect((await verifyToken(foreign, { issuers: [other.id], now: T })).sub).toBe(me.publicKey.toString())
    await expect(verifyToken(foreign, { issuers: [issuer.id], now: T })).rejects.toMatchObject({ name: 'InvalidTokenError' })
    await expect(issuer.verify(foreign)).rejects.toMatchObject({ name: 'InvalidTokenError' })
  })

  it('a non-canonical base64url twin of a valid token is refused', async () => {
    const token = await issuer.issueTrusted(me.publicKey.toString())
    const [claims, sig] = token.split('.') as [string, string]
    // 64 signature bytes are 86 characters: the last one carries 4 bits no byte uses.
    const last = sig.at(-1)!
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const twinChar = alphabet[alphabet.indexOf(last) ^ 1]!
    const twin = `${claims}.${sig.slice(0, -1)}${twinChar}`
    expect(Buffer.from(twin.split('.')[1]!, 'base64url')).toEqual(Buffer.from(sig, 'base64url')) // a lenient decoder sees the same bytes
    await expect(issuer.verify(twin)).rejects.toMatchObject({ name: 'InvalidTokenError' })
    expect((await issuer.verify(token)).sub).toBe(me.publicKey.toString())
    for (const variant of [
      `${claims}.${sig}==`, `${claims}=.${sig}`, `${claims}.${sig.replace(/-/g, '+').replace(/_/g, '/')}`, ` ${token}`, `${token}\n`,
      `${claims}.${sig}A`
    ]) {
      if (variant === token) continue
      await expect(issuer.verify(variant)).rejects.toMatchObject({ name: 'InvalidTokenError' })
    }
  })

  it('claims that are not exactly as an issuer writes them are refused, even when signed', async () => {
    const sub = me.publicKey.toString()
    const iss = issuer.id
    const canonical = JSON.stringify({ sub, iss, iat: T, exp: T + 1000 })
    expect((await issuer.verify(await handMade(peerKey, canonical))).sub).toBe(sub)
    for (const text of [
      JSON.stringify({ iss, sub, iat: T, exp: T + 1000 }),
      JSON.stringify({ sub, iss, iat: T, exp: T + 1000 }, null, 1),
      canonical.replace('"sub"', '"\\u0073ub"'),
      canonical.replace(`${T + 1000}`, `${T + 1000}.0`),
      canonical.replace('{', '{"sub":"x",'),
      '\uFEFF' + canonical,
      JSON.stringify({ sub, iss, iat: T, exp: T + 1000, admin: true }),
      JSON.stringify({ sub, iss, iat: T, exp: T }),
      JSON.stringify({ sub, iss, iat: -1, exp: T }),
      JSON.stringify({ sub: 'not-an-identity', iss, iat: T, exp: T + 1000 }),
      JSON.stringify([sub, iss, T, T + 1000]),
      'null'
    ]) {
      await expect(issuer.verify(await handMade(peerKey, text)), text).rejects.toMatchObject({ name: 'InvalidTokenError' })
    }
  })

  it('refuses malformed tokens with InvalidTokenError', async () => {
    const token = await issuer.issueTrusted(me.publicKey.toString())
    for (const bad of ['', 'nonsense', 'a.b.c', `${token}.x`, '.', `${token.split('.')[0]}.`, 'x'.repeat(5000), `${token}%`]) {
      await expect(issuer.verify(bad)).rejects.toMatchObject({ name: 'InvalidTokenError' })
    }
    await expect(issuer.verify(42 as unknown as string)).rejects.toMatchObject({ name: 'InvalidTokenError' })
  })

  it('an expired token is refused with TokenExpiredError, and a forged one as invalid whatever its expiry', async () => {
    const token = await issuer.issueTrusted(me.publicKey.toString(), { ttlMs: 1000 })
    expect((await issuer.verify(token, { now: T + 999 })).exp).toBe(T + 1000)
    await expect(issuer.verify(token, { now: T + 1000 })).rejects.toMatchObject({ name: 'TokenExpiredError', code: 'ERR_TOKEN_EXPIRED' })
    const forged = await handMade(otherPeerKey, JSON.stringify({ sub: me.publicKey.toString(), iss: issuer.id, iat: 1, exp: 2 }))
    await expect(issuer.verify(forged)).rejects.toMatchObject({ name: 'InvalidTokenError' })
  })

  it('lives an hour by default and at most 30 days; other lifetimes are refused with InvalidTokenError', async () => {
    const claims = await issuer.verify(await issuer.issueTrusted(me.publicKey.toString()))
    expect(claims.exp - claims.iat).toBe(DEFAULT_TOKEN_TTL_MS)
    await issuer.issueTrusted(me.publicKey.toString(), { ttlMs: MAX_TOKEN_TTL_MS })
    for (const ttlMs of [0, -1, 0.5, MAX_TOKEN_TTL_MS + 1, Number.NaN, Infinity]) {
      await expect(issuer.issueTrusted(me.publicKey.toString(), { ttlMs })).rejects.toMatchObject({ name: 'InvalidTokenError' })
    }
  })

  it('the challenge domain is the one the client signs', () => {
    expect(new TextDecoder().decode(TOKEN_CHALLENGE_DOMAIN)).toBe(TOKEN_CHALLENGE_PREFIX)
  })
})

describe('challenges', () => {
  it('a wrong challenge signature is refused with ChallengeFailedError', async () => {
    const id = me.publicKey.toString()
    const byOther = issuer.challenge(id)
    await expect(issuer.issue(id, byOther, await answer(otherPeerKey, byOther))).rejects.toMatchObject({ name: 'ChallengeFailedError', code: 'ERR_CHALLENGE_FAILED' })
    const raw = issuer.challenge(id)
    await expect(issuer.issue(id, raw, await me.sign(raw))).rejects.toMatchObject({ name: 'ChallengeFailedError' })
    const short = issuer.challenge(id)
    await expect(issuer.issue(id, short, new Uint8Array(10))).rejects.toMatchObject({ name: 'ChallengeFailedError' })
  })

  it('a challenge answers once, for its identity, within its lifetime', async () => {
    const id = me.publicKey.toString()
    const challenge = issuer.challenge(id)
    const signature = await answer(me, challenge)
    await issuer.issue(id, challenge, signature)
    await expect(issuer.issue(id, challenge, signature)).rejects.toMatchObject({ name: 'ChallengeFailedError' })

    const forMe = issuer.challenge(id)
    await expect(issuer.issue(otherPeerKey.publicKey.toString(), forMe, await answer(otherPeerKey, forMe))).rejects.toMatchObject({ name: 'ChallengeFailedError' })

    const late = issuer.challenge(id)
    clock += 60_000
    try {
      await expect(issuer.issue(id, late, await answer(me, late))).rejects.toMatchObject({ name: 'ChallengeFailedError' })
    } finally {
      clock = T
    }
    await expect(issuer.issue(id, new Uint8Array(32), await answer(me, new Uint8Array(32)))).rejects.toMatchObject({ name: 'ChallengeFailedError' })
  })

  it('refuses a challenge for something that is not an identity with InvalidIdentityError', () => {
    expect(() => issuer.challenge('not-an-identity')).toThrow(expect.objectContaining({ name: 'InvalidIdentityError' }))
  })

  it('keeps at most maxPendingChallenges, forgetting the oldest', async () => {
    const small = createTokenIssuer({ identity: peerKey, maxPendingChallenges: 3, now: () => T })
    const id = me.publicKey.toString()
    const first = small.challenge(id)
    for (let i = 0; i < 3; i++) small.challenge(id)
    await expect(small.issue(id, first, await answer(me, first))).rejects.toMatchObject({ name: 'ChallengeFailedError' })
    const last = small.challenge(id)
    expect(typeof await small.issue(id, last, await answer(me, last))).toBe('string')
  })

  it('an author-certificate challenge is signed as it is, and the answer is a certificate for the log key', async () => {
    const logKey = await generateKeyPair()
    const id = me.publicKey.toString()
    const challenge = issuer.challenge(id, { logPublicKey: logKey.publicKey })
    const { logPublicKey, nonce } = parseAuthorCertificatePayload(challenge)
    expect(logPublicKey.equals(logKey.publicKey)).toBe(true)
    const signature = await ed.signAsync(challenge, me.raw) // a go-threads client signs the raw challenge
    const token = await issuer.issue(id, challenge, signature)
    expect((await issuer.verify(token)).sub).toBe(id)
    await verifyAuthorCertificate(me.publicKey, logKey.publicKey, { nonce, signature })

    const prefixed = issuer.challenge(id, { logPublicKey: logKey.publicKey })
    await expect(issuer.issue(id, prefixed, await answer(me, prefixed))).rejects.toMatchObject({ name: 'ChallengeFailedError' })
  })
})

describe('the worker\'s token issuer', () => {
  it('issues with the peer key as iss and verifies only its own tokens', async () => {
    const peer = { peerId: logIDFromPublicKey(peerKey.publicKey), sign: async (d: Uint8Array) => await peerKey.sign(d) }
    const tokens = createWorkerTokenIssuer(peer)
    const id = me.publicKey.toString()
    const challenge = tokens.challenge(id)
    const token = await tokens.issue(id, challenge, await answer(me, challenge), 5000)
    const claims = await tokens.verify(token)
    expect(claims.iss).toBe(peer.peerId)
    expect(claims.exp - claims.iat).toBe(5000)
    expect((await tokens.verify(await tokens.issueTrusted(id))).sub).toBe(id)
    const other = createTokenIssuer({ identity: otherPeerKey })
    await expect(tokens.verify(await other.issueTrusted(id))).rejects.toMatchObject({ name: 'InvalidTokenError' })
  })
})

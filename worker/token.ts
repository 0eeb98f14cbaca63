/**
 * Identity tokens: a caller proves it holds an identity's private key by signing a fresh challenge,
 * and gets a token that names the identity, signed by this peer's key, with an expiry. Format:
 * `<base64url(JSON claims)>.<base64url(Ed25519 signature of "weft/token/1\n" + claims JSON)>`.
 * Any peer verifies a token from its issuer's peer ID alone (Ed25519 peer IDs embed the key).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { concatBytes, randomBytes, toHex } from '../src/core/bytes.js'
import { parseIdentity } from '../src/core/identity.js'
import { fromBase64url, toBase64url } from '../src/client/base64url.js'
import { ChallengeFailedError, InvalidTokenError, TokenExpiredError } from '../src/client/errors.js'
import { TOKEN_CHALLENGE_PREFIX, type TokenClaims } from '../src/client/protocol.js'

const TOKEN_DOMAIN = new TextEncoder().encode('weft/token/1\n')
const CHALLENGE_PREFIX = new TextEncoder().encode(TOKEN_CHALLENGE_PREFIX)
const CHALLENGE_TTL_MS = 60_000
/** Longest token lifetime a caller may ask for (ms). */
export const MAX_TOKEN_TTL_MS = 30 * 24 * 60 * 60_000
export const DEFAULT_TOKEN_TTL_MS = 60 * 60_000

export interface TokenIssuer {
  challenge(identity: string): Uint8Array
  issue(identity: string, challenge: Uint8Array, signature: Uint8Array, ttlMs?: number): Promise<string>
  /** A token for an identity this peer holds the key of (the default identity). */
  issueTrusted(identity: string, ttlMs?: number): Promise<string>
  verify(token: string, now?: number): Promise<TokenClaims>
}

export function createTokenIssuer(peer: { peerId: string; sign(data: Uint8Array): Promise<Uint8Array> }): TokenIssuer {
  const pending = new Map<string, { identity: string; expires: number }>()

  async function sign(identity: string, ttlMs = DEFAULT_TOKEN_TTL_MS): Promise<string> {
    if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TOKEN_TTL_MS) throw new RangeError(`token ttl must be 1..${MAX_TOKEN_TTL_MS} ms`)
    const iat = Date.now()
    const claims: TokenClaims = { sub: identity, iss: peer.peerId, iat, exp: iat + Math.floor(ttlMs) }
    const payload = new TextEncoder().encode(JSON.stringify(claims))
    const sig = await peer.sign(concatBytes([TOKEN_DOMAIN, payload]))
    return `${toBase64url(payload)}.${toBase64url(sig)}`
  }

  return {
    challenge(identity) {
      parseIdentity(identity)
      const now = Date.now()
      for (const [k, v] of pending) if (v.expires < now) pending.delete(k)
      const challenge = randomBytes(32)
      pending.set(toHex(challenge), { identity, expires: now + CHALLENGE_TTL_MS })
      return challenge
    },

    async issue(identity, challenge, signature, ttlMs) {
      const key = toHex(challenge)
      const entry = pending.get(key)
      pending.delete(key)
      if (entry == null || entry.identity !== identity || entry.expires < Date.now()) throw new ChallengeFailedError('unknown or expired challenge')
      const ok = await parseIdentity(identity).verify(concatBytes([CHALLENGE_PREFIX, challenge]), signature)
      if (!ok) throw new ChallengeFailedError('the challenge signature does not verify')
      return await sign(identity, ttlMs)
    },

    issueTrusted: sign,

    async verify(token, now = Date.now()) {
      const parts = typeof token === 'string' ? token.split('.') : []
      if (parts.length !== 2 || token.length > 4096) throw new InvalidTokenError('a token has two base64url parts')
      let claims: TokenClaims
      let payload: Uint8Array
      let sig: Uint8Array
      try {
        payload = fromBase64url(parts[0]!)
        sig = fromBase64url(parts[1]!)
        claims = JSON.parse(new TextDecoder().decode(payload)) as TokenClaims
      } catch (err) {
        throw new InvalidTokenError('the token does not decode', { cause: err })
      }
      if (typeof claims?.sub !== 'string' || typeof claims.iss !== 'string' || !Number.isFinite(claims.exp) || !Number.isFinite(claims.iat)) {
        throw new InvalidTokenError('the token claims are malformed')
      }
      let ok = false
      try {
        const issuer = peerIdFromString(claims.iss).publicKey
        ok = issuer != null && await issuer.verify(concatBytes([TOKEN_DOMAIN, payload]), sig)
      } catch (err) {
        throw new InvalidTokenError('the token issuer is not an Ed25519 peer ID', { cause: err })
      }
      if (!ok) throw new InvalidTokenError('the token signature does not verify')
      if (claims.exp <= now) throw new TokenExpiredError(`the token expired at ${new Date(claims.exp).toISOString()}`)
      return { sub: claims.sub, iss: claims.iss, iat: claims.iat, exp: claims.exp }
    }
  }
}

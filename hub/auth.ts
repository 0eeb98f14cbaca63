/**
 * Identities and tokens on the hub, as go-threads clients expect them:
 *
 * - `GetToken`: the client names its identity (a public key string), the hub answers a fresh
 *   challenge, the client signs the raw challenge bytes with its Ed25519 key and the hub answers
 *   a token naming that identity, signed by the hub's peer key (Weft's token format). A challenge
 *   is good for one answer within the idle timeout.
 * - Every call may carry `authorization: bearer <token>` (scheme in any case). A token the hub did
 *   not issue, a forged or expired one is {@link UnauthenticatedError}; a call without a token acts
 *   as the hub itself unless `requireToken` is set.
 *
 * The signed challenge is kept per identity ({@link HubAuth.certificate}): once the record format
 * carries author certificates, the challenge becomes the certificate payload for the log the hub
 * keeps for that identity, and the kept signature is the certificate (see docs/HUB.md).
 */
import { randomBytes, toHex } from '../src/core/bytes.js'
import { parseIdentity } from '../src/core/identity.js'
import { ChallengeFailedError } from '../src/client/errors.js'
import type { TokenClaims } from '../src/client/protocol.js'
import { createTokenIssuer } from '../worker/token.js'
import { UnauthenticatedError } from './errors.js'

/** Outstanding challenges and remembered certificates are bounded (oldest dropped first). */
const MAX_PENDING = 10_000
const MAX_CERTIFICATES = 100_000
const MAX_CACHED_TOKENS = 4096
const CHALLENGE_BYTES = 32

export interface HubAuthInit {
  /** The hub's peer ID: the issuer named in its tokens. */
  peerId: string
  /** Sign with the hub's peer key. */
  sign(data: Uint8Array): Promise<Uint8Array>
  /** Lifetime of issued tokens, ms. @default 2_592_000_000 (30 days) */
  tokenTtlMs?: number
  /** How long a challenge waits for its signature, ms. @default 60_000 */
  challengeTtlMs?: number
  /** Refuse calls that carry no token. @default false */
  requireToken?: boolean
}

/** What a client proved in GetToken: it signed `challenge` with the identity's key. */
export interface Certificate {
  identity: string
  challenge: Uint8Array
  signature: Uint8Array
  at: number
}

export interface HubAuth {
  /** A fresh challenge for `identity` (InvalidIdentityError when it is not an identity string). */
  challenge(identity: string): Uint8Array
  /** Check the signature of a challenge and issue a token (ChallengeFailedError otherwise). */
  complete(identity: string, challenge: Uint8Array, signature: Uint8Array): Promise<string>
  /** The identity a call acts as, from its `authorization` header; undefined: the hub itself. */
  identityOf(header: Headers): Promise<string | undefined>
  /** The last certificate an identity gave in GetToken. */
  certificate(identity: string): Certificate | undefined
  /** Tokens issued since start. */
  readonly issued: number
}

/** Insert into a Map used as a bounded FIFO. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  while (map.size > max) map.delete(map.keys().next().value as K)
}

export function createHubAuth(init: HubAuthInit): HubAuth {
  const issuer = createTokenIssuer({ peerId: init.peerId, sign: init.sign })
  const ttl = init.tokenTtlMs ?? 30 * 24 * 60 * 60_000
  const challengeTtl = init.challengeTtlMs ?? 60_000
  const pending = new Map<string, { identity: string; expires: number }>()
  const certificates = new Map<string, Certificate>()
  const verified = new Map<string, TokenClaims>()
  let issued = 0

  async function claimsOf(token: string): Promise<TokenClaims> {
    const cached = verified.get(token)
    if (cached !== undefined && cached.exp > Date.now()) return cached
    let claims: TokenClaims
    try {
      claims = await issuer.verify(token)
    } catch (err) {
      throw new UnauthenticatedError(`invalid token: ${(err as Error).message}`, { cause: err })
    }
    // A token verifies against the key its issuer names: only tokens this hub issued are ours.
    if (claims.iss !== init.peerId) throw new UnauthenticatedError('invalid token: it was not issued by this hub')
    remember(verified, token, claims, MAX_CACHED_TOKENS)
    return claims
  }

  return {
    challenge(identity) {
      parseIdentity(identity)
      const now = Date.now()
      for (const [k, v] of pending) {
        if (v.expires >= now) break
        pending.delete(k)
      }
      const challenge = randomBytes(CHALLENGE_BYTES)
      remember(pending, toHex(challenge), { identity, expires: now + challengeTtl }, MAX_PENDING)
      return challenge
    },

    async complete(identity, challenge, signature) {
      const key = toHex(challenge)
      const entry = pending.get(key)
      pending.delete(key)
      if (entry === undefined || entry.identity !== identity || entry.expires < Date.now()) throw new ChallengeFailedError('unknown or expired challenge')
      if (!(await parseIdentity(identity).verify(challenge, signature))) throw new ChallengeFailedError('the challenge signature does not verify')
      remember(certificates, identity, { identity, challenge, signature, at: Date.now() }, MAX_CERTIFICATES)
      const token = await issuer.issueTrusted(identity, ttl)
      issued++
      return token
    },

    async identityOf(header) {
      const value = header.get('authorization')
      if (value === null || value.trim() === '') {
        if (init.requireToken === true) throw new UnauthenticatedError('a token is required: call GetToken and send authorization: bearer <token>')
        return undefined
      }
      const m = /^\s*bearer\s+(\S+)\s*$/i.exec(value)
      if (m === null) throw new UnauthenticatedError('invalid authorization header: expected bearer <token>')
      return (await claimsOf(m[1]!)).sub
    },

    certificate: (identity) => certificates.get(identity),

    get issued() { return issued }
  }
}

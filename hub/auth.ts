/**
 * Identities and tokens on the hub, as go-threads clients expect them:
 *
 * - `GetToken`: the client names its identity (a public key string), the hub answers a challenge,
 *   the client signs the challenge bytes as they are with its Ed25519 key, and the hub answers a
 *   token naming that identity, signed by the hub's peer key (the core token format,
 *   src/core/token.ts). A challenge is good for one answer within its lifetime.
 * - Every call may carry `authorization: bearer <token>` (scheme in any case). A token the hub did
 *   not issue, a forged, non-canonical or expired one is {@link UnauthenticatedError}; a call
 *   without a token acts as the hub itself unless `requireToken` is set.
 *
 * The challenge is an author-certificate payload (record format v2) for a log key the hub makes
 * for that identity: the client's answer is then its certificate delegating that log key
 * ({@link HubAuth.delegation}), kept in the repository (hub/delegations.ts), which is what lets a
 * log the hub holds write as the identity (hub/identity-logs.ts; docs/HUB.md, "Identities and
 * tokens"). The hub's own identity delegates a log key to itself the same way, once.
 */
import { createAuthorCertificate, generateKeyPair, identityToString, parseAuthorCertificatePayload, parseIdentity, toHex, createTokenIssuer, type Identity, type PrivateKey, type TokenClaims } from '../src/core/index.js'
import type { Delegation, DelegationStore } from './delegations.js'
import { UnauthenticatedError } from './errors.js'

export type { Delegation } from './delegations.js'

/** Outstanding challenges are bounded (oldest dropped first). */
const MAX_PENDING = 10_000
const MAX_CACHED_TOKENS = 4096

export interface HubAuthInit {
  /** The hub's peer key: it signs the tokens, and its peer ID is their issuer. */
  identity: Identity
  /** Lifetime of issued tokens, ms (at most 30 days). @default 2_592_000_000 (30 days) */
  tokenTtlMs?: number
  /** How long a challenge waits for its signature, ms. @default 60_000 */
  challengeTtlMs?: number
  /** Refuse calls that carry no token. @default false */
  requireToken?: boolean
  /** Where delegations are kept (the repository's, so they survive restarts). */
  delegations: DelegationStore
}

export interface HubAuth {
  /** The issuer of the hub's tokens (its peer ID). */
  readonly issuer: string
  /** The hub's own identity string: the author of calls without a token. */
  readonly identity: string
  /** A fresh challenge for `identity` (InvalidIdentityError when it is not an identity string). */
  challenge(identity: string): Promise<Uint8Array>
  /** Check the signature of a challenge and issue a token (ChallengeFailedError otherwise). */
  complete(identity: string, challenge: Uint8Array, signature: Uint8Array): Promise<string>
  /** The identity a call acts as, from its `authorization` header; undefined: the hub itself. */
  identityOf(header: Headers): Promise<string | undefined>
  /**
   * The delegation an identity gave in its last GetToken (kept across restarts, for the newest
   * `WEFT_HUB_MAX_DELEGATIONS` identities); for the hub's own identity, the one it gave itself.
   */
  delegation(identity: string): Delegation | undefined
  /** Tokens issued since start. */
  readonly issued: number
}

/** Insert into a Map used as a bounded FIFO. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  while (map.size > max) map.delete(map.keys().next().value as K)
}

export async function createHubAuth(init: HubAuthInit): Promise<HubAuth> {
  const issuer = createTokenIssuer({
    identity: init.identity,
    challengeTtlMs: init.challengeTtlMs ?? 60_000,
    maxPendingChallenges: MAX_PENDING
  })
  const ttlMs = init.tokenTtlMs ?? 30 * 24 * 60 * 60_000
  /** The log key offered in each outstanding challenge. */
  const offered = new Map<string, PrivateKey>()
  const { delegations } = init
  const self = identityToString(init.identity.publicKey)
  if (delegations.get(self) === undefined) {
    const logKey = await generateKeyPair()
    const certificate = await createAuthorCertificate(init.identity, logKey.publicKey)
    await delegations.put({ identity: self, logKey, certificate, at: Date.now() })
  }
  const verified = new Map<string, TokenClaims>()
  let issued = 0

  async function claimsOf(token: string): Promise<TokenClaims> {
    const cached = verified.get(token)
    if (cached !== undefined && cached.exp > Date.now()) return cached
    let claims: TokenClaims
    try {
      // Only this hub is a trusted issuer: another hub's token (or a self-made one) is refused.
      claims = await issuer.verify(token)
    } catch (err) {
      throw new UnauthenticatedError(`invalid token: ${(err as Error).message}`, { cause: err })
    }
    remember(verified, token, claims, MAX_CACHED_TOKENS)
    return claims
  }

  return {
    issuer: issuer.id,
    identity: self,

    async challenge(identity) {
      parseIdentity(identity)
      const logKey = await generateKeyPair()
      const challenge = issuer.challenge(identity, { logPublicKey: logKey.publicKey })
      remember(offered, toHex(challenge), logKey, MAX_PENDING)
      return challenge
    },

    async complete(identity, challenge, signature) {
      const token = await issuer.issue(identity, challenge, signature, { ttlMs })
      const key = toHex(challenge)
      const logKey = offered.get(key)
      offered.delete(key)
      if (logKey !== undefined) {
        const sub = parseIdentity(identity).toString()
        const certificate = { nonce: parseAuthorCertificatePayload(challenge).nonce, signature: signature.slice() }
        // The hub's own delegation is its own: a client presenting the hub's key does not replace it.
        if (sub !== self) await delegations.put({ identity: sub, logKey, certificate, at: Date.now() })
      }
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

    delegation: (identity) => delegations.get(identity) as Delegation | undefined,

    get issued() { return issued }
  }
}

/**
 * The worker's identity tokens: the core token issuer (src/core/token.ts) signing with this peer's
 * libp2p key, so a token's `iss` is this peer's ID and it verifies here only. The worker API passes
 * lifetimes positionally; this adapts them.
 */
import { logIDToPublicKey } from '../src/core/index.js'
import {
  DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS, createTokenIssuer as createCoreTokenIssuer
} from '../src/core/index.js'
import type { TokenClaims, VerifyTokenOptions } from '../src/core/token.js'

export { DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS }

export interface TokenIssuer {
  challenge(identity: string): Uint8Array
  issue(identity: string, challenge: Uint8Array, signature: Uint8Array, ttlMs?: number): Promise<string>
  /** A token for an identity this peer holds the key of (the default identity). */
  issueTrusted(identity: string, ttlMs?: number): Promise<string>
  /** Claims of a token this peer issued; `InvalidTokenError` / `TokenExpiredError` otherwise. */
  verify(token: string, options?: VerifyTokenOptions): Promise<TokenClaims>
}

export function createTokenIssuer(peer: { peerId: string; sign(data: Uint8Array): Promise<Uint8Array> }): TokenIssuer {
  const issuer = createCoreTokenIssuer({
    identity: { publicKey: logIDToPublicKey(peer.peerId), sign: async (data) => await peer.sign(data) }
  })
  const ttl = (ttlMs: number | undefined): { ttlMs?: number } => ttlMs === undefined ? {} : { ttlMs }
  return {
    challenge: (identity) => issuer.challenge(identity),
    issue: async (identity, challenge, signature, ttlMs) => await issuer.issue(identity, challenge, signature, ttl(ttlMs)),
    issueTrusted: async (identity, ttlMs) => await issuer.issueTrusted(identity, ttl(ttlMs)),
    verify: async (token, options) => await issuer.verify(token, options)
  }
}

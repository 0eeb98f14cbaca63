/**
 * Identity tokens: a caller proves it holds an identity's key by signing a fresh challenge, and
 * gets a token naming that identity, signed by the issuer's key, with an expiry:
 *
 * ```
 * claims = JSON.stringify({ sub, iss, iat, exp })   (UTF-8, exactly this text: no spaces, this key order)
 * token  = base64url(claims) "." base64url(Ed25519 signature by the issuer over "weft/token/1\n" || claims)
 * ```
 *
 * `sub` is the identity string, `iss` the issuer's peer ID (an Ed25519 peer ID, which embeds the
 * key that checks the signature), `iat`/`exp` milliseconds since the epoch. A token verifies only
 * where its issuer is trusted — the issuer itself, or a peer configured to trust it — and only in
 * its one canonical encoding: base64url without padding whose decoding re-encodes to the same text,
 * and claims whose re-serialisation is byte-identical to the signed text (docs/FORMAT.md,
 * "Identity tokens").
 *
 * A challenge is either 32 random bytes, signed as `"weft/token-challenge/1\n" || challenge`, or —
 * for clients that sign a challenge as it is (the go-threads flow) — an author-certificate payload
 * for a log key the issuer holds, so that the answer is also the client's delegation of that log
 * key (see `author.ts`).
 */
import { authorCertificatePayload, DEFAULT_AUTHOR_CERTIFICATE_NONCE_BYTES } from './author.js'
import { fromBase64url, toBase64url } from './base64url.js'
import { concatBytes, equalBytes, isBytes, randomBytes, toHex } from './bytes.js'
import { ChallengeFailedError, InvalidTokenError, TokenExpiredError, throwIfAborted } from './errors.js'
import { parseIdentity } from './identity.js'
import type { Identity, PublicKey } from './identity.js'
import { logIDFromPublicKey, logIDToPublicKey, parseLogID } from './log-id.js'
import type { AbortOptions } from './types.js'

/** What the issuer signs before the claims text (ASCII `weft/token/1\n`). */
export const TOKEN_SIGNATURE_DOMAIN = new TextEncoder().encode('weft/token/1\n')
/** What an identity signs before a random challenge (ASCII `weft/token-challenge/1\n`). */
export const TOKEN_CHALLENGE_DOMAIN = new TextEncoder().encode('weft/token-challenge/1\n')
/** Longest token accepted (characters). */
export const MAX_TOKEN_LENGTH = 4096
/** Longest token lifetime that may be asked for (30 days, in ms). */
export const MAX_TOKEN_TTL_MS = 30 * 24 * 60 * 60_000
/** Token lifetime when none is asked for (1 hour, in ms). */
export const DEFAULT_TOKEN_TTL_MS = 60 * 60_000
/** How long a challenge can be answered (ms). */
export const DEFAULT_CHALLENGE_TTL_MS = 60_000
const DEFAULT_MAX_PENDING_CHALLENGES = 10_000
const RANDOM_CHALLENGE_BYTES = 32
/** Longest challenge `issue` looks up (an author-certificate payload with the longest nonce is 114 bytes). */
const MAX_CHALLENGE_BYTES = 256

/** What a token says. */
export interface TokenClaims {
  /** The identity the token names (identity string, `bbaarei…`). */
  sub: string
  /** The issuer's peer ID (`12D3KooW…`). */
  iss: string
  /** Issued at, ms since the epoch. */
  iat: number
  /** Expires at, ms since the epoch: the token is refused from this instant on. */
  exp: number
}

export interface VerifyTokenOptions {
  /** The time to check expiry against (ms since the epoch). @default the issuer's clock (`Date.now()`) */
  now?: number
  /** Peer IDs of further issuers accepted for this call. @default [] */
  trustedIssuers?: Iterable<string>
}

export interface TokenIssuerInit {
  /** The issuer's key: it signs tokens, and its peer ID is their `iss`. */
  identity: Identity
  /** Peer IDs of other issuers whose tokens `verify` accepts. @default [] */
  trustedIssuers?: Iterable<string>
  /** How long a challenge can be answered (ms). @default 60_000 */
  challengeTtlMs?: number
  /** Most challenges awaiting an answer; past it the oldest is forgotten. @default 10_000 */
  maxPendingChallenges?: number
  /** The clock (ms since the epoch). @default Date.now */
  now?: () => number
}

export interface ChallengeOptions {
  /**
   * Make the challenge the author-certificate payload for this log key (with a fresh nonce), to be
   * signed as it is; the answer is then also the identity's certificate for the log key
   * (`{ nonce: parseAuthorCertificatePayload(challenge).nonce, signature }`).
   * @default undefined (32 random bytes, signed after "weft/token-challenge/1\n")
   */
  logPublicKey?: PublicKey
}

export interface IssueTokenOptions extends AbortOptions {
  /** The token's lifetime (ms, at most 30 days). @default 3_600_000 (1 hour) */
  ttlMs?: number
}

export interface TokenIssuer {
  /** The issuer's peer ID: the `iss` of its tokens. */
  readonly id: string
  /** A fresh challenge for `identity` to sign; answerable once, within the challenge lifetime. */
  challenge(identity: string, options?: ChallengeOptions): Uint8Array
  /**
   * A token naming `identity`, once `signature` is its signature over the challenge's message.
   * `ChallengeFailedError` for an unknown, expired, reused or foreign challenge or a bad signature.
   */
  issue(identity: string, challenge: Uint8Array, signature: Uint8Array, options?: IssueTokenOptions): Promise<string>
  /** A token for an identity the caller vouches for without a challenge (e.g. one this peer holds the key of). */
  issueTrusted(identity: string, options?: IssueTokenOptions): Promise<string>
  /**
   * The claims of a token issued by this issuer or a trusted one (`InvalidTokenError` otherwise,
   * and for any malformed or non-canonical token); `TokenExpiredError` past its expiry.
   */
  verify(token: string, options?: VerifyTokenOptions): Promise<TokenClaims>
}

const canonicalIdentity = (identity: string): string => parseIdentity(identity).toString()

function canonicalIssuers(issuers: Iterable<string> | undefined): Set<string> {
  const out = new Set<string>()
  for (const id of issuers ?? []) out.add(parseLogID(id))
  return out
}

/** The exact claims text an issuer signs. */
function claimsText(claims: TokenClaims): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ sub: claims.sub, iss: claims.iss, iat: claims.iat, exp: claims.exp }))
}

const isTime = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

/** Decode and check the claims text: exactly `{ sub, iss, iat, exp }`, written as an issuer writes it. */
function parseClaims(payload: Uint8Array): TokenClaims {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(payload))
  } catch (cause) {
    throw new InvalidTokenError('the token claims are not JSON', { cause })
  }
  const c = value as Partial<TokenClaims> | null
  if (c == null || typeof c !== 'object' || Array.isArray(c) || Object.keys(c).length !== 4 ||
    typeof c.sub !== 'string' || typeof c.iss !== 'string' || !isTime(c.iat) || !isTime(c.exp) || c.exp <= c.iat) {
    throw new InvalidTokenError('the token claims are not { sub, iss, iat, exp }')
  }
  const claims: TokenClaims = { sub: c.sub, iss: c.iss, iat: c.iat, exp: c.exp }
  if (!equalBytes(claimsText(claims), payload)) throw new InvalidTokenError('the token claims are not in their canonical form')
  try {
    parseIdentity(claims.sub)
  } catch (cause) {
    throw new InvalidTokenError('the token does not name an identity', { cause })
  }
  return claims
}

/**
 * Verify a token against a set of accepted issuers (peer IDs) and return its claims. Any malformed,
 * non-canonical, foreign or forged token is an `InvalidTokenError`; an expired one (checked last)
 * a `TokenExpiredError`.
 */
export async function verifyToken(token: string, options: { issuers: Iterable<string>; now?: number }): Promise<TokenClaims> {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
    throw new InvalidTokenError(`a token is a string of at most ${MAX_TOKEN_LENGTH} characters`)
  }
  const parts = token.split('.')
  if (parts.length !== 2) throw new InvalidTokenError('a token has two base64url parts')
  let payload: Uint8Array
  let sig: Uint8Array
  try {
    payload = fromBase64url(parts[0]!)
    sig = fromBase64url(parts[1]!)
  } catch (cause) {
    throw new InvalidTokenError('the token is not canonical base64url', { cause })
  }
  const claims = parseClaims(payload)
  const issuers = options.issuers instanceof Set ? options.issuers as Set<string> : new Set(options.issuers)
  if (!issuers.has(claims.iss)) throw new InvalidTokenError(`the token was issued by ${claims.iss}, which is not trusted here`)
  const ok = await logIDToPublicKey(claims.iss).verify(concatBytes([TOKEN_SIGNATURE_DOMAIN, payload]), sig)
  if (!ok) throw new InvalidTokenError('the token signature does not verify')
  const now = options.now ?? Date.now()
  if (claims.exp <= now) throw new TokenExpiredError(`the token expired at ${new Date(claims.exp).toISOString()}`)
  return claims
}

interface Pending {
  readonly identity: string
  readonly expires: number
  /** The challenge is signed as it is (an author-certificate payload), not after the challenge domain. */
  readonly raw: boolean
}

/** A token issuer signing with `init.identity`. */
export function createTokenIssuer(init: TokenIssuerInit): TokenIssuer {
  const { identity } = init
  const id: string = logIDFromPublicKey(identity.publicKey)
  const trusted = canonicalIssuers(init.trustedIssuers)
  trusted.add(id)
  const now = init.now ?? Date.now
  const challengeTtlMs = init.challengeTtlMs ?? DEFAULT_CHALLENGE_TTL_MS
  const maxPending = init.maxPendingChallenges ?? DEFAULT_MAX_PENDING_CHALLENGES
  /** Outstanding challenges by hex, oldest first (all share one lifetime, so also by expiry). */
  const pending = new Map<string, Pending>()

  function forgetExpired(at: number): void {
    for (const [key, entry] of pending) {
      if (entry.expires > at && pending.size < maxPending) return
      pending.delete(key)
    }
  }

  async function sign(sub: string, options: IssueTokenOptions): Promise<string> {
    const ttlMs = options.ttlMs ?? DEFAULT_TOKEN_TTL_MS
    if (typeof ttlMs !== 'number' || !(ttlMs >= 1) || ttlMs > MAX_TOKEN_TTL_MS) {
      throw new InvalidTokenError(`a token lifetime is 1 to ${MAX_TOKEN_TTL_MS} ms`)
    }
    throwIfAborted(options.signal)
    const iat = Math.floor(now())
    const payload = claimsText({ sub, iss: id, iat, exp: iat + Math.floor(ttlMs) })
    const sig = await identity.sign(concatBytes([TOKEN_SIGNATURE_DOMAIN, payload]), options.signal === undefined ? {} : { signal: options.signal })
    return `${toBase64url(payload)}.${toBase64url(sig)}`
  }

  return {
    id,

    challenge(who, options = {}) {
      const sub = canonicalIdentity(who)
      const at = now()
      forgetExpired(at)
      const raw = options.logPublicKey !== undefined
      const challenge = raw
        ? authorCertificatePayload(options.logPublicKey!, randomBytes(DEFAULT_AUTHOR_CERTIFICATE_NONCE_BYTES))
        : randomBytes(RANDOM_CHALLENGE_BYTES)
      pending.set(toHex(challenge), { identity: sub, expires: at + challengeTtlMs, raw })
      return challenge
    },

    async issue(who, challenge, signature, options = {}) {
      const sub = canonicalIdentity(who)
      if (!isBytes(challenge) || challenge.byteLength > MAX_CHALLENGE_BYTES) throw new ChallengeFailedError('unknown challenge')
      const key = toHex(challenge)
      const entry = pending.get(key)
      pending.delete(key)
      if (entry === undefined || entry.identity !== sub || entry.expires <= now()) {
        throw new ChallengeFailedError('unknown, expired or already answered challenge, or one made for another identity')
      }
      const message = entry.raw ? challenge : concatBytes([TOKEN_CHALLENGE_DOMAIN, challenge])
      if (!isBytes(signature) || !await parseIdentity(sub).verify(message, signature)) {
        throw new ChallengeFailedError('the challenge signature does not verify')
      }
      return await sign(sub, options)
    },

    async issueTrusted(who, options = {}) {
      return await sign(canonicalIdentity(who), options)
    },

    async verify(token, options = {}) {
      const issuers = options.trustedIssuers === undefined ? trusted : new Set([...trusted, ...canonicalIssuers(options.trustedIssuers)])
      return await verifyToken(token, { issuers, now: options.now ?? now() })
    }
  }
}

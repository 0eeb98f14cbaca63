/**
 * What the API services share: the DB manager and the peer they serve, the token check, and the
 * limits on waiting for clients. Each call resolves its caller's identity from its token first.
 *
 * The hub writes every remote client's events through its own log for now, so the
 * `writer` validators see is the hub's identity; the token's identity is the `reader` of read
 * filters and is checked on every call. {@link callerOf} is where a call's identity is resolved,
 * and where its per-identity log will be chosen (docs/HUB.md, "Identities and tokens").
 */
import type { HandlerContext } from '@connectrpc/connect'
import type { Peer } from '../src/node/peer.js'
import type { Database, DBManager, ReadOptions } from '../src/db/index.js'
import type { HubAuth } from './auth.js'
import { threadIDOf } from './codec.js'

export interface ApiContext {
  readonly manager: DBManager
  readonly peer: Peer
  readonly auth: HubAuth
  /** How long a client stream may stay silent. */
  readonly idleTimeoutMs: number
}

/** The identity a call acts as (undefined: none given, the hub's own). Throws UnauthenticatedError. */
export async function callerOf(api: ApiContext, ctx: HandlerContext): Promise<string | undefined> {
  return await api.auth.identityOf(ctx.requestHeader)
}

/** Read options for a caller: its identity is the `reader` of read filters. */
export function readAs(identity: string | undefined): ReadOptions {
  return identity === undefined ? {} : { identity }
}

/** The DB a request names by its `dbID` bytes (DBNotFoundError when the hub has none). */
export function dbOf(api: ApiContext, dbID: Uint8Array): Database {
  return api.manager.getDB(threadIDOf(dbID))
}

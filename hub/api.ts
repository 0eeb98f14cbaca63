/**
 * What the API services share: the DB manager and the peer they serve, the token check, and the
 * limits on waiting for clients. Each call resolves its caller's identity from its token first.
 *
 * A call's identity — its token's, or the hub's own without a token — is the `reader` of read
 * filters and the author of its writes: they go through that identity's log in the DB's thread
 * (hub/identity-logs.ts), so validators see it as `writer` on every peer (docs/HUB.md,
 * "Identities and tokens").
 */
import type { HandlerContext } from '@connectrpc/connect'
import type { Peer } from '../src/node/peer.js'
import type { Database, DBManager, ReadOptions } from '../src/db/index.js'
import type { HubAuth } from './auth.js'
import { threadIDOf } from './codec.js'
import type { IdentityLogs } from './identity-logs.js'

export interface ApiContext {
  readonly manager: DBManager
  readonly peer: Peer
  readonly auth: HubAuth
  /** The log each identity writes through in a thread. */
  readonly logs: IdentityLogs
  /** How long a client stream may stay silent. */
  readonly idleTimeoutMs: number
}

/** The identity a call acts as (undefined: none given, the hub's own). Throws UnauthenticatedError. */
export async function callerOf(api: ApiContext, ctx: HandlerContext): Promise<string | undefined> {
  return await api.auth.identityOf(ctx.requestHeader)
}

/** Read options for a caller: its identity (the hub's without a token) is the `reader` of read filters. */
export function readAs(api: ApiContext, identity: string | undefined): ReadOptions {
  return { identity: identity ?? api.auth.identity }
}

/** Write options for a caller in a DB: read as it, and commit through its log in the DB's thread. */
export async function writeAs(api: ApiContext, db: Database, identity: string | undefined): Promise<ReadOptions> {
  return { identity: identity ?? api.auth.identity, log: await api.logs.logFor(db.id, identity) }
}

/** The DB a request names by its `dbID` bytes (DBNotFoundError when the hub has none). */
export function dbOf(api: ApiContext, dbID: Uint8Array): Database {
  return api.manager.getDB(threadIDOf(dbID))
}

/**
 * Each identity writes through its own log. A call's writes go, in the DB's thread, through a log
 * of the hub's whose records carry the caller's identity as their author, proven by the
 * certificate the identity signed in GetToken (hub/delegations.ts): validators see that identity
 * as `writer` on the hub and on every peer, and owners' rules apply to it. Calls without a token
 * write as the hub's own identity, through a log it delegated to itself.
 *
 * A thread gets one log per identity, created on the identity's first write there and kept by
 * the net's log store (with its author and certificate), so it survives restarts and keeps
 * writing as the identity even once its delegation is dropped. An identity with a token but no
 * delegation kept (dropped past `WEFT_HUB_MAX_DELEGATIONS`) cannot start a log in a new thread:
 * `UnauthenticatedError` — it calls GetToken again, which signs a new delegation.
 */
import { LruCache, privateKeyToBytes, type LogID, type ThreadID } from '../src/core/index.js'
import type { Net } from '../src/net/index.js'
import type { HubAuth } from './auth.js'
import { UnauthenticatedError } from './errors.js'

/** (thread, identity) → log pairs remembered (the net's log store holds them all). */
const CACHED_LOGS = 16_384

export interface IdentityLogs {
  /** The log through which `identity` (undefined: the hub itself) writes in `thread`, made on first use. */
  logFor(thread: ThreadID, identity: string | undefined): Promise<LogID>
  /** Forget the logs of a thread that was deleted (a thread made again under its ID has new logs). */
  forget(thread: ThreadID): void
}

export function createIdentityLogs(init: { net: Net; auth: HubAuth }): IdentityLogs {
  const { net, auth } = init
  const cache = new LruCache<string, LogID>(CACHED_LOGS)
  const making = new Map<string, Promise<LogID>>()
  /** Bumped when a thread is deleted, so that cached logs of its earlier life no longer match. */
  const generation = new Map<ThreadID, number>()

  async function make(thread: ThreadID, identity: string): Promise<LogID> {
    const existing = (await net.getThread(thread)).logs.find((l) => l.managed && l.author === identity && l.frozenAt === undefined)
    if (existing !== undefined) return existing.id
    const d = auth.delegation(identity)
    if (d === undefined) {
      throw new UnauthenticatedError(`the hub holds no delegation from ${identity} to write as it in a new thread: call GetToken again`)
    }
    const log = await net.addLog(thread, { logKey: privateKeyToBytes(d.logKey), author: identity, certificate: d.certificate })
    return log.id
  }

  return {
    async logFor(thread, identity) {
      const who = identity ?? auth.identity
      const key = `${thread} ${generation.get(thread) ?? 0} ${who}`
      const cached = cache.get(key)
      if (cached !== undefined) return cached
      let pending = making.get(key)
      if (pending === undefined) {
        pending = make(thread, who).finally(() => { making.delete(key) })
        making.set(key, pending)
      }
      const log = await pending
      cache.set(key, log)
      return log
    },
    forget(thread) {
      generation.set(thread, (generation.get(thread) ?? 0) + 1)
    }
  }
}

/**
 * Joining a DB from an invite, honestly: the invite's addresses are tried in turn (the first
 * that answers wins; a DB already joined counts as joined), and then — unless the caller says
 * otherwise — the join waits until the DB's collection definitions are here, so that the first
 * write after `join()` cannot fail with CollectionNotFoundError because they were still on their
 * way (they are events of the thread like any other, and may come from another peer than the
 * one the join went through).
 *
 * One deadline covers it all (`timeoutMs`, 60 s by default: a first join may catch up on a large
 * DB): each address gets what is left of it, and so does the wait. A DB joined whose collections did not come in time rejects with
 * CollectionsNotReceivedError; the DB stays joined, and joining again returns it.
 */
import { AbortError, CallTimeoutError, CollectionsNotReceivedError } from './errors.js'
import { fromInvite } from './invite.js'
import type { ClientJoinOptions } from './db-types.js'
import type { CallOptions } from './rpc.js'

/** Default deadline of a join, the wait for collections included (ms). */
export const JOIN_TIMEOUT_MS = 60_000
/** Time kept for the worker to answer past the wait's own deadline (ms). */
const MARGIN_MS = 2000

export interface JoinSteps {
  /** Join through one address; resolves to the DB's thread ID. */
  joinFrom(address: string, key: string, options: ClientJoinOptions): Promise<string>
  /** Resolve once the DB defines `names` (any collection when null); the worker's deadline is `timeoutMs`. */
  waitForCollections(thread: string, names: string[] | null, timeoutMs: number, options: CallOptions): Promise<void>
}

/** Join through the invite's addresses, then wait for the collections; resolves to the thread ID. */
export async function joinInvite(invite: string, o: ClientJoinOptions, steps: JoinSteps): Promise<string> {
  const { thread, key, addrs, name } = fromInvite(invite)
  const total = o.timeoutMs ?? JOIN_TIMEOUT_MS
  const deadline = Date.now() + total
  const left = (): number => Math.max(1, deadline - Date.now())
  const aborted = (): boolean => o.signal?.aborted === true
  if (aborted()) throw new AbortError('the join was aborted', { cause: o.signal?.reason })

  let joined = false
  const failures: Error[] = []
  for (const address of addrs) {
    const options: ClientJoinOptions = {
      ...o,
      ...(o.name === undefined && name !== undefined ? { name } : {}),
      timeoutMs: left()
    }
    try {
      await steps.joinFrom(address, key, options)
      joined = true
      break
    } catch (err) {
      const e = err as Error
      if (e.name === 'DBExistsError') { joined = true; break }
      // Our own abort or deadline ends the attempt; an unreachable address tries the next.
      if (e.name === 'AbortError' || aborted() || Date.now() >= deadline) throw e
      failures.push(e)
    }
  }
  if (!joined) {
    if (failures.length === 1) throw failures[0]!
    throw new AggregateError(failures, `could not join through any of the invite's ${addrs.length} addresses`)
  }

  const wait = o.waitForCollections ?? true
  if (wait === false) return thread
  const names = Array.isArray(wait) ? wait : null
  const waitMs = left()
  try {
    await steps.waitForCollections(thread, names, waitMs, {
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
      timeoutMs: waitMs + MARGIN_MS
    })
  } catch (err) {
    // The worker did not answer in time: the collections did not come either.
    if ((err as Error).name === CallTimeoutError.name) {
      throw new CollectionsNotReceivedError(`joined ${thread}, but its collection definitions did not arrive within ${total} ms (the DB stays joined)`, { cause: err })
    }
    throw err
  }
  return thread
}

/**
 * Live queries: `observe(query)` yields a query's result set now, then again each time a change
 * alters it, as an async iterable (stop it with its `signal` or `return()`, e.g. `break`).
 *
 * The query is not run again on every change. It listens to its collection's changes, and a
 * change can alter the result only if
 * - its instance is in the current result (it changed or left), or
 * - its instance matches the query's condition now (it may enter, or move within the order), or
 * - the query skips results (`skip > 0`) and the change is a save or a delete: the instance may
 *   have matched before and sat in the skipped part, shifting the window.
 * Only then does it run the query again (once for all the changes that arrived meanwhile), and it
 * yields only when the result differs from the last one it yielded. Sorted and limited queries
 * are therefore exact: a matching instance past the limit costs a run but yields nothing.
 *
 * Instances the reader's read filter hides still count as changes (without their content), so an
 * instance in the result that becomes hidden leaves it.
 */
import { normalizeQuery, matchNode, type NormalQuery } from './query.js'
import type { InstanceChange, InstanceID, JSONObject, ListenEvent, ListenFilter, QueryJSON, ReadOptions } from './types.js'

/** Options of a live query. */
export interface ObserveOptions extends ReadOptions {
  /** Stops the live query (its iteration ends normally). */
  signal?: AbortSignal
  /** Changes kept for a slow reader before the live query ends with SubscriberOverflowError. @default 10000 */
  bufferSize?: number
}

/** A live query: async iterable result sets. */
export interface LiveQuery<T = JSONObject> extends AsyncIterableIterator<T[]> {
  /** How many times the query has run (the first result included): a diagnostic. */
  readonly runs: number
}

/** What a live query needs of a DB. */
export interface ObserveSource {
  find(collection: string, query: QueryJSON | undefined, options: ReadOptions): Promise<JSONObject[]>
  /** The collection's changes, hidden instances included (without their content). */
  changes(filters: ListenFilter[], options: { signal: AbortSignal; identity?: string; bufferSize?: number }): AsyncIterable<ListenEvent>
}

/** Whether `change` can alter the result of `q`, whose current result holds the IDs `current`. */
export function couldAlter(q: NormalQuery, current: ReadonlySet<InstanceID>, change: InstanceChange): boolean {
  if (current.has(change.instanceID)) return true
  if (change.type !== 'delete' && change.instance !== undefined && matchNode(q.root, change.instance)) return true
  return q.skip > 0 && change.type !== 'create'
}

export function observeQuery<T = JSONObject>(source: ObserveSource, collection: string, query: QueryJSON | undefined, options: ObserveOptions = {}): LiveQuery<T> {
  const q = normalizeQuery(query)
  const stop = new AbortController()
  const onAbort = (): void => { stop.abort(options.signal?.reason) }
  if (options.signal?.aborted === true) onAbort()
  else options.signal?.addEventListener('abort', onAbort, { once: true })
  const read: ReadOptions = {
    ...(options.identity !== undefined ? { identity: options.identity } : {}),
    ...(options.onFilterError !== undefined ? { onFilterError: options.onFilterError } : {})
  }
  let runs = 0

  // Listen before the first run, so that no change falls between the run and the listening.
  const changes = source.changes([{ collection }], {
    signal: stop.signal,
    ...(options.identity !== undefined ? { identity: options.identity } : {}),
    ...(options.bufferSize !== undefined ? { bufferSize: options.bufferSize } : {})
  })[Symbol.asyncIterator]()

  async function run(): Promise<JSONObject[]> {
    runs++
    return await source.find(collection, query, read)
  }

  async function * results(): AsyncGenerator<T[]> {
    try {
      let current = await run()
      let last = JSON.stringify(current)
      yield current as T[]
      let ids = new Set(current.map((i) => i._id as InstanceID))
      let pending: Promise<IteratorResult<ListenEvent>> | undefined
      while (!stop.signal.aborted) {
        const next = await (pending ?? changes.next())
        pending = undefined
        if (next.done === true) return
        let alter = next.value.type !== 'rejected' && couldAlter(q, ids, next.value)
        // Take every change already waiting, so one run answers them all.
        while (true) {
          const more = changes.next()
          const ready = await Promise.race([more, Promise.resolve(undefined)])
          if (ready === undefined) { pending = more; break }
          if (ready.done === true) { pending = more; break }
          if (!alter && ready.value.type !== 'rejected') alter = couldAlter(q, ids, ready.value)
        }
        if (!alter) continue
        current = await run()
        const json = JSON.stringify(current)
        ids = new Set(current.map((i) => i._id as InstanceID))
        if (json === last) continue
        last = json
        yield current as T[]
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
      stop.abort()
      await changes.return?.()
    }
  }

  const it = results()
  return {
    get runs () { return runs },
    next: async () => await it.next(),
    return: async (value?: unknown) => await it.return(value as undefined),
    throw: async (err?: unknown) => await it.throw(err),
    [Symbol.asyncIterator] () { return this }
  }
}

/**
 * Subscriptions as async iterables. The tab grants the worker credit for SUB_WINDOW items and
 * tops it up as the consumer reads, so the worker never sends more than the tab can hold. A
 * subscription survives a change of worker (the fallback's hand-over to another tab): it re-opens
 * on the next connection; items published in the gap are not replayed (re-read state after
 * `ready` resolves again if that matters).
 */
import { AbortError, ClientClosedError, fromWireError } from './errors.js'
import { SUB_WINDOW, type SubMessage } from './protocol.js'
import type { Caller } from './rpc.js'
import type { Link } from './link.js'

export interface Subscription<T> extends AsyncIterable<T> {
  /** Resolves once the worker has registered the subscription (events after it are delivered). */
  readonly ready: Promise<void>
  /** Stop; the iteration ends normally. */
  close(): void
}

/** What a subscription needs from a connection to the worker. */
export interface StreamConn {
  link: Link
  call: Caller
  gone: AbortSignal
  subs: Map<number, (msg: SubMessage) => void>
}

let nextSubId = 1

export function openSubscription<T>(
  connection: () => Promise<StreamConn>,
  name: string,
  args: unknown[],
  options: { signal?: AbortSignal; closed: AbortSignal }
): Subscription<T> {
  const queue: T[] = []
  let wake: (() => void) | undefined
  let ended = false
  let failure: Error | undefined
  let current: { conn: StreamConn; id: number; granted: number; delivered: number } | undefined
  let readyResolve!: () => void
  let readyReject!: (e: Error) => void
  const ready = new Promise<void>((resolve, reject) => { readyResolve = resolve; readyReject = reject })
  ready.catch(() => undefined)

  function end(err?: Error): void {
    if (ended) return
    ended = true
    failure = err
    if (current != null) {
      current.conn.subs.delete(current.id)
      if (!current.conn.gone.aborted) current.conn.link.post({ c: 'sub', id: current.id, close: true })
    }
    readyReject(err ?? new AbortError('closed before it was ready'))
    wake?.()
  }

  async function attach(): Promise<void> {
    while (!ended) {
      let conn: StreamConn
      try {
        conn = await connection()
      } catch (err) {
        end(err as Error)
        return
      }
      const id = nextSubId++
      const state = { conn, id, granted: SUB_WINDOW, delivered: 0 }
      current = state
      const gone = new Promise<void>((resolve) => {
        if (conn.gone.aborted) resolve()
        else conn.gone.addEventListener('abort', () => { resolve() }, { once: true })
      })
      conn.subs.set(id, (msg) => {
        if ('items' in msg) {
          for (const item of msg.items) queue.push(item as T)
          wake?.()
        } else if ('end' in msg) {
          conn.subs.delete(id)
          end(msg.error != null ? fromWireError(msg.error) : undefined)
        }
      })
      try {
        await conn.call('stream', [id, name, args], options.signal != null ? { signal: options.signal } : {})
        conn.link.post({ c: 'sub', id, credit: SUB_WINDOW })
        readyResolve()
      } catch (err) {
        conn.subs.delete(id)
        if (!conn.gone.aborted) { end(err as Error); return }
      }
      await gone
      conn.subs.delete(id)
      // The worker went away: re-open on the next one.
    }
  }

  const onAbort = (): void => { end(new AbortError('the subscription was aborted', { cause: options.signal?.reason })) }
  const onClosed = (): void => { end(new ClientClosedError()) }
  if (options.signal?.aborted === true) onAbort()
  options.signal?.addEventListener('abort', onAbort, { once: true })
  options.closed.addEventListener('abort', onClosed, { once: true })
  void attach()

  async function * iterate(): AsyncGenerator<T> {
    try {
      while (true) {
        if (queue.length > 0) {
          const item = queue.shift()!
          const c = current
          if (c != null) {
            c.delivered++
            // Top the credit up when half the window has been read.
            if (c.granted - c.delivered <= SUB_WINDOW / 2 && !c.conn.gone.aborted) {
              c.granted += SUB_WINDOW
              c.conn.link.post({ c: 'sub', id: c.id, credit: SUB_WINDOW })
            }
          }
          yield item
          continue
        }
        if (ended) {
          if (failure != null && failure.name !== 'AbortError' && failure.name !== 'ClientClosedError') throw failure
          return
        }
        await new Promise<void>((resolve) => { wake = resolve })
        wake = undefined
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
      options.closed.removeEventListener('abort', onClosed)
      end()
    }
  }

  const iterator = iterate()
  return {
    ready,
    close: () => { end() },
    [Symbol.asyncIterator]: () => iterator
  }
}

/**
 * A broadcast of values to async-iterable subscribers. Each subscriber has a bounded buffer; a
 * subscriber that falls further behind than its buffer does not lose values silently: its
 * iteration ends with {@link SubscriberOverflowError} so it can re-read from storage.
 * Iteration ends normally when the signal aborts or the broadcast closes: aborting is how a
 * consumer stops listening.
 */
import { WeftError } from './errors.js'

export class SubscriberOverflowError extends WeftError {
  override readonly name: string = 'SubscriberOverflowError'
  static override readonly code: string = 'ERR_SUBSCRIBER_OVERFLOW'
  constructor(message = 'the subscriber fell too far behind and was ended', options?: { cause?: unknown }) { super(message, options) }
}

interface Subscriber<T> {
  accept(value: T): boolean
  buffer: T[]
  /** Index of the next value to deliver in `buffer` (compacted as it is consumed). */
  head: number
  wake: (() => void) | undefined
  ended: boolean
  error: Error | undefined
}

export interface SubscribeOptions<T> {
  signal?: AbortSignal
  /** Only values for which this returns true are delivered. */
  filter?: (value: T) => boolean
  /** Most undelivered values kept before the subscriber is ended. @default 10000 */
  bufferSize?: number
}

export interface Broadcast<T> {
  publish(value: T): void
  subscribe(options?: SubscribeOptions<T>): AsyncIterable<T>
  /** End every subscription normally. */
  close(): void
  readonly subscriberCount: number
}

export function createBroadcast<T>(): Broadcast<T> {
  const subscribers = new Set<Subscriber<T>>()
  let closed = false

  function end(sub: Subscriber<T>, error?: Error): void {
    if (sub.ended) return
    sub.ended = true
    sub.error = error
    subscribers.delete(sub)
    sub.wake?.()
  }

  return {
    get subscriberCount() { return subscribers.size },
    publish(value) {
      for (const sub of subscribers) {
        if (!sub.accept(value)) continue
        sub.buffer.push(value)
        sub.wake?.()
      }
    },
    close() {
      closed = true
      for (const sub of [...subscribers]) end(sub)
    },
    subscribe(options = {}) {
      const { signal, filter, bufferSize = 10_000 } = options
      const sub: Subscriber<T> = {
        accept: (v) => {
          if (filter != null && !filter(v)) return false
          if (sub.buffer.length - sub.head >= bufferSize) {
            end(sub, new SubscriberOverflowError())
            return false
          }
          return true
        },
        buffer: [],
        head: 0,
        wake: undefined,
        ended: false,
        error: undefined
      }
      // Register at once, so values published after subscribe() returns are not missed.
      if (closed) sub.ended = true
      else subscribers.add(sub)
      const onAbort = (): void => end(sub)
      if (signal?.aborted === true) onAbort()
      else signal?.addEventListener('abort', onAbort, { once: true })

      async function * iterate(): AsyncGenerator<T> {
        try {
          while (true) {
            if (sub.head < sub.buffer.length) {
              const value = sub.buffer[sub.head++]!
              if (sub.head === sub.buffer.length) {
                sub.buffer.length = 0
                sub.head = 0
              } else if (sub.head > 1024 && sub.head * 2 > sub.buffer.length) {
                sub.buffer.splice(0, sub.head)
                sub.head = 0
              }
              yield value
              continue
            }
            if (sub.ended) {
              if (sub.error != null) throw sub.error
              return
            }
            await new Promise<void>((resolve) => { sub.wake = resolve })
            sub.wake = undefined
          }
        } finally {
          signal?.removeEventListener('abort', onAbort)
          end(sub)
        }
      }
      return iterate()
    }
  }
}

/**
 * The worker side of subscriptions: one async iterable per subscription id, pumped to the tab as
 * the tab grants credit (pull-based flow control: the worker never sends more than the tab asked
 * for, so a slow tab slows its own stream and, past the source's buffer, ends it with the
 * source's overflow error instead of growing memory without bound).
 */
import { logger } from '../src/core/logger.js'
import { toWireError, type SubMessage } from '../src/contract/index.js'

const log = logger('weft:worker:streams')

export type StreamSource = (signal: AbortSignal) => AsyncIterable<unknown> | Promise<AsyncIterable<unknown>>

export interface StreamServer {
  /** Start pumping `source`; resolves once it is open, rejects (and forgets the id) if opening fails. */
  open(id: number, source: StreamSource): Promise<void>
  receive(msg: SubMessage): void
  closeAll(): void
  readonly size: number
}

export function createStreamServer(send: (msg: SubMessage) => void): StreamServer {
  const streams = new Map<number, { credit: number; wake?: () => void; controller: AbortController }>()

  async function pump(it: AsyncIterator<unknown>, id: number, state: { credit: number; wake?: () => void; controller: AbortController }): Promise<void> {
    const { signal } = state.controller
    try {
      try {
        while (!signal.aborted) {
          while (state.credit <= 0 && !signal.aborted) await new Promise<void>((resolve) => { state.wake = resolve })
          if (signal.aborted) break
          const r = await it.next()
          if (r.done === true) break
          state.credit--
          send({ c: 'sub', id, items: [r.value] })
        }
      } finally {
        await it.return?.()?.catch(() => undefined)
      }
      if (!signal.aborted) send({ c: 'sub', id, end: true })
    } catch (err) {
      if (!signal.aborted) send({ c: 'sub', id, end: true, error: toWireError(err) })
    } finally {
      streams.delete(id)
    }
  }

  return {
    get size() { return streams.size },
    async open(id, source) {
      if (streams.has(id)) return
      const state = { credit: 0, controller: new AbortController() }
      streams.set(id, state)
      let it: AsyncIterator<unknown>
      try {
        it = (await source(state.controller.signal))[Symbol.asyncIterator]()
      } catch (err) {
        streams.delete(id)
        throw err
      }
      void pump(it, id, state).catch((err: Error) => { log.error('stream %d failed: %s', id, err.message) })
    },
    receive(msg) {
      const s = streams.get(msg.id)
      if (s == null) return
      if ('close' in msg) {
        s.controller.abort()
        s.wake?.()
        return
      }
      if ('credit' in msg) {
        s.credit += msg.credit
        s.wake?.()
      }
    },
    closeAll() {
      for (const s of streams.values()) {
        s.controller.abort()
        s.wake?.()
      }
    }
  }
}

/**
 * Calls to the worker: every call has an id, a timeout and the caller's signal, and settles when
 * the first of these happens: the worker answers, the signal aborts (the worker is told to cancel),
 * the timeout passes (likewise), or the connection is gone. So no call hangs when the worker or the
 * tab that ran it dies. Errors come back by name (errors.ts).
 */
import type { Remote } from 'comlink'
import { AbortError, CallTimeoutError, WorkerGoneError, fromWireError } from './errors.js'
import type { ArgsOf, ResultOf, WorkerApi, WorkerMethods } from '../contract/index.js'

export interface CallOptions {
  signal?: AbortSignal
  /** Deadline of this call (ms); the client's default when absent. */
  timeoutMs?: number
}

/** A call by any name (`client.call`: extensions, tests): nothing is checked. */
export type RawCaller = <T>(method: string, args: unknown[], options?: CallOptions) => Promise<T>

/** A call of the contract (src/contract/methods.ts): the method's arguments and answer are typed. */
export type Caller = <M extends keyof WorkerMethods>(method: M, args: ArgsOf<WorkerMethods, M>, options?: CallOptions) => Promise<ResultOf<WorkerMethods, M>>

/** The same function, seen through the contract. */
export function typedCaller(raw: RawCaller): Caller {
  return raw as Caller
}

let nextCallId = 1

export function createCaller(remote: Remote<WorkerApi>, gone: AbortSignal, defaultTimeoutMs: number): RawCaller {
  return async function call<T>(method: string, args: unknown[], options: CallOptions = {}): Promise<T> {
    const { signal } = options
    if (signal?.aborted === true) throw new AbortError(undefined, { cause: signal.reason })
    if (gone.aborted) throw new WorkerGoneError(undefined, { cause: gone.reason })
    const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
    const id = nextCallId++
    let timer: ReturnType<typeof setTimeout> | undefined
    let cleanup = (): void => {}
    const local = new Promise<never>((_resolve, reject) => {
      const onAbort = (): void => {
        remote.cancel(id).catch(() => undefined)
        reject(new AbortError(`${method} was aborted`, { cause: signal?.reason }))
      }
      const onGone = (): void => { reject(new WorkerGoneError(`the worker went away during ${method}`, { cause: gone.reason })) }
      timer = setTimeout(() => {
        remote.cancel(id).catch(() => undefined)
        reject(new CallTimeoutError(`${method} got no answer within ${timeoutMs} ms`))
      }, timeoutMs + 250)
      signal?.addEventListener('abort', onAbort, { once: true })
      gone.addEventListener('abort', onGone, { once: true })
      cleanup = () => {
        signal?.removeEventListener('abort', onAbort)
        gone.removeEventListener('abort', onGone)
      }
    })
    try {
      const envelope = await Promise.race([remote.invoke(id, method, args, timeoutMs), local])
      if (envelope.ok) return envelope.value as T
      const err = fromWireError(envelope.error)
      // The worker's own deadline is the call's timeout.
      if (err.name === 'TimeoutError' && /signal timed out/i.test(err.message)) throw new CallTimeoutError(`${method} got no answer within ${timeoutMs} ms`)
      throw err
    } finally {
      clearTimeout(timer)
      cleanup()
    }
  }
}

/**
 * Helpers for client streams (GetToken, transactions): read the next request within the idle
 * timeout, and the GetToken exchange shared by the DB and Net APIs (their messages have the same
 * shape under two package names).
 */
import { Code, ConnectError, type HandlerContext } from '@connectrpc/connect'
import type { HubAuth } from './auth.js'
import { IdleTimeoutError } from './errors.js'

/**
 * The next request of a client stream, or `undefined` at its end. Waits at most `idleMs`
 * ({@link IdleTimeoutError}); a call cancelled by the client throws `Canceled`, so a cancelled
 * stream is never taken for one that ended.
 */
export async function nextRequest<T>(it: AsyncIterator<T>, ctx: HandlerContext, idleMs: number, what: string): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new IdleTimeoutError(`${what}: no message from the client within ${idleMs} ms`)) }, idleMs)
  })
  try {
    const r = await Promise.race([it.next(), idle])
    // Over HTTP/2 a cancelled call (RST_STREAM) ends the request body a moment before its signal
    // aborts: let the reset land before taking the end of the stream for the client's own end.
    if (r.done === true) await new Promise<void>((resolve) => { setImmediate(resolve) })
    if (ctx.signal.aborted) throw new ConnectError('the call was cancelled', Code.Canceled)
    return r.done === true ? undefined : r.value
  } catch (err) {
    if (ctx.signal.aborted && !(err instanceof ConnectError)) throw new ConnectError('the call was cancelled', Code.Canceled, undefined, undefined, err)
    throw err
  } finally {
    clearTimeout(timer)
  }
}

interface TokenRequest {
  payload: { case: 'key'; value: string } | { case: 'signature'; value: Uint8Array } | { case: undefined; value?: undefined }
}
type TokenReply = { payload: { case: 'challenge'; value: Uint8Array } | { case: 'token'; value: string } }

/**
 * GetToken: `{key}` → `{challenge}` → `{signature}` → `{token}`. The client has the idle timeout
 * to sign. Messages as go-threads words them: `Key is required`, `Signature is required`,
 * `Challenge deadline exceeded`.
 */
export async function * tokenExchange(auth: HubAuth, requests: AsyncIterable<TokenRequest>, ctx: HandlerContext, idleMs: number): AsyncGenerator<TokenReply> {
  const it = requests[Symbol.asyncIterator]()
  const first = await nextRequest(it, ctx, idleMs, 'GetToken')
  if (first?.payload.case !== 'key') throw new ConnectError('Key is required', Code.InvalidArgument)
  const identity = first.payload.value
  const challenge = await auth.challenge(identity)
  yield { payload: { case: 'challenge', value: challenge } }
  let second: TokenRequest | undefined
  try {
    second = await nextRequest(it, ctx, idleMs, 'GetToken')
  } catch (err) {
    if (err instanceof IdleTimeoutError) throw new ConnectError('Challenge deadline exceeded', Code.DeadlineExceeded, undefined, undefined, err)
    throw err
  }
  if (second?.payload.case !== 'signature') throw new ConnectError('Signature is required', Code.InvalidArgument)
  const token = await auth.complete(identity, challenge, second.payload.value)
  yield { payload: { case: 'token', value: token } }
}

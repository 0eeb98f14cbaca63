/**
 * Request/response over libp2p streams: one stream per request, length-prefixed dag-cbor frames
 * bounded by MAX_FRAME_BYTES. Writes wait for the stream to drain (back-pressure) and every read
 * and write has a deadline, so a peer that stops reading cannot pin our memory or a handler.
 */
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { AbortError } from '../core/errors.js'
import { InvalidMessageError, RemoteError, TimeoutError } from './errors.js'
import {
  PROTOCOL, MAX_FRAME_BYTES, encodeMessage, decodeResponse,
  type Request, type Response
} from './messages.js'

export interface RequestOptions {
  signal?: AbortSignal
  /** Deadline for the whole exchange. @default 10000 */
  timeoutMs?: number
}

/** An open exchange with a peer: read its frames, then close. */
export interface Exchange {
  read(): Promise<Response>
  close(): Promise<void>
  abort(err: Error): void
  readonly signal: AbortSignal
}

function combine(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return signal == null ? timeout : AbortSignal.any([signal, timeout])
}

function asNamedError(err: unknown, signal: AbortSignal, what: string): Error {
  if (err instanceof InvalidMessageError || err instanceof RemoteError) return err
  if (signal.aborted) {
    const reason: unknown = signal.reason
    if (reason instanceof Error && reason.name === 'TimeoutError') return new TimeoutError(`${what} timed out`, { cause: err })
    return new AbortError(`${what} was aborted`, { cause: err })
  }
  const e = err as { name?: string }
  if (e?.name === 'InvalidDataLengthError' || e?.name === 'InvalidDataLengthLengthError') {
    return new InvalidMessageError('frame over the size limit', { cause: err })
  }
  return err instanceof Error ? err : new Error(String(err))
}

/** Open a stream to `peer`, send `request`, and return the exchange to read answers from. */
export async function openExchange(libp2p: Libp2p, peer: PeerId, request: Request, options: RequestOptions = {}): Promise<Exchange> {
  const signal = combine(options.signal, options.timeoutMs ?? 10_000)
  let stream: Stream | undefined
  try {
    // Optimistic protocol selection: the protocol name travels with the request (one round trip).
    stream = await libp2p.dialProtocol(peer, PROTOCOL, { signal, runOnLimitedConnection: true, negotiateFully: false })
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    await lp.write(encodeMessage(request), { signal })
    const s = stream
    return {
      signal,
      async read() {
        try {
          const frame = await lp.read({ signal })
          return decodeResponse(frame.subarray())
        } catch (err) {
          const named = asNamedError(err, signal, `${request.type} from ${peer.toString()}`)
          s.abort(named)
          throw named
        }
      },
      async close() {
        try { await s.close({ signal: AbortSignal.timeout(2_000) }) } catch { s.abort(new Error('close failed')) }
      },
      abort(err) { s.abort(err) }
    }
  } catch (err) {
    const named = asNamedError(err, signal, `${request.type} to ${peer.toString()}`)
    stream?.abort(named)
    throw named
  }
}

/** Send a request and read exactly one answer; an `error` answer becomes a RemoteError. */
export async function request(libp2p: Libp2p, peer: PeerId, req: Request, options: RequestOptions = {}): Promise<Response> {
  const ex = await openExchange(libp2p, peer, req, options)
  try {
    const res = await ex.read()
    if (res.type === 'error') throw new RemoteError(res.code, res.message)
    return res
  } finally {
    await ex.close()
  }
}

/** Server side of one stream: frames in, frames out, each with a deadline. */
export interface ServerStream {
  readonly lp: LengthPrefixedStream<Stream>
  readonly stream: Stream
  write(res: Response): Promise<void>
}

export function serverStream(stream: Stream, writeTimeoutMs: number): ServerStream {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  return {
    lp,
    stream,
    async write(res) {
      await lp.write(encodeMessage(res), { signal: AbortSignal.timeout(writeTimeoutMs) })
    }
  }
}

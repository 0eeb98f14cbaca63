/**
 * One session of `/weft/net/2.0.0`: a long-lived channel between two peers carrying many requests
 * in both directions at once. Each request has an ID and its own deadline; `getRecords` answers
 * stream under byte credit the requester grants as it consumes, so a large catch-up never holds up
 * a push or a heads exchange (which also jump the queue of frames waiting to be written). When the
 * channel dies every pending request fails with {@link SessionClosedError}, a transport failure
 * that is never held against the peer. Frames that do not decode, replies of the wrong type and
 * records past the granted credit are violations: reported (the caller strikes the peer) and the
 * session is torn down.
 */
import type { Logger } from '../core/logger.js'
import { AbortError } from '../core/errors.js'
import { describeError, InvalidMessageError, RemoteError, RequestRefusedError, SessionClosedError, TimeoutError } from './errors.js'
import {
  decodeFrame, encodeFrame, isRequest, MAX_CREDIT, MAX_REQUEST_ID,
  type EndFrame, type Frame, type GetRecordsRequest, type RecordFrame, type Request, type RequestBody, type Response, type ResponseBody
} from './messages.js'
import { deadline, type Timers, type TimerHandle } from './timers.js'
import type { Channel } from './transport.js'

export interface SessionLimits {
  /** Requests from the peer served at once; more are answered `BUSY`. @default 64 */
  maxInboundRequests?: number
  /** `getRecords` streams served at once; more are answered `BUSY`. @default 4 */
  maxInboundStreams?: number
  /** Longest wait for the transport to take a frame, or for credit to send the next record. @default 10000 */
  stallTimeoutMs?: number
  /** Frames waiting to be written before the peer counts as not reading (the session closes). @default 4096 */
  maxQueuedFrames?: number
}

/** What a request handler answers through. */
export interface Responder {
  /** Aborted when the requester cancels or the session ends. */
  readonly signal: AbortSignal
  /** Send the one answer (or, for `getRecords`, the final `end`). */
  reply(res: ResponseBody): Promise<void>
  /** Send one record frame of a `getRecords` answer; waits for credit (at most the stall timeout). */
  record(frame: Omit<RecordFrame, 'type' | 're'>): Promise<void>
}

export interface SessionInit {
  channel: Channel
  timers: Timers
  log: Logger
  limits?: SessionLimits
  /** Serve one request of the peer. Called synchronously on arrival (so arrival order can be kept). */
  serve(req: Request, responder: Responder): Promise<void>
  /** The peer sent provably malformed data; the session is being torn down. */
  onViolation(err: InvalidMessageError): void
  /** The session is finished (once). */
  onClose(err?: Error): void
}

export interface RequestOptions {
  /** Deadline for the answer (for streams: for each next frame). */
  timeoutMs: number
  signal?: AbortSignal
}

export interface StreamOptions extends RequestOptions {
  /** Bytes of record frames the responder may send ahead of our consumption. */
  window: number
}

export interface Session {
  readonly peer: string
  readonly direction: 'inbound' | 'outbound'
  readonly remoteAddr: string
  readonly via: Channel['via']
  readonly openedAt: number
  readonly closed: boolean
  /** No new requests of ours go on a draining session (another one is preferred). */
  draining: boolean
  /** Our requests in flight plus the peer's being served. */
  readonly busy: number
  /** When a frame last went either way. */
  readonly lastActivity: number
  /** Send a request and wait for its one answer; an `error` answer rejects with {@link RemoteError}. */
  request<T extends Response['type']>(req: RequestBody, expect: T[], options: RequestOptions): Promise<Extract<Response, { type: T }>>
  /** Send `getRecords` and iterate its record frames, then its `end`. */
  stream(req: Omit<GetRecordsRequest, 'id' | 'credit'>, options: StreamOptions): AsyncIterable<RecordFrame | EndFrame>
  /** Close gracefully: our end closes once everything queued is written. */
  close(): void
  abort(err: Error): void
}

interface Outgoing {
  deliver(frame: Response, size: number): void
  fail(err: Error): void
}

interface Incoming {
  controller: AbortController
  stream: boolean
  /** Bytes of record frames we may still send. */
  allowance: number
  wake: (() => void) | undefined
  /** Settled once the channel took the last record frame queued (the answer goes after it). */
  recordsSent: Promise<void>
}

/** Bytes of queued frames handed to the channel in one turn. */
const MAX_BATCH_BYTES = 256 * 1024
/** Bytes of record frames a session queues before a handler waits for the channel to take them. */
const MAX_QUEUED_DATA_BYTES = 256 * 1024

interface QueuedFrame {
  bytes: Uint8Array
  urgent: boolean
  resolve(): void
  reject(err: Error): void
}

export function createSession(init: SessionInit): Session {
  const { channel, timers, log } = init
  const maxInbound = init.limits?.maxInboundRequests ?? 64
  const maxInboundStreams = init.limits?.maxInboundStreams ?? 4
  const stallMs = init.limits?.stallTimeoutMs ?? 10_000
  const maxQueued = init.limits?.maxQueuedFrames ?? 4096
  const outgoing = new Map<number, Outgoing>()
  const incoming = new Map<number, Incoming>()
  const control: QueuedFrame[] = []
  const data: QueuedFrame[] = []
  let nextId = 1
  /** Bytes of the frames in `data`. */
  let queuedData = 0
  let writing = false
  let closed = false
  let closing = false
  let lastActivity = timers.now()
  let lastReceived = lastActivity
  let closeError: Error | undefined

  function finish(err?: Error): void {
    if (closed) return
    closed = true
    closeError = err
    const failure = new SessionClosedError(
      err == null ? `the session with ${channel.peer} closed before the answer` : `the session with ${channel.peer} failed: ${describeError(err)}`,
      err == null ? undefined : { cause: err })
    for (const q of [...control.splice(0), ...data.splice(0)]) q.reject(failure)
    queuedData = 0
    for (const o of [...outgoing.values()]) o.fail(failure)
    outgoing.clear()
    for (const i of incoming.values()) { i.controller.abort(failure); i.wake?.() }
    incoming.clear()
    init.onClose(err)
  }

  function abort(err: Error): void {
    if (closed) return
    finish(err)
    channel.abort(err)
  }

  function violation(err: InvalidMessageError): void {
    if (closed) return
    log('session with %s: %s', channel.peer, err.message)
    init.onViolation(err)
    abort(err)
  }

  async function pump(): Promise<void> {
    if (writing) return
    writing = true
    try {
      while (!closed) {
        // Everything queued, control frames first, goes to the channel in one turn (up to a
        // bound), so the transport writes it together.
        const batch: QueuedFrame[] = []
        let bytes = 0
        while (bytes < MAX_BATCH_BYTES) {
          const next = control.shift() ?? data.shift()
          if (next == null) break
          if (!next.urgent) queuedData -= next.bytes.byteLength
          batch.push(next)
          bytes += next.bytes.byteLength
        }
        if (batch.length === 0) break
        let timer: TimerHandle | undefined
        try {
          await Promise.race([
            Promise.all(batch.map(async (f) => { await channel.send(f.bytes) })),
            new Promise<never>((_resolve, reject) => {
              timer = timers.setTimeout(() => { reject(new TimeoutError(`${channel.peer} took no data for ${stallMs} ms`)) }, stallMs)
            })
          ])
          lastActivity = timers.now()
          for (const f of batch) f.resolve()
        } catch (err) {
          for (const f of batch) f.reject(err as Error)
          abort(err as Error)
        } finally {
          if (timer !== undefined) timers.clearTimeout(timer)
        }
      }
      if (closing && !closed && control.length === 0 && data.length === 0) channel.close()
    } finally {
      writing = false
    }
  }

  /** Queue a frame: its size, and a promise settled once the channel took it. */
  function enqueue(frame: Frame, urgent: boolean): { size: number; sent: Promise<void> } {
    if (closed) throw new SessionClosedError(`the session with ${channel.peer} is closed`, closeError == null ? undefined : { cause: closeError })
    if (control.length + data.length >= maxQueued) {
      const err = new TimeoutError(`${channel.peer} is not reading (${maxQueued} frames queued)`)
      abort(err)
      throw new SessionClosedError(`the session with ${channel.peer} failed: ${err.message}`, { cause: err })
    }
    const bytes = encodeFrame(frame)
    if (!urgent) queuedData += bytes.byteLength
    const sent = new Promise<void>((resolve, reject) => {
      (urgent ? control : data).push({ bytes, urgent, resolve, reject })
    })
    void pump().catch(() => undefined)
    return { size: bytes.byteLength, sent }
  }

  async function write(frame: Frame, urgent: boolean): Promise<number> {
    const { size, sent } = enqueue(frame, urgent)
    await sent
    return size
  }

  function allocateId(): number {
    for (let tries = 0; tries < 1024; tries++) {
      const id = nextId
      nextId = nextId >= MAX_REQUEST_ID ? 1 : nextId + 1
      if (!outgoing.has(id)) return id
    }
    throw new SessionClosedError('no free request ID on the session')
  }

  function onRequest(req: Request): void {
    if (incoming.has(req.id)) {
      violation(new InvalidMessageError(`request ID ${req.id} is already in use`))
      return
    }
    const isStream = req.type === 'getRecords'
    const streams = [...incoming.values()].filter((i) => i.stream).length
    if (incoming.size >= maxInbound || (isStream && streams >= maxInboundStreams)) {
      void write({ type: 'error', re: req.id, code: 'BUSY', message: 'too many requests at once' }, true).catch(() => undefined)
      return
    }
    const state: Incoming = { controller: new AbortController(), stream: isStream, allowance: isStream ? req.credit : 0, wake: undefined, recordsSent: Promise.resolve() }
    /** An answer (control frame, which jumps the queue) goes after the records queued before it. */
    const answer = async (res: Response): Promise<void> => {
      await state.recordsSent
      await write(res, true)
    }
    incoming.set(req.id, state)
    let answered = false
    const responder: Responder = {
      signal: state.controller.signal,
      async reply(res) {
        if (state.controller.signal.aborted) return
        answered = true
        await answer({ ...res, re: req.id } as Response)
      },
      async record(frame) {
        while (state.allowance <= 0) {
          state.controller.signal.throwIfAborted()
          const wait = deadline(timers, stallMs, `waiting for ${channel.peer} to take records`, state.controller.signal)
          try {
            await new Promise<void>((resolve, reject) => {
              state.wake = resolve
              wait.signal.addEventListener('abort', () => { reject(wait.signal.reason as Error) }, { once: true })
            })
          } finally {
            state.wake = undefined
            wait.clear()
          }
        }
        state.controller.signal.throwIfAborted()
        // The record is queued, not waited for, while little is queued: the handler reads the
        // next ones meanwhile and the writer sends them together.
        const { size, sent } = enqueue({ ...frame, type: 'record', re: req.id }, false)
        state.allowance -= size
        state.recordsSent = sent.catch(() => undefined)
        if (queuedData > MAX_QUEUED_DATA_BYTES) await sent
      }
    }
    let served: Promise<void>
    try {
      served = init.serve(req, responder)
    } catch (err) {
      served = Promise.reject(err)
    }
    served.then(async () => {
      if (!answered && !state.controller.signal.aborted) {
        await answer({ type: 'error', re: req.id, code: 'INTERNAL', message: 'no answer' })
      }
    }, async (err: unknown) => {
      if (state.controller.signal.aborted || closed) return
      if (err instanceof RequestRefusedError) {
        await answer({ type: 'error', re: req.id, code: err.wireCode, message: err.message.slice(0, 512) })
        return
      }
      if (err instanceof TimeoutError) {
        // The requester took no records for the stall timeout: give up the request, not the session.
        await answer({ type: 'error', re: req.id, code: 'BUSY', message: 'gave up waiting for credit' })
        return
      }
      log('serving %s from %s failed: %s', req.type, channel.peer, describeError(err))
      await answer({ type: 'error', re: req.id, code: 'INTERNAL', message: 'the request failed' })
    }).catch(() => undefined).finally(() => {
      if (incoming.get(req.id) === state) incoming.delete(req.id)
    })
  }

  function onFrame(bytes: Uint8Array): void {
    if (closed) return
    lastActivity = lastReceived = timers.now()
    let frame: Frame
    try {
      frame = decodeFrame(bytes)
    } catch (err) {
      violation(err instanceof InvalidMessageError ? err : new InvalidMessageError('undecodable frame', { cause: err }))
      return
    }
    if ('re' in frame) {
      // An answer to a request we no longer wait for (cancelled, timed out) is dropped.
      outgoing.get(frame.re)?.deliver(frame, bytes.byteLength)
      return
    }
    if (isRequest(frame)) {
      onRequest(frame)
      return
    }
    const state = incoming.get(frame.id)
    if (state == null) return
    if (frame.type === 'cancel') {
      incoming.delete(frame.id)
      state.controller.abort(new AbortError(`${channel.peer} cancelled the request`))
      state.wake?.()
      return
    }
    if (!state.stream) {
      violation(new InvalidMessageError(`credit for request ${frame.id}, which is not a stream`))
      return
    }
    // Credit beyond what any answer can use is clamped, not an error.
    state.allowance = Math.min(state.allowance + frame.n, 4 * MAX_CREDIT)
    state.wake?.()
  }

  /** A deadline passed: if the peer has sent nothing for as long, the link is presumed dead. */
  function onTimeout(timeoutMs: number): void {
    if (timers.now() - lastReceived >= timeoutMs) abort(new TimeoutError(`${channel.peer} sent nothing for ${timeoutMs} ms`))
  }

  async function request<T extends Response['type']>(req: RequestBody, expect: T[], options: RequestOptions): Promise<Extract<Response, { type: T }>> {
    options.signal?.throwIfAborted()
    if (closed || closing) throw new SessionClosedError(`the session with ${channel.peer} is closed`)
    const id = allocateId()
    const what = `${req.type} to ${channel.peer}`
    const limit = deadline(timers, options.timeoutMs, what, options.signal)
    try {
      return await new Promise<Extract<Response, { type: T }>>((resolve, reject) => {
        outgoing.set(id, {
          deliver(frame) {
            outgoing.delete(id)
            if (frame.type === 'error') {
              reject(new RemoteError(frame.code, frame.message))
            } else if (!(expect as string[]).includes(frame.type)) {
              const err = new InvalidMessageError(`expected ${expect.join(' or ')} in answer to ${req.type}, got ${frame.type}`)
              reject(err)
              violation(err)
            } else {
              resolve(frame as Extract<Response, { type: T }>)
            }
          },
          fail(err) { outgoing.delete(id); reject(err) }
        })
        limit.signal.addEventListener('abort', () => {
          if (!outgoing.has(id)) return
          outgoing.delete(id)
          const reason = limit.signal.reason as Error
          reject(reason)
          if (reason instanceof TimeoutError) onTimeout(options.timeoutMs)
        }, { once: true })
        write({ ...req, id } as Request, true).catch((err: Error) => { outgoing.get(id)?.fail(err) })
      })
    } finally {
      limit.clear()
    }
  }

  async function * stream(req: Omit<GetRecordsRequest, 'id' | 'credit'>, options: StreamOptions): AsyncGenerator<RecordFrame | EndFrame> {
    options.signal?.throwIfAborted()
    if (closed || closing) throw new SessionClosedError(`the session with ${channel.peer} is closed`)
    const id = allocateId()
    const what = `getRecords from ${channel.peer}`
    const limit = deadline(timers, options.timeoutMs, what, options.signal)
    const queue: Array<{ frame: RecordFrame | EndFrame; size: number }> = []
    let failure: Error | undefined
    let wake: (() => void) | undefined
    let allowance = options.window
    let consumed = 0
    let ended = false
    const fail = (err: Error): void => {
      failure ??= err
      outgoing.delete(id)
      wake?.()
    }
    outgoing.set(id, {
      deliver(frame, size) {
        if (frame.type === 'error') { fail(new RemoteError(frame.code, frame.message)); return }
        if (frame.type !== 'record' && frame.type !== 'end') {
          const err = new InvalidMessageError(`expected records in answer to getRecords, got ${frame.type}`)
          fail(err)
          violation(err)
          return
        }
        if (frame.type === 'record') {
          if (allowance <= 0) {
            const err = new InvalidMessageError(`${channel.peer} sent records past the credit it was given`)
            fail(err)
            violation(err)
            return
          }
          allowance -= size
        } else {
          outgoing.delete(id)
        }
        queue.push({ frame, size })
        wake?.()
      },
      fail
    })
    limit.signal.addEventListener('abort', () => {
      const reason = limit.signal.reason as Error
      fail(reason)
      if (reason instanceof TimeoutError) onTimeout(options.timeoutMs)
    }, { once: true })
    try {
      await write({ ...req, type: 'getRecords', id, credit: options.window }, true)
      while (true) {
        const next = queue.shift()
        if (next == null) {
          if (failure != null) throw failure
          // The deadline runs only while we wait for the peer, not while our consumer works.
          limit.extend(options.timeoutMs)
          await new Promise<void>((resolve) => { wake = resolve })
          wake = undefined
          continue
        }
        limit.pause()
        if (next.frame.type === 'end') {
          ended = true
          yield next.frame
          return
        }
        consumed += next.size
        if (consumed * 2 >= options.window) {
          allowance += consumed
          const n = consumed
          consumed = 0
          void write({ type: 'credit', id, n }, true).catch(() => undefined)
        }
        yield next.frame
      }
    } finally {
      limit.clear()
      if (outgoing.has(id)) outgoing.delete(id)
      if (!ended && !closed) void write({ type: 'cancel', id }, true).catch(() => undefined)
    }
  }

  const session: Session = {
    peer: channel.peer,
    direction: channel.direction,
    remoteAddr: channel.remoteAddr,
    via: channel.via,
    openedAt: timers.now(),
    draining: false,
    get closed() { return closed || closing },
    get busy() { return outgoing.size + incoming.size },
    get lastActivity() { return lastActivity },
    request,
    stream: (req, options) => stream(req, options),
    close() {
      if (closed || closing) return
      closing = true
      if (!writing && control.length === 0 && data.length === 0) channel.close()
    },
    abort
  }

  // Frames are delivered from the next microtask on: whoever made the session holds it by then.
  queueMicrotask(() => {
    channel.start({
      onFrame,
      onClose: (err) => {
        // The transport closes with an InvalidMessageError only when the peer broke the framing.
        if (err instanceof InvalidMessageError && !closed) {
          log('session with %s: %s', channel.peer, err.message)
          init.onViolation(err)
        }
        finish(err)
      }
    })
  })
  return session
}

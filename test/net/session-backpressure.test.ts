/**
 * A peer that asks for records and then stops reading them: the serving session holds at most
 * a bounded number of bytes for it (what the channel took in its last write, plus 256 KiB queued),
 * the handler serving the request waits instead of reading more records, and once the channel has
 * taken nothing for the stall timeout the session ends with TimeoutError — the handler is released
 * with SessionClosedError and no violation is counted (a slow or vanished peer broke no rule).
 * Virtual time, and a channel written by hand whose peer never reads.
 */
import { describe, expect, it } from 'vitest'
import { logger } from '../../src/core/logger.js'
import { SessionClosedError, TimeoutError } from '../../src/net/errors.js'
import { encodeFrame, MAX_CREDIT, type Request } from '../../src/net/messages.js'
import { createSession, type Responder } from '../../src/net/session.js'
import type { Channel, ChannelHandlers } from '../../src/net/transport.js'
import { createVirtualClock } from '../sim/virtual-time.js'

const log = logger('weft:test:session-backpressure')
const auth = { thread: new Uint8Array(34).fill(1), kid: new Uint8Array(16), auth: new Uint8Array(32) }
const STALL_MS = 5000
const KiB = 1024

/** A channel whose peer reads nothing: every send stays pending until the channel is torn down. */
function stalledChannel(): { channel: Channel; deliver(frame: Uint8Array): void; taken: () => number; aborted: () => Error | undefined } {
  let handlers: ChannelHandlers | undefined
  let takenBytes = 0
  let abortedWith: Error | undefined
  const pending: Array<(err: Error) => void> = []
  const channel: Channel = {
    peer: '12D3KooWStalled11111111111111111111111111111111111111',
    direction: 'inbound',
    remoteAddr: '/ip4/127.0.0.1/tcp/1',
    via: 'direct',
    start(h) { handlers = h },
    send(frame) {
      if (abortedWith !== undefined) return Promise.reject(abortedWith)
      takenBytes += frame.byteLength
      return new Promise<void>((_resolve, reject) => { pending.push(reject) })
    },
    close() {},
    abort(err) {
      abortedWith = err
      for (const reject of pending.splice(0)) reject(err)
      handlers?.onClose(err)
    }
  }
  return { channel, deliver: (frame) => handlers!.onFrame(frame), taken: () => takenBytes, aborted: () => abortedWith }
}

describe('a session whose peer stops reading', () => {
  it('holds a bounded number of bytes for it, makes the handler wait, and ends with TimeoutError after the stall timeout', async () => {
    const clock = createVirtualClock()
    const { channel, deliver, taken, aborted } = stalledChannel()
    const closed: Array<Error | undefined> = []
    const violations: Error[] = []
    let written = 0
    let handlerError: unknown
    let handlerDone = false
    const frameBytes = 4000
    const serve = async (req: Request, r: Responder): Promise<void> => {
      if (req.type !== 'getRecords') return
      try {
        // A log far larger than the peer will ever read: 32 MiB of records.
        for (let counter = 1; counter <= 8192; counter++) {
          await r.record({ log: new Uint8Array(16), counter, blocks: [new Uint8Array(100), new Uint8Array(100), new Uint8Array(100), new Uint8Array(frameBytes)] })
          written++
        }
      } catch (err) {
        handlerError = err
      } finally {
        handlerDone = true
      }
    }
    createSession({ channel, timers: clock, log, serve, onViolation: (e) => violations.push(e), onClose: (e) => closed.push(e), limits: { stallTimeoutMs: STALL_MS } })
    await clock.runFor(0)
    // The peer asks with all the credit it may give, then reads nothing.
    deliver(encodeFrame({ type: 'getRecords', id: 1, ...auth, logs: [], limit: 10_000, credit: MAX_CREDIT }))

    await clock.runFor(STALL_MS / 2)
    // Half the stall timeout on: the handler is parked, far short of the credit it was given.
    expect(handlerDone).toBe(false)
    const frameSize = encodeFrame({ type: 'record', re: 1, log: new Uint8Array(16), counter: 1, blocks: [new Uint8Array(100), new Uint8Array(100), new Uint8Array(100), new Uint8Array(frameBytes)] }).byteLength
    // It queued records until 256 KiB were waiting, and no further.
    expect(written).toBeGreaterThanOrEqual(Math.floor(256 * KiB / frameSize) - 2)
    expect(written).toBeLessThanOrEqual(Math.ceil(256 * KiB / frameSize) + 2)
    // What the channel took (its write in progress) is at most one turn's 256 KiB.
    expect(taken()).toBeGreaterThan(0)
    expect(taken()).toBeLessThanOrEqual(256 * KiB + frameBytes + KiB)
    expect(closed).toEqual([])
    const parkedAt = written

    await clock.runFor(STALL_MS)
    expect(written).toBe(parkedAt)
    expect(aborted()).toBeInstanceOf(TimeoutError)
    expect(closed).toHaveLength(1)
    expect(closed[0]).toBeInstanceOf(TimeoutError)
    expect(handlerDone).toBe(true)
    expect(handlerError).toBeInstanceOf(SessionClosedError)
    expect(violations).toEqual([])
  })
})

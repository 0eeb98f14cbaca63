/**
 * Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014). A timestamp is
 * `{ wall, counter }`: `wall` is milliseconds since the Unix epoch (never behind the physical clock
 * that produced it, and never going backwards), `counter` orders events within one `wall` value.
 * Timestamps order by `wall`, then `counter`; ties between logs are broken by the caller (log ID).
 *
 * Wire form: a 2-element dag-cbor array `[wall, counter]` of unsigned integers.
 */
import { InvalidClockError } from './errors.js'

export interface HLC {
  /** Milliseconds since the Unix epoch; a safe integer ≥ 0. */
  readonly wall: number
  /** Logical counter within `wall`; 0..2^32-1. */
  readonly counter: number
}

/** Largest counter value; a counter that would pass it carries into `wall` instead. */
export const MAX_HLC_COUNTER = 0xffff_ffff
/** How far ahead of local physical time a received timestamp may be, unless configured. */
export const DEFAULT_MAX_DRIFT_MS = 60_000

/** True if `t` is a well-formed timestamp. */
export function isHLC(t: unknown): t is HLC {
  if (t == null || typeof t !== 'object') return false
  const { wall, counter } = t as { wall?: unknown; counter?: unknown }
  return Number.isSafeInteger(wall) && (wall as number) >= 0 &&
    Number.isInteger(counter) && (counter as number) >= 0 && (counter as number) <= MAX_HLC_COUNTER
}

function check(t: unknown): HLC {
  if (!isHLC(t)) throw new InvalidClockError('timestamp must be { wall: safe integer ≥ 0, counter: 0..2^32-1 }')
  return t
}

/** Order two timestamps: negative if `a` is earlier, 0 if equal, positive if later. */
export function compareHLC(a: HLC, b: HLC): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1
  return 0
}

/** The wire form `[wall, counter]`. */
export function encodeHLC(t: HLC): [number, number] {
  check(t)
  return [t.wall, t.counter]
}

/** Parse the wire form; anything but `[wall, counter]` in range is an {@link InvalidClockError}. */
export function decodeHLC(value: unknown): HLC {
  if (!Array.isArray(value) || value.length !== 2) throw new InvalidClockError('timestamp must be a [wall, counter] array')
  return check({ wall: value[0] as unknown, counter: value[1] as unknown })
}

export interface ClockInit {
  /** Physical time source in ms since the epoch. @default Date.now */
  now?: () => number
  /** Largest lead of a received timestamp over local physical time. @default 60_000 */
  maxDriftMs?: number
  /** Start after this timestamp (e.g. the latest one persisted). @default { wall: 0, counter: 0 } */
  last?: HLC
}

export interface Clock {
  /**
   * Timestamp a local event (or a message to send): strictly after every timestamp seen so far.
   * `at`: the wall time the caller already gave the event (when it checked it) — used when that
   * still orders after every timestamp seen and is not ahead of the physical clock, else ignored.
   */
  send(at?: number): HLC
  /** Alias of {@link Clock.send}. */
  tick(): HLC
  /**
   * Merge a remote timestamp; returns the new clock value, strictly after both the previous
   * value and `remote`. A remote timestamp more than `maxDriftMs` ahead of local physical time is
   * rejected with {@link InvalidClockError}, and the clock does not move.
   */
  receive(remote: HLC): HLC
  /** The latest timestamp issued or merged. */
  last(): HLC
}

/** Create a hybrid logical clock. */
export function createClock(init: ClockInit = {}): Clock {
  const now = init.now ?? Date.now
  const maxDriftMs = init.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS
  if (!(maxDriftMs >= 0)) throw new InvalidClockError('maxDriftMs must be ≥ 0')
  let last: HLC = init.last === undefined ? { wall: 0, counter: 0 } : check(init.last)

  const physical = (): number => {
    const t = Math.floor(now())
    if (!Number.isSafeInteger(t) || t < 0) throw new InvalidClockError('physical clock returned an invalid time')
    return t
  }

  /** `{ wall, counter }`, carrying an overflowing counter into the wall (1 ms ahead). */
  const make = (wall: number, counter: number): HLC =>
    counter > MAX_HLC_COUNTER ? { wall: wall + 1, counter: 0 } : { wall, counter }

  const send = (at?: number): HLC => {
    const pt = physical()
    const wall = at !== undefined && Number.isSafeInteger(at) && at >= last.wall && at <= pt ? at : pt
    last = wall > last.wall ? { wall, counter: 0 } : make(last.wall, last.counter + 1)
    return last
  }

  const receive = (remote: HLC): HLC => {
    check(remote)
    const pt = physical()
    if (remote.wall - pt > maxDriftMs) {
      throw new InvalidClockError(`remote timestamp is ${remote.wall - pt} ms ahead of local time (limit ${maxDriftMs} ms)`)
    }
    const wall = Math.max(last.wall, remote.wall, pt)
    let counter: number
    if (wall === last.wall && wall === remote.wall) counter = Math.max(last.counter, remote.counter) + 1
    else if (wall === last.wall) counter = last.counter + 1
    else if (wall === remote.wall) counter = remote.counter + 1
    else counter = 0
    last = make(wall, counter)
    return last
  }

  return { send, tick: send, receive, last: () => last }
}

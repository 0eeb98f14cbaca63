import { describe, it, expect } from 'vitest'
import * as dagCbor from '@ipld/dag-cbor'
import { compareHLC, createClock, decodeHLC, encodeHLC, isHLC, MAX_HLC_COUNTER, toHex } from '../../src/core/index.js'
import type { HLC } from '../../src/core/index.js'

function manualClock(start: number): { now: () => number; set: (t: number) => void } {
  let t = start
  return { now: () => t, set: (v) => { t = v } }
}

describe('hybrid logical clock', () => {
  it('orders by wall time, then counter', () => {
    expect(compareHLC({ wall: 1, counter: 5 }, { wall: 2, counter: 0 })).toBeLessThan(0)
    expect(compareHLC({ wall: 2, counter: 1 }, { wall: 2, counter: 0 })).toBeGreaterThan(0)
    expect(compareHLC({ wall: 2, counter: 1 }, { wall: 2, counter: 1 })).toBe(0)
  })

  it('stamps local events with physical time and counter 0 while time advances', () => {
    const pt = manualClock(1000)
    const clock = createClock({ now: pt.now })
    expect(clock.send()).toEqual({ wall: 1000, counter: 0 })
    pt.set(1005)
    expect(clock.tick()).toEqual({ wall: 1005, counter: 0 })
  })

  it('stamps a local event with the wall time the caller gave it when that orders after every time seen and is not ahead of physical time', () => {
    const pt = manualClock(1000)
    const clock = createClock({ now: pt.now })
    expect(clock.send()).toEqual({ wall: 1000, counter: 0 })
    pt.set(1010)
    expect(clock.send(1004)).toEqual({ wall: 1004, counter: 0 })
    expect(clock.send(1004)).toEqual({ wall: 1004, counter: 1 })
    expect(clock.send(1002), 'before a time seen: ignored').toEqual({ wall: 1010, counter: 0 })
    expect(clock.send(1020), 'ahead of physical time: ignored').toEqual({ wall: 1010, counter: 1 })
    expect(clock.send(1.5), 'not an integer: ignored').toEqual({ wall: 1010, counter: 2 })
  })

  it('increments the counter when physical time stands still or goes backwards', () => {
    const pt = manualClock(1000)
    const clock = createClock({ now: pt.now })
    clock.send()
    expect(clock.send()).toEqual({ wall: 1000, counter: 1 })
    pt.set(900)
    expect(clock.send()).toEqual({ wall: 1000, counter: 2 })
    expect(clock.last()).toEqual({ wall: 1000, counter: 2 })
  })

  it('is strictly monotonic over many events with a jumpy physical clock', () => {
    let i = 0
    const times = [5, 5, 3, 8, 8, 8, 2, 9, 9, 1]
    const clock = createClock({ now: () => times[i++ % times.length]! })
    let prev: HLC = { wall: 0, counter: 0 }
    for (let n = 0; n < 1000; n++) {
      const t = n % 3 === 0 ? clock.receive({ wall: (n % 10) + 1, counter: n % 4 }) : clock.send()
      expect(compareHLC(t, prev)).toBeGreaterThan(0)
      prev = t
    }
  })

  describe('receive', () => {
    it('takes physical time when it is ahead of both', () => {
      const clock = createClock({ now: () => 2000, last: { wall: 1000, counter: 4 } })
      expect(clock.receive({ wall: 1500, counter: 9 })).toEqual({ wall: 2000, counter: 0 })
    })

    it('takes the remote wall time and counter + 1 when the remote is ahead', () => {
      const clock = createClock({ now: () => 1000, last: { wall: 1000, counter: 4 } })
      expect(clock.receive({ wall: 1200, counter: 7 })).toEqual({ wall: 1200, counter: 8 })
    })

    it('keeps its own wall time and increments its counter when it is ahead', () => {
      const clock = createClock({ now: () => 1000, last: { wall: 1300, counter: 4 } })
      expect(clock.receive({ wall: 1200, counter: 7 })).toEqual({ wall: 1300, counter: 5 })
    })

    it('takes max(counters) + 1 when both wall times are equal', () => {
      const clock = createClock({ now: () => 1000, last: { wall: 1300, counter: 4 } })
      expect(clock.receive({ wall: 1300, counter: 7 })).toEqual({ wall: 1300, counter: 8 })
      expect(clock.receive({ wall: 1300, counter: 2 })).toEqual({ wall: 1300, counter: 9 })
    })

    it('makes the next local event later than the received one', () => {
      const clock = createClock({ now: () => 1000 })
      const remote = { wall: 1500, counter: 3 }
      clock.receive(remote)
      expect(compareHLC(clock.send(), remote)).toBeGreaterThan(0)
    })

    it('rejects a remote timestamp further ahead than maxDriftMs and does not move', () => {
      const clock = createClock({ now: () => 1000, maxDriftMs: 100 })
      clock.send()
      expect(() => clock.receive({ wall: 1101, counter: 0 })).toThrow(expect.objectContaining({ name: 'InvalidClockError' }))
      expect(clock.last()).toEqual({ wall: 1000, counter: 0 })
      expect(clock.receive({ wall: 1100, counter: 0 })).toEqual({ wall: 1100, counter: 1 })
    })

    it('defaults maxDriftMs to one minute', () => {
      const clock = createClock({ now: () => 0 })
      expect(() => clock.receive({ wall: 60_001, counter: 0 })).toThrow(expect.objectContaining({ name: 'InvalidClockError' }))
      expect(clock.receive({ wall: 60_000, counter: 0 }).wall).toBe(60_000)
    })

    it.each([
      [{ wall: -1, counter: 0 }],
      [{ wall: 1.5, counter: 0 }],
      [{ wall: Number.MAX_SAFE_INTEGER + 1, counter: 0 }],
      [{ wall: 1, counter: -1 }],
      [{ wall: 1, counter: MAX_HLC_COUNTER + 1 }],
      [{ wall: '1', counter: 0 }],
      [null]
    ])('rejects malformed remote timestamp %j', (remote) => {
      const clock = createClock({ now: () => 1000 })
      expect(() => clock.receive(remote as unknown as HLC)).toThrow(expect.objectContaining({ name: 'InvalidClockError' }))
      expect(clock.last()).toEqual({ wall: 0, counter: 0 })
    })
  })

  it('carries a full counter into the wall time instead of overflowing', () => {
    const clock = createClock({ now: () => 1000, last: { wall: 1000, counter: MAX_HLC_COUNTER } })
    expect(clock.send()).toEqual({ wall: 1001, counter: 0 })
    const other = createClock({ now: () => 1000 })
    expect(other.receive({ wall: 1000, counter: MAX_HLC_COUNTER })).toEqual({ wall: 1001, counter: 0 })
  })

  it('rejects a broken physical clock', () => {
    expect(() => createClock({ now: () => Number.NaN }).send()).toThrow(expect.objectContaining({ name: 'InvalidClockError' }))
    expect(() => createClock({ now: () => -5 }).send()).toThrow(expect.objectContaining({ name: 'InvalidClockError' }))
  })

  describe('wire form', () => {
    it('is a 2-element dag-cbor array of unsigned integers', () => {
      const t = { wall: 1_700_000_000_000, counter: 7 }
      expect(encodeHLC(t)).toEqual([1_700_000_000_000, 7])
      expect(toHex(dagCbor.encode(encodeHLC(t)))).toBe('821b0000018bcfe5680007')
      expect(decodeHLC(dagCbor.decode(dagCbor.encode(encodeHLC(t))))).toEqual(t)
    })

    it.each([
      [[1]],
      [[1, 2, 3]],
      [{ wall: 1, counter: 2 }],
      [[1, -2]],
      [[-1, 2]],
      [[1.5, 2]],
      [[1, 2 ** 32]],
      [['1', 0]],
      [null]
    ])('rejects %j', (value) => {
      expect(() => decodeHLC(value)).toThrow(expect.objectContaining({ name: 'InvalidClockError' }))
    })

    it('rejects a wall time decoded as a BigInt (beyond 2^53)', () => {
      const value = dagCbor.decode(Uint8Array.of(0x82, 0x1b, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x00))
      expect(() => decodeHLC(value)).toThrow(expect.objectContaining({ name: 'InvalidClockError' }))
    })

    it('refuses to encode an invalid timestamp', () => {
      expect(() => encodeHLC({ wall: -1, counter: 0 })).toThrow(expect.objectContaining({ name: 'InvalidClockError' }))
      expect(isHLC({ wall: 0, counter: 0 })).toBe(true)
    })
  })
})

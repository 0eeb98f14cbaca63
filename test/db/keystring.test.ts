/** The map key of a byte key (src/db/overlay.ts `keyString`): one UTF-16 unit per byte, any length. */
import { describe, expect, it } from 'vitest'
import { keyString } from '../../src/db/overlay.js'

describe('keyString', () => {
  it('maps each byte to the UTF-16 unit of the same value, for keys of any length', () => {
    for (const n of [1, 255, 256, 1024, 1025, 5000]) {
      const key = Uint8Array.from({ length: n }, (_, i) => (i * 167 + 13) & 0xff)
      const s = keyString(key)
      expect(s.length).toBe(n)
      expect(Array.from(s, (c) => c.charCodeAt(0))).toEqual(Array.from(key))
      // A view into a larger buffer gives the string of its own bytes only.
      const wide = new Uint8Array(n + 20)
      wide.set(key, 10)
      expect(keyString(wide.subarray(10, 10 + n))).toBe(s)
    }
  })
})

import { describe, it, expect } from 'vitest'
import { fromBase64url, randomBytes, toBase64url } from '../../src/core/index.js'

describe('base64url', () => {
  it('encodes as RFC 4648 §5 without padding, and decodes back (checked against Node\'s codec)', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = randomBytes(n)
      const text = toBase64url(bytes)
      expect(text).toBe(Buffer.from(bytes).toString('base64url'))
      expect(fromBase64url(text)).toEqual(bytes)
    }
    expect(toBase64url(Uint8Array.of(0xfb, 0xff))).toBe('-_8')
  })

  it('accepts only the canonical text: every other spelling of the same bytes is refused with InvalidEncodingError', () => {
    const text = toBase64url(Uint8Array.of(1, 2, 3, 4)) // "AQIDBA": 4 bits after the last byte
    expect(fromBase64url(text)).toEqual(Uint8Array.of(1, 2, 3, 4))
    for (const bad of ['AQIDBB', 'AQIDBA==', 'AQIDBA=', ' AQIDBA', 'AQID\nBA', 'AQIDB', 'A', '+/8', 'AQIDBA.', 'é', 'AQIDBR']) {
      expect(() => fromBase64url(bad), bad).toThrow(expect.objectContaining({ name: 'InvalidEncodingError', code: 'ERR_INVALID_ENCODING' }))
    }
    expect(() => fromBase64url(42 as unknown as string)).toThrow(expect.objectContaining({ name: 'InvalidEncodingError' }))
  })

  it('decodes a text exactly when re-encoding gives the same text', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    for (const prefix of ['', 'AAAA']) {
      for (const a of alphabet) {
        for (const b of ['A', 'B', 'Q', 'g', 'w', '_']) {
          const text = prefix + a + b
          let decoded: Uint8Array | undefined
          try { decoded = fromBase64url(text) } catch { decoded = undefined }
          expect(decoded === undefined ? undefined : toBase64url(decoded), text).toBe(
            toBase64url(Buffer.from(text, 'base64url')) === text ? text : undefined
          )
        }
      }
    }
  })
})

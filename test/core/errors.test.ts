import { describe, it, expect } from 'vitest'
import * as core from '../../src/core/index.js'

const classes = [
  ['OversizedInputError', 'ERR_OVERSIZED_INPUT'],
  ['AbortError', 'ERR_ABORTED'],
  ['InvalidThreadIDError', 'ERR_INVALID_THREAD_ID'],
  ['InvalidThreadKeyError', 'ERR_INVALID_THREAD_KEY'],
  ['InvalidKeyError', 'ERR_INVALID_KEY'],
  ['InvalidIdentityError', 'ERR_INVALID_IDENTITY'],
  ['InvalidLogIDError', 'ERR_INVALID_LOG_ID'],
  ['InvalidBlockError', 'ERR_INVALID_BLOCK'],
  ['InvalidRecordError', 'ERR_INVALID_RECORD'],
  ['BadSignatureError', 'ERR_BAD_SIGNATURE'],
  ['DecryptionError', 'ERR_DECRYPTION'],
  ['PrevLinkMismatchError', 'ERR_PREV_LINK_MISMATCH'],
  ['MissingReadKeyError', 'ERR_MISSING_READ_KEY'],
  ['InvalidClockError', 'ERR_INVALID_CLOCK'],
  ['UnsupportedRecordVersionError', 'ERR_UNSUPPORTED_RECORD_VERSION'],
  ['UnprovenAuthorError', 'ERR_UNPROVEN_AUTHOR'],
  ['InvalidEncodingError', 'ERR_INVALID_ENCODING'],
  ['InvalidTokenError', 'ERR_INVALID_TOKEN'],
  ['TokenExpiredError', 'ERR_TOKEN_EXPIRED'],
  ['ChallengeFailedError', 'ERR_CHALLENGE_FAILED']
] as const

describe('core errors', () => {
  it.each(classes)('%s has a stable name, code and default message, and keeps its cause', (name, code) => {
    const Ctor = core[name] as unknown as new (message?: string, options?: { cause?: unknown }) => core.WeftError
    const cause = new Error('platform')
    const err = new Ctor(undefined, { cause })
    expect(err).toBeInstanceOf(core.WeftError)
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe(name)
    expect(err.code).toBe(code)
    expect((Ctor as unknown as { code: string }).code).toBe(code)
    expect(err.message.length).toBeGreaterThan(0)
    expect(err.cause).toBe(cause)
    expect(new Ctor('custom').message).toBe('custom')
  })

  it('have distinct codes', () => {
    expect(new Set(classes.map(([, code]) => code)).size).toBe(classes.length)
  })

  it('throwIfAborted throws AbortError with the reason as cause', () => {
    const controller = new AbortController()
    core.throwIfAborted(controller.signal)
    core.throwIfAborted(undefined)
    controller.abort(new Error('stop'))
    expect(() => core.throwIfAborted(controller.signal)).toThrow(expect.objectContaining({ name: 'AbortError' }))
  })
})

/**
 * The QuickJS sandbox of validators and filters: values go in as values, no state survives a call,
 * no clock or randomness, and the limits are counted (the same answer on every run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandbox, type Sandbox } from '../../src/db/index.js'

let sb: Sandbox
beforeAll(async () => { sb = await createSandbox() })
afterAll(() => { sb.dispose() })

const event = { timestamp: 1, _id: 'x', collection_name: 'C', patch: { type: 'create', instance_id: 'x', json_patch: { _id: 'x' } } }

describe('validator sandbox', () => {
  it('passes strings with quotes, backslashes and line breaks as values, not as source', async () => {
    const tricky = `O'Brien \\' "); throw 1; ('\n\u2028`
    expect(await sb.validate('return instance.name === event.patch.json_patch.name && writer === "w\'"', "w'", { ...event, patch: { ...event.patch, json_patch: { name: tricky } } }, { _id: 'x', name: tricky })).toBe(true)
    expect(await sb.filter('return instance', 'r', { _id: 'x', name: tricky })).toEqual({ _id: 'x', name: tricky })
  })

  it('only `true` accepts; a string is the reason; anything else is a rejection', async () => {
    expect(await sb.validate('return true', 'w', event, undefined)).toBe(true)
    expect(await sb.validate('return "nope"', 'w', event, undefined)).toBe('nope')
    expect(await sb.validate('return 1', 'w', event, undefined)).toBe('app denied net record body')
    expect(await sb.validate('return {}', 'w', event, undefined)).toBe('app denied net record body')
    expect(await sb.validate('', 'w', event, undefined)).toBe('app denied net record body')
  })

  it('keeps no state from one call to the next', async () => {
    const code = 'var seen = typeof counter !== "undefined" || arguments.callee.n !== undefined || Object.prototype.leak !== undefined; try { counter = 1 } catch (e) {}; try { arguments.callee.n = 1 } catch (e) {}; try { Object.prototype.leak = 1 } catch (e) {}; return seen ? "stateful" : true'
    expect(await sb.validate(code, 'w', event, undefined)).toBe(true)
    expect(await sb.validate(code, 'w', event, undefined)).toBe(true)
  })

  it('has no clock and no randomness', async () => {
    expect(await sb.validate('return typeof Date === "undefined" ? true : "has Date"', 'w', event, undefined)).toBe(true)
    await expect(sb.validate('return Math.random() > 2', 'w', event, undefined)).rejects.toMatchObject({ name: 'ValidatorError' })
  })

  it('decides a long loop the same way every time: under budget passes, over budget is ValidatorTimeoutError', async () => {
    for (let i = 0; i < 2; i++) {
      expect(await sb.validate('var n = 0; for (var i = 0; i < 200000; i++) n += i; return n > 0', 'w', event, undefined)).toBe(true)
      await expect(sb.validate('var n = 0; for (var i = 0; i < 1e9; i++) n += i; return true', 'w', event, undefined)).rejects.toMatchObject({ name: 'ValidatorTimeoutError' })
    }
  })

  it('hides an instance when the filter returns null and refuses a filter that returns a non-object', async () => {
    expect(await sb.filter('return null', 'r', { _id: 'x' })).toBeNull()
    expect(await sb.filter('return reader === "r" ? instance : null', 'r', { _id: 'x' })).toEqual({ _id: 'x' })
    await expect(sb.filter('return 5', 'r', { _id: 'x' })).rejects.toMatchObject({ name: 'ValidatorError' })
  })

  it('refuses code that does not compile with InvalidValidatorError', async () => {
    await expect(sb.check('validator', 'return (')).rejects.toMatchObject({ name: 'InvalidValidatorError' })
    await expect(sb.check('filter', 'return instance')).resolves.toBeUndefined()
  })
})

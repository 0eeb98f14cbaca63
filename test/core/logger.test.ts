import { describe, expect, it } from 'vitest'
import { enableLogging, lineEnabled, logger, logMatcher, setLogSink, writeLog } from '../../src/core/logger.js'

describe('logger settings', () => {
  it('matches namespaces by patterns with wildcards, and a leading - excludes', () => {
    const m = logMatcher('weft:net:*, weft:db,-weft:net:push')
    expect(m('weft:net:sync')).toBe(true)
    expect(m('weft:db')).toBe(true)
    expect(m('weft:db:sandbox')).toBe(false)
    expect(m('weft:net:push')).toBe(false)
    expect(m('weft:store')).toBe(false)
    expect(logMatcher('')('weft:net')).toBe(false)
  })

  it('treats regular-expression characters in a setting as plain text', () => {
    const m = logMatcher('weft.(x)+')
    expect(m('weft.(x)+')).toBe(true)
    expect(m('weftA(x)')).toBe(false)
  })

  it('lets errors through under <ns>:error and traces only under <ns>:trace', () => {
    const m = logMatcher('a:error,b,c:trace')
    expect(lineEnabled(m, 'a', 'log')).toBe(false)
    expect(lineEnabled(m, 'a', 'error')).toBe(true)
    expect(lineEnabled(m, 'b', 'error')).toBe(true)
    expect(lineEnabled(m, 'b', 'trace')).toBe(false)
    expect(lineEnabled(m, 'c', 'trace')).toBe(true)
  })
})

describe('logger output', () => {
  it('writes the namespaces a matcher enables (the worker enables the union of its tabs)', () => {
    const lines: string[] = []
    setLogSink((ns, level, formatter, args) => { lines.push(`${level} ${ns} ${formatter} ${args.join(',')}`) })
    const tabs = [logMatcher('weft:net:*'), logMatcher('weft:db')]
    enableLogging((ns) => tabs.some((m) => m(ns)))
    logger('weft:net:sync')('pulled %d', 3)
    logger('weft:db')('opened')
    logger('weft:store')('silent')
    logger('weft:store').error('failed')
    expect(lines).toEqual(['log weft:net:sync pulled %d 3', 'log weft:db opened '])
    enableLogging('')
    expect(logger('weft:db').enabled).toBe(false)
  })

  it('writes a line formatted elsewhere whatever the local setting, with % kept literal', () => {
    const lines: Array<[string, string, string, unknown[]]> = []
    setLogSink((ns, level, formatter, args) => { lines.push([ns, level, formatter, args]) })
    enableLogging('')
    writeLog('weft:worker:peer', 'error', 'at 100% of %d')
    expect(lines).toEqual([['weft:worker:peer', 'error', 'at 100%% of %%d', []]])
  })
})

import { describe, it, expect } from 'vitest'
import { LruCache } from '../../src/core/index.js'

describe('LruCache', () => {
  it('drops the least recently used entry past its bound', () => {
    const cache = new LruCache<string, number>(2)
    cache.set('a', 1)
    cache.set('b', 2)
    expect(cache.get('a')).toBe(1) // a is now the most recent
    cache.set('c', 3)
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')).toBe(1)
    expect(cache.get('c')).toBe(3)
    expect(cache.size).toBe(2)
  })

  it('shrinks to a lowered bound at once, and refuses a bound below one', () => {
    const cache = new LruCache<number, number>(10)
    for (let i = 0; i < 10; i++) cache.set(i, i)
    cache.maxEntries = 3
    expect(cache.size).toBe(3)
    expect([7, 8, 9].map((i) => cache.get(i))).toEqual([7, 8, 9])
    expect(cache.get(6)).toBeUndefined()
    expect(() => new LruCache(0)).toThrow(RangeError)
    expect(() => { cache.maxEntries = 1.5 }).toThrow(RangeError)
  })

  it('overwrites, deletes and clears', () => {
    const cache = new LruCache<string, number>(3)
    cache.set('a', 1)
    cache.set('a', 2)
    expect(cache.size).toBe(1)
    expect(cache.get('a')).toBe(2)
    expect(cache.delete('a')).toBe(true)
    expect(cache.delete('a')).toBe(false)
    cache.set('b', 1)
    cache.clear()
    expect(cache.size).toBe(0)
  })
})

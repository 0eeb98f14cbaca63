import { describe, expect, it } from 'vitest'
import { createBroadcast } from '../../src/core/channel.js'

async function take<T>(it: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = []
  for await (const v of it) {
    out.push(v)
    if (out.length === n) break
  }
  return out
}

describe('broadcast', () => {
  it('delivers every value published after subscribe, in order, to each subscriber', async () => {
    const b = createBroadcast<number>()
    const s1 = b.subscribe()
    const s2 = b.subscribe({ filter: (v) => v % 2 === 0 })
    for (let i = 0; i < 6; i++) b.publish(i)
    expect(await take(s1, 6)).toEqual([0, 1, 2, 3, 4, 5])
    expect(await take(s2, 3)).toEqual([0, 2, 4])
  })

  it('ends a subscriber that falls behind its buffer with SubscriberOverflowError instead of dropping values', async () => {
    const b = createBroadcast<number>()
    const s = b.subscribe({ bufferSize: 3 })
    for (let i = 0; i < 5; i++) b.publish(i)
    await expect(take(s, 10)).rejects.toMatchObject({ name: 'SubscriberOverflowError' })
  })

  it('ends normally when the signal aborts or the broadcast closes, delivering what was published before', async () => {
    const b = createBroadcast<number>()
    const ctrl = new AbortController()
    const sub = b.subscribe({ signal: ctrl.signal })
    b.publish(7)
    const aborted = take(sub, 2)
    ctrl.abort()
    expect(await aborted).toEqual([7])
    const closed = take(b.subscribe(), 1)
    b.close()
    expect(await closed).toEqual([])
    expect(b.subscriberCount).toBe(0)
  })
})

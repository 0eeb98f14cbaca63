import { describe, expect, it } from 'vitest'
import { keyedLocks } from '../../src/store/lock.js'

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

describe('keyed locks', () => {
  it('runs exclusive holders of a key one at a time, in call order', async () => {
    const locks = keyedLocks()
    const order: string[] = []
    const first = gate()
    const a = locks.run([['k', 'exclusive']], async () => {
      order.push('a start')
      await first.promise
      order.push('a end')
    })
    const b = locks.run([['k', 'exclusive']], async () => {
      order.push('b')
    })
    const other = locks.run([['other', 'exclusive']], async () => {
      order.push('other')
    })
    await other
    first.open()
    await Promise.all([a, b])
    expect(order).toEqual(['a start', 'other', 'a end', 'b'])
  })

  it('lets shared holders overlap and makes an exclusive request wait for them', async () => {
    const locks = keyedLocks()
    const order: string[] = []
    const hold = gate()
    const s1 = locks.run([['t', 'shared']], async () => {
      order.push('s1')
      await hold.promise
      order.push('s1 end')
    })
    const s2 = locks.run([['t', 'shared']], async () => {
      order.push('s2')
    })
    const x = locks.run([['t', 'exclusive']], async () => {
      order.push('x')
    })
    const s3 = locks.run([['t', 'shared']], async () => {
      order.push('s3')
    })
    await s2
    expect(order).toEqual(['s1', 's2'])
    hold.open()
    await Promise.all([s1, x, s3])
    expect(order).toEqual(['s1', 's2', 's1 end', 'x', 's3'])
  })

  it('does not deadlock when callers ask for the same keys in different orders', async () => {
    const locks = keyedLocks()
    const done: number[] = []
    await Promise.all(Array.from({ length: 20 }, (_, i) =>
      locks.run(i % 2 === 0 ? [['a', 'exclusive'], ['b', 'exclusive']] : [['b', 'exclusive'], ['a', 'shared']], async () => {
        await Promise.resolve()
        done.push(i)
      })))
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('releases a lock when its holder throws', async () => {
    const locks = keyedLocks()
    await expect(locks.run([['k', 'exclusive']], async () => {
      throw new Error('boom')
    })).rejects.toThrow('boom')
    await expect(locks.run([['k', 'exclusive']], async () => 42)).resolves.toBe(42)
  })
})

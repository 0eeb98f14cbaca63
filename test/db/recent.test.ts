/**
 * The keys of a DB's recent writes, by version (src/db/recent.ts): what a committing transaction
 * is checked against instead of reading its reads again.
 */
import { describe, expect, it } from 'vitest'
import { recentWrites } from '../../src/db/recent.js'

const put = (k: number): { type: 'put'; key: Uint8Array; value: Uint8Array } => ({ type: 'put', key: Uint8Array.of(k), value: Uint8Array.of(0) })

describe('recent writes', () => {
  it('gives the keys of every write that ended after a version', () => {
    const r = recentWrites()
    r.note(2, [put(1)])
    r.note(4, [put(2), { type: 'del', key: Uint8Array.of(3) }])
    expect(r.since(4)).toEqual([])
    expect(r.since(3)!.map((o) => o.key[0])).toEqual([2, 3])
    expect(r.since(0)!.map((o) => o.key[0]).sort()).toEqual([1, 2, 3])
  })

  it('says it does not know once a write after the version was forgotten (by count or by key bytes)', () => {
    const byCount = recentWrites({ maxWrites: 2 })
    for (let v = 2; v <= 8; v += 2) byCount.note(v, [put(v)])
    expect(byCount.since(3)).toBeUndefined()
    expect(byCount.since(4)!.map((o) => o.key[0]).sort()).toEqual([6, 8])
    const byKeys = recentWrites({ maxKeyBytes: 3 })
    byKeys.note(2, [put(1), put(2)])
    byKeys.note(4, [put(3), put(4)])
    expect(byKeys.since(1)).toBeUndefined()
    expect(byKeys.since(2)!.map((o) => o.key[0])).toEqual([3, 4])
    byKeys.note(6, [put(5), put(6), put(7), put(8)])
    expect(byKeys.since(4), 'a write larger than the bound is forgotten at once').toBeUndefined()
    expect(byKeys.since(6)).toEqual([])
  })
})

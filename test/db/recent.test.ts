/**
 * The keys of a DB's recent writes, by version (src/db/recent.ts): what a committing transaction
 * is checked against instead of reading its reads again.
 */
import { describe, expect, it } from 'vitest'
import { keyString } from '../../src/db/overlay.js'
import { recentWrites, type WrittenKeys } from '../../src/db/recent.js'

/** The first bytes of the keys of `writes`. */
const firsts = (writes: WrittenKeys[]): number[] => writes.flatMap((w) => [...w.keys()].map((k) => k[0]!))

const put = (k: number): { type: 'put'; key: Uint8Array; value: Uint8Array } => ({ type: 'put', key: Uint8Array.of(k), value: Uint8Array.of(0) })

describe('recent writes', () => {
  it('gives the keys of every write that ended after a version', () => {
    const r = recentWrites()
    r.note(2, [put(1)])
    r.note(4, [put(2), { type: 'del', key: Uint8Array.of(3) }])
    expect(r.since(4)).toEqual([])
    expect(firsts(r.since(3)!)).toEqual([2, 3])
    expect(firsts(r.since(0)!).sort()).toEqual([1, 2, 3])
  })

  it('says whether a write wrote a key, by its key string', () => {
    const r = recentWrites()
    r.note(2, [put(1), { type: 'del', key: Uint8Array.of(3) }])
    r.note(4, [put(2)])
    const [later, earlier] = r.since(0)!
    expect([later!.has(keyString(Uint8Array.of(2))), later!.has(keyString(Uint8Array.of(1)))]).toEqual([true, false])
    expect([earlier!.has(keyString(Uint8Array.of(1))), earlier!.has(keyString(Uint8Array.of(3))), earlier!.has(keyString(Uint8Array.of(2)))]).toEqual([true, true, false])
  })

  it('says it does not know once a write after the version was forgotten (by count or by key bytes)', () => {
    const byCount = recentWrites({ maxWrites: 2 })
    for (let v = 2; v <= 8; v += 2) byCount.note(v, [put(v)])
    expect(byCount.since(3)).toBeUndefined()
    expect(firsts(byCount.since(4)!).sort()).toEqual([6, 8])
    const byKeys = recentWrites({ maxKeyBytes: 3 })
    byKeys.note(2, [put(1), put(2)])
    byKeys.note(4, [put(3), put(4)])
    expect(byKeys.since(1)).toBeUndefined()
    expect(firsts(byKeys.since(2)!)).toEqual([3, 4])
    byKeys.note(6, [put(5), put(6), put(7), put(8)])
    expect(byKeys.since(4), 'a write larger than the bound is forgotten at once').toBeUndefined()
    expect(byKeys.since(6)).toEqual([])
  })
})

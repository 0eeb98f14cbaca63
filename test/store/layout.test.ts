/**
 * Pins the log store's storage layout, format version 1 (docs/STORAGE.md), byte for byte. The
 * expected keys are assembled here from the specification, not with the layout module.
 */
import { describe, expect, it } from 'vitest'
import type { LogID, ThreadID } from '../../src/core/types.js'
import { createLogStore } from '../../src/store/logstore.js'
import { memoryStore } from '../../src/store/memory.js'
import { makeChain } from '../suites/logstore-fixtures.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('hex')
const seg = (s: string): string => `${utf8(s)}0001`
const u64 = (n: number): string => n.toString(16).padStart(16, '0')

const T = 'bafkthread' as ThreadID
const L = '12D3KooWlog' as LogID

describe('log store layout v1', () => {
  it('writes exactly the specified keys and values', async () => {
    const kv = memoryStore()
    const store = await createLogStore(kv)
    const key = Uint8Array.from({ length: 32 }, (_, i) => i)
    await store.addThread(T, { key })
    await store.addLog(T, { id: L, publicKey: Uint8Array.of(1, 2), privateKey: Uint8Array.of(3), addrs: ['/x'] })
    const [r1, r2] = await makeChain('layout', 2)
    if (r1 === undefined || r2 === undefined) throw new Error('fixture')
    await store.appendRecords(T, L, [r1, r2])

    const got = new Map<string, string>()
    for await (const [k, v] of kv.range()) got.set(hex(k), hex(v))

    const cids = (r: typeof r1): string => [r.blocks.record, r.blocks.event, r.blocks.header, r.blocks.body].map((b) => hex(b.cid.bytes)).join('')
    const expected = new Map<string, string>([
      [seg('ls') + seg('v'), u64(1)],
      // dag-cbor { key: bytes(32) }
      [seg('ls') + seg('t') + seg(T), `a1${'63' + utf8('key')}5820${hex(key)}`],
      // dag-cbor { pub, priv, addrs } with keys sorted length-first
      [seg('ls') + seg('l') + seg(T) + seg(L), `a3${'63' + utf8('pub')}420102${'64' + utf8('priv')}4103${'65' + utf8('addrs')}81${'62' + utf8('/x')}`],
      [seg('ls') + seg('h') + seg(T) + seg(L), u64(2) + hex(r2.cid.bytes)],
      [seg('ls') + seg('i') + seg(T) + seg(L) + u64(1), cids(r1)],
      [seg('ls') + seg('i') + seg(T) + seg(L) + u64(2), cids(r2)],
      [seg('ls') + seg('r') + seg(T) + hex(r1.cid.bytes), u64(1) + utf8(L)],
      [seg('ls') + seg('r') + seg(T) + hex(r2.cid.bytes), u64(2) + utf8(L)]
    ])
    for (const r of [r1, r2]) {
      for (const b of [r.blocks.record, r.blocks.event, r.blocks.header, r.blocks.body]) {
        expected.set(seg('ls') + seg('b') + hex(b.cid.bytes), hex(b.bytes))
      }
    }
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected))
    expect(hex(r1.cid.bytes).startsWith('01711220')).toBe(true)
    await kv.close()
  })

  it('writes an empty log head as a bare zero counter', async () => {
    const kv = memoryStore()
    const store = await createLogStore(kv)
    await store.addThread(T, { key: new Uint8Array(32) })
    await store.addLog(T, { id: L, publicKey: new Uint8Array(1) })
    const head = await kv.get(Buffer.from(seg('ls') + seg('h') + seg(T) + seg(L), 'hex'))
    expect(hex(head as Uint8Array)).toBe(u64(0))
    await kv.close()
  })
})

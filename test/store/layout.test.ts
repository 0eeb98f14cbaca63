/**
 * Pins the log store's storage layout, format version 2 (docs/STORAGE.md), byte for byte. The
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

describe('log store layout v2', () => {
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
      [seg('ls') + seg('v'), u64(2)],
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

  it('writes the signed address list, the author, the certificate, the place among own logs and the fork of a log', async () => {
    const kv = memoryStore()
    const store = await createLogStore(kv)
    await store.addThread(T, { key: new Uint8Array(32) })
    const sig = new Uint8Array(64).fill(9)
    const author = new Uint8Array(36).fill(5)
    const certificate = { nonce: new Uint8Array(16).fill(1), signature: new Uint8Array(64).fill(2) }
    await store.addLog(T, { id: L, publicKey: Uint8Array.of(1, 2), privateKey: Uint8Array.of(3), own: 1, author, certificate, signedAddrs: { seq: 7, addrs: ['/s'], sig }, addrs: ['/u'] })
    await store.freezeLog(T, L, { counter: 1, records: [Uint8Array.of(0xaa), Uint8Array.of(0xbb)] })
    const value = await kv.get(Buffer.from(seg('ls') + seg('l') + seg(T) + seg(L), 'hex'))
    const text = (s: string): string => `${(0x60 + s.length).toString(16)}${utf8(s)}`
    // dag-cbor, keys sorted length-first then bytewise: own, pub, cert, fork, priv, addrs, author, signed
    expect(hex(value as Uint8Array)).toBe(
      'a8' +
      text('own') + '01' +
      text('pub') + '420102' +
      text('cert') + 'a2' + text('n') + '50' + '01'.repeat(16) + text('s') + '5840' + '02'.repeat(64) +
      text('fork') + 'a2' + text('counter') + '01' + text('records') + '82' + '41aa' + '41bb' +
      text('priv') + '4103' +
      text('addrs') + '81' + text('/u') +
      text('author') + '5824' + '05'.repeat(36) +
      text('signed') + 'a3' + text('seq') + '07' + text('sig') + '5840' + '09'.repeat(64) + text('addrs') + '81' + text('/s')
    )
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

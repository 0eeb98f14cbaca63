/**
 * The relay's admission policy as pure logic on a memory store: allow-lists, every quota, the
 * refusal counts, accounting that survives a reopen, and the ledger's committed format vectors.
 */
import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { memoryStore } from '../../src/store/memory.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { fromHex, toHex } from '../../src/core/bytes.js'
import type { KVStore } from '../../src/store/kv.js'
import type { ThreadID } from '../../src/core/types.js'
import { createRelayPolicy, type PolicyInit, type RelayPolicy } from '../../relay/policy.js'
import { decodeEntry, encodeEntry, ledgerKey, type LedgerEntry } from '../../relay/ledger.js'
import { ipKey, ipKeyOfMultiaddr } from '../../relay/ip.js'

const PEER_A = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const PEER_B = '12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X'
const ADDR_1 = '/ip4/203.0.113.7/tcp/4001'
const ADDR_2 = '/ip4/198.51.100.9/tcp/4001'

async function opened(init: PolicyInit, kv: KVStore = memoryStore(), held: string[] = []): Promise<RelayPolicy> {
  const policy = createRelayPolicy(init)
  await policy.open(kv, held)
  return policy
}

/** The name of what `fn` throws (or rejects with). */
async function refusal(fn: () => unknown): Promise<string> {
  try {
    await fn()
  } catch (err) {
    return (err as Error).name
  }
  return 'admitted'
}

describe('relay policy', () => {
  it('is open by default and admits a thread it already holds again without counting it twice', async () => {
    const policy = await opened({ maxThreadsPerPeer: 1 })
    const thread = newThreadID()
    await policy.adoptThread({ thread, peer: PEER_A, remoteAddr: ADDR_1 })
    await policy.adoptThread({ thread, peer: PEER_A, remoteAddr: ADDR_1 })
    expect(policy.usage().threads).toBe(1)
  })

  it('with allow-lists, admits a listed thread or a listed peer and refuses the rest with AdmissionRefusedError', async () => {
    const listed = newThreadID()
    const policy = await opened({ allowThreads: [listed], allowPeers: [PEER_B] })
    expect(await refusal(() => policy.adoptThread({ thread: listed, peer: PEER_A, remoteAddr: ADDR_1 }))).toBe('admitted')
    expect(await refusal(() => policy.adoptThread({ thread: newThreadID(), peer: PEER_B, remoteAddr: ADDR_1 }))).toBe('admitted')
    expect(await refusal(() => policy.adoptThread({ thread: newThreadID(), peer: PEER_A, remoteAddr: ADDR_1 }))).toBe('AdmissionRefusedError')
    expect(policy.refusals().not_allowed).toBe(1)
  })

  it('refuses hand-overs past the per-peer and per-IP thread quotas with QuotaExceededError and counts each', async () => {
    const policy = await opened({ maxThreadsPerPeer: 2, maxThreadsPerIp: 2 })
    await policy.adoptThread({ thread: newThreadID(), peer: PEER_A, remoteAddr: ADDR_1 })
    await policy.adoptThread({ thread: newThreadID(), peer: PEER_A, remoteAddr: ADDR_2 })
    expect(await refusal(() => policy.adoptThread({ thread: newThreadID(), peer: PEER_A, remoteAddr: ADDR_2 }))).toBe('QuotaExceededError')
    await policy.adoptThread({ thread: newThreadID(), peer: PEER_B, remoteAddr: ADDR_1 })
    expect(await refusal(() => policy.adoptThread({ thread: newThreadID(), peer: PEER_B, remoteAddr: ADDR_1 }))).toBe('QuotaExceededError')
    expect(policy.refusals()).toMatchObject({ threads_per_peer: 1, threads_per_ip: 1 })
  })

  it('counts IPv6 peers by their /64 and IPv4-mapped addresses as IPv4', async () => {
    expect(ipKeyOfMultiaddr('/ip6/2001:db8:1:2::7/tcp/1')).toBe(ipKeyOfMultiaddr('/ip6/2001:db8:1:2:ffff::9/tcp/1'))
    expect(ipKeyOfMultiaddr('/ip6/2001:db8:1:3::7/tcp/1')).not.toBe(ipKeyOfMultiaddr('/ip6/2001:db8:1:2::7/tcp/1'))
    expect(ipKey('::ffff:203.0.113.7')).toBe('203.0.113.7')
    const policy = await opened({ maxThreadsPerIp: 1 })
    await policy.adoptThread({ thread: newThreadID(), peer: PEER_A, remoteAddr: '/ip6/2001:db8:1:2::7/tcp/1' })
    expect(await refusal(() => policy.adoptThread({ thread: newThreadID(), peer: PEER_B, remoteAddr: '/ip6/2001:db8:1:2::8/tcp/1' }))).toBe('QuotaExceededError')
  })

  it('refuses records past a thread\'s record and byte quotas and past the store budget', async () => {
    const policy = await opened({ maxThreadRecords: 10, maxThreadBytes: 1000, maxStoreBytes: 1500 })
    const [t1, t2] = [newThreadID(), newThreadID()]
    for (const thread of [t1, t2]) await policy.adoptThread({ thread, peer: PEER_A, remoteAddr: ADDR_1 })
    const push = (thread: ThreadID, records: number, bytes: number): Promise<string> =>
      refusal(async () => {
        await policy.admitRecords({ thread, peer: PEER_A, remoteAddr: ADDR_1, records, bytes })
        policy.recordsStored(thread, records, bytes)
      })
    expect(await push(t1, 9, 900)).toBe('admitted')
    expect(await push(t1, 2, 10)).toBe('QuotaExceededError')
    expect(await push(t1, 1, 101)).toBe('QuotaExceededError')
    expect(await push(t1, 1, 100)).toBe('admitted')
    expect(await push(t2, 5, 501)).toBe('QuotaExceededError')
    expect(await push(t2, 5, 500)).toBe('admitted')
    expect(policy.refusals()).toMatchObject({ thread_records: 1, thread_bytes: 1, store_bytes: 1 })
    expect(policy.usage()).toEqual({ threads: 2, records: 15, bytes: 1500 })
    // A full store takes no new threads either.
    expect(await refusal(() => policy.adoptThread({ thread: newThreadID(), peer: PEER_B, remoteAddr: ADDR_2 }))).toBe('QuotaExceededError')
  })

  it('counts batches admitted but not yet stored, so concurrent pushes cannot pass a quota together', async () => {
    let clock = 1_000
    const policy = await opened({ maxThreadBytes: 1000, maxStoreBytes: 1500, reservationTtlMs: 60_000, now: () => clock })
    const [t1, t2] = [newThreadID(), newThreadID()]
    for (const thread of [t1, t2]) await policy.adoptThread({ thread, peer: PEER_A, remoteAddr: ADDR_1 })
    const admit = (thread: ThreadID, bytes: number): Promise<string> =>
      refusal(async () => { await policy.admitRecords({ thread, peer: PEER_A, remoteAddr: ADDR_1, records: 1, bytes }) })
    // Four batches of 300 bytes in flight at once (none stored yet): the fourth would pass 1000.
    expect(await Promise.all([admit(t1, 300), admit(t1, 300), admit(t1, 300), admit(t1, 300)]))
      .toEqual(['admitted', 'admitted', 'admitted', 'QuotaExceededError'])
    // In flight counts against the store budget too (900 + 300 + 301 > 1500).
    expect(await admit(t2, 300)).toBe('admitted')
    expect(await admit(t2, 301)).toBe('QuotaExceededError')
    // Confirmed batches move from reserved to stored; the totals stay within the quotas.
    policy.recordsStored(t1, 1, 300)
    policy.recordsStored(t1, 1, 300)
    expect(policy.usage()).toMatchObject({ records: 2, bytes: 600 })
    expect(await admit(t1, 101)).toBe('QuotaExceededError')
    // A batch never confirmed (its append failed) stops counting after the reservation's lifetime.
    clock += 60_001
    expect(await admit(t1, 400)).toBe('admitted')
    expect(policy.usage()).toMatchObject({ records: 2, bytes: 600 })
  })

  it('keeps its accounting across a reopen on the same store and forgets threads the store does not hold', async () => {
    const kv = memoryStore()
    const first = await opened({ maxThreadsPerPeer: 2, maxThreadBytes: 1000 }, kv)
    const [kept, lost] = [newThreadID(), newThreadID()]
    for (const thread of [kept, lost]) await first.adoptThread({ thread, peer: PEER_A, remoteAddr: ADDR_1 })
    await first.admitRecords({ thread: kept, peer: PEER_A, remoteAddr: ADDR_1, records: 3, bytes: 900 })
    first.recordsStored(kept, 3, 900)
    await first.flush()

    const again = await opened({ maxThreadsPerPeer: 2, maxThreadBytes: 1000 }, kv, [kept])
    expect(again.usage()).toEqual({ threads: 1, records: 3, bytes: 900 })
    expect(await refusal(() => again.admitRecords({ thread: kept, peer: PEER_A, remoteAddr: ADDR_1, records: 1, bytes: 101 }))).toBe('QuotaExceededError')
    // `lost` was dropped, so PEER_A has one slot again; then none.
    await again.adoptThread({ thread: newThreadID(), peer: PEER_A, remoteAddr: ADDR_1 })
    expect(await refusal(() => again.adoptThread({ thread: newThreadID(), peer: PEER_A, remoteAddr: ADDR_1 }))).toBe('QuotaExceededError')
    await again.flush()
    expect(await kv.get(ledgerKey(lost))).toBeUndefined()
  })

  it('accounts for records of a thread held before accounting existed', async () => {
    const held = newThreadID()
    const policy = await opened({ maxThreadRecords: 2 }, memoryStore(), [held])
    await policy.admitRecords({ thread: held, peer: PEER_A, remoteAddr: ADDR_1, records: 2, bytes: 10 })
    policy.recordsStored(held, 2, 10)
    expect(await refusal(() => policy.admitRecords({ thread: held, peer: PEER_A, remoteAddr: ADDR_1, records: 1, bytes: 1 }))).toBe('QuotaExceededError')
  })
})

describe('relay ledger format', () => {
  it('encodes and decodes the committed version 1 vectors', async () => {
    const vectors = JSON.parse(await readFile(new URL('./vectors/ledger-v1.json', import.meta.url), 'utf8')) as {
      entries: Array<{ thread: string; key: string; entry: LedgerEntry; value: string }>
    }
    expect(vectors.entries.length).toBeGreaterThan(0)
    for (const v of vectors.entries) {
      expect(toHex(ledgerKey(v.thread))).toBe(v.key)
      expect(toHex(encodeEntry(v.entry))).toBe(v.value)
      expect(decodeEntry(fromHex(v.value))).toEqual(v.entry)
    }
  })

  it('refuses an entry of an unknown version or with a malformed field with RelayLedgerError', () => {
    const good = encodeEntry({ peer: PEER_A, ip: '', records: 1, bytes: 2 })
    const bad = [new Uint8Array([0xff]), good.map((b, i) => (i === 3 ? 2 : b)), encodeEntry({ peer: PEER_A, ip: '', records: -1, bytes: 2 })]
    for (const bytes of bad) {
      let name = 'decoded'
      try { decodeEntry(bytes) } catch (err) { name = (err as Error).name }
      expect(name).toBe('RelayLedgerError')
    }
  })
})

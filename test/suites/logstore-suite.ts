/**
 * Acceptance suite of the log store, run over every KV backend (memory and LevelDB in Node,
 * IndexedDB in Chromium). Case names can be listed without running anything.
 */
import { CID } from 'multiformats/cid'
import type { LogID, ThreadID } from '../../src/core/types.js'
import { encodeTuple, encodeUint64 } from '../../src/store/keys.js'
import type { KVStore } from '../../src/store/kv.js'
import { createLogStore } from '../../src/store/logstore.js'
import type { LogStore, LogStoreInit } from '../../src/store/logstore-types.js'
import * as dagCbor from '@ipld/dag-cbor'
import { assertDeepEqual, assertEqual, assertRejects, assertTrue, collect, type Case } from './case.js'
import { allBlocks, blockOf, dump, failingBatches, makeChain, makeRecordWith, type TestRecord } from './logstore-fixtures.js'

/** The case `test/store/logstore.test.ts` names (docs/SECURITY.md, G7). */
export const LOGS_LIMIT_CASE = 'addLog past the logs-per-thread limit rejects with LimitExceededError'

export interface LogStoreSuiteOptions {
  /** Close `kv` and open the same storage again (backends that persist). */
  reopen?: (kv: KVStore) => Promise<KVStore>
}

const T1 = 'bafkthreadone' as ThreadID
const T2 = 'bafkthreadtwo' as ThreadID
const L1 = '12D3KooWlogone' as LogID
const L2 = '12D3KooWlogtwo' as LogID
const KEY = Uint8Array.from({ length: 64 }, (_, i) => i)
const PUB = Uint8Array.from({ length: 36 }, (_, i) => 200 - i)
const PRIV = Uint8Array.from({ length: 68 }, (_, i) => i * 3)

/** Append `records` one at a time. */
async function appendAll(store: LogStore, t: ThreadID, l: LogID, records: readonly TestRecord[]): Promise<void> {
  for (const r of records) await store.appendRecord(t, l, r)
}

export function logStoreSuite(makeKV: () => Promise<KVStore>, options: LogStoreSuiteOptions = {}): Case[] {
  /** Run `fn` with a log store over a fresh KV store, closed afterwards. */
  const withStore = (fn: (store: LogStore, kv: KVStore) => Promise<void>, init?: LogStoreInit) => async (): Promise<void> => {
    const kv = await makeKV()
    try {
      await fn(await createLogStore(kv, init), kv)
    } finally {
      await kv.close()
    }
  }

  /** As {@link withStore}, with thread T1 and an empty log L1 (with a private key). */
  const withLog = (fn: (store: LogStore, kv: KVStore) => Promise<void>, init?: LogStoreInit) =>
    withStore(async (store, kv) => {
      await store.addThread(T1, { key: KEY })
      await store.addLog(T1, { id: L1, publicKey: PUB, privateKey: PRIV })
      await fn(store, kv)
    }, init)

  const cases: Case[] = [
    {
      name: 'adds, gets and lists threads',
      run: withStore(async (store) => {
        assertDeepEqual(await store.listThreads(), [])
        assertDeepEqual(await store.addThread(T2, { key: KEY.subarray(0, 32) }), { id: T2, key: KEY.subarray(0, 32) })
        await store.addThread(T1, { key: KEY })
        assertDeepEqual(await store.getThread(T1), { id: T1, key: KEY })
        assertTrue(await store.hasThread(T1))
        assertTrue(!(await store.hasThread('bafkother' as ThreadID)))
        assertDeepEqual(await store.listThreads(), [{ id: T1, key: KEY }, { id: T2, key: KEY.subarray(0, 32) }])
      })
    },
    {
      name: 'adding a thread twice rejects with ThreadExistsError and keeps the first key',
      run: withStore(async (store) => {
        await store.addThread(T1, { key: KEY })
        await assertRejects(() => store.addThread(T1, { key: new Uint8Array(32) }), 'ThreadExistsError')
        assertDeepEqual((await store.getThread(T1)).key, KEY)
      })
    },
    {
      name: 'reading an unknown thread rejects with ThreadNotFoundError',
      run: withStore(async (store) => {
        await assertRejects(() => store.getThread(T1), 'ThreadNotFoundError', 'getThread')
        await assertRejects(() => store.listLogs(T1), 'ThreadNotFoundError', 'listLogs')
        await assertRejects(() => store.getHeads(T1), 'ThreadNotFoundError', 'getHeads')
        await assertRejects(() => store.setThreadKey(T1, KEY), 'ThreadNotFoundError', 'setThreadKey')
        await assertRejects(() => store.deleteThread(T1), 'ThreadNotFoundError', 'deleteThread')
        await assertRejects(() => store.getLog(T1, L1), 'ThreadNotFoundError', 'getLog')
      })
    },
    {
      name: 'setThreadKey replaces the thread key',
      run: withStore(async (store) => {
        await store.addThread(T1, { key: KEY.subarray(0, 32) })
        await store.setThreadKey(T1, KEY)
        assertDeepEqual(await store.getThread(T1), { id: T1, key: KEY })
      })
    },
    {
      name: 'adds, gets and lists logs with their keys, addresses and empty heads',
      run: withStore(async (store) => {
        await store.addThread(T1, { key: KEY })
        const added = await store.addLog(T1, { id: L2, publicKey: PUB, addrs: ['/ip4/1.2.3.4/tcp/1', '/ip4/1.2.3.4/tcp/1', '/dns4/x/tcp/2'] })
        assertDeepEqual(added, { id: L2, publicKey: PUB, addrs: ['/ip4/1.2.3.4/tcp/1', '/dns4/x/tcp/2'], head: { cid: undefined, counter: 0 } })
        await store.addLog(T1, { id: L1, publicKey: PUB, privateKey: PRIV })
        const one = await store.getLog(T1, L1)
        assertDeepEqual(one, { id: L1, publicKey: PUB, privateKey: PRIV, addrs: [], head: { cid: undefined, counter: 0 } })
        assertTrue(!('privateKey' in (await store.getLog(T1, L2))), 'no private key on a log without one')
        assertDeepEqual((await store.listLogs(T1)).map((l) => l.id), [L1, L2], 'ordered by log ID')
        assertDeepEqual(await store.getHeads(T1), [
          { id: L1, head: { cid: undefined, counter: 0 } },
          { id: L2, head: { cid: undefined, counter: 0 } }
        ])
      })
    },
    {
      name: 'adding a log twice rejects with LogExistsError',
      run: withLog(async (store) => {
        await assertRejects(() => store.addLog(T1, { id: L1, publicKey: PUB }), 'LogExistsError')
        assertDeepEqual((await store.getLog(T1, L1)).privateKey, PRIV, 'the first log is kept')
      })
    },
    {
      name: 'adding a log to an unknown thread rejects with ThreadNotFoundError',
      run: withStore(async (store) => {
        await assertRejects(() => store.addLog(T1, { id: L1, publicKey: PUB }), 'ThreadNotFoundError')
      })
    },
    {
      name: 'reading or appending to an unknown log rejects with LogNotFoundError',
      run: withLog(async (store) => {
        const [r] = await makeChain('x', 1)
        await assertRejects(() => store.getLog(T1, L2), 'LogNotFoundError', 'getLog')
        await assertRejects(() => store.getHead(T1, L2), 'LogNotFoundError', 'getHead')
        await assertRejects(() => store.addAddrs(T1, L2, ['/a']), 'LogNotFoundError', 'addAddrs')
        await assertRejects(() => store.appendRecord(T1, L2, r as TestRecord), 'LogNotFoundError', 'appendRecord')
        await assertRejects(() => collect(store.readLog(T1, L2)), 'LogNotFoundError', 'readLog')
        await assertRejects(() => store.appendRecord(T2, L1, r as TestRecord), 'ThreadNotFoundError', 'append to an unknown thread')
      })
    },
    {
      name: 'addAddrs merges addresses without duplicates',
      run: withStore(async (store) => {
        await store.addThread(T1, { key: KEY })
        await store.addLog(T1, { id: L1, publicKey: PUB, addrs: ['/a', '/b'] })
        assertDeepEqual(await store.addAddrs(T1, L1, ['/b', '/c', '/c']), ['/a', '/b', '/c'])
        assertDeepEqual(await store.addAddrs(T1, L1, []), ['/a', '/b', '/c'])
        await Promise.all([store.addAddrs(T1, L1, ['/d']), store.addAddrs(T1, L1, ['/e'])])
        assertDeepEqual((await store.getLog(T1, L1)).addrs.sort(), ['/a', '/b', '/c', '/d', '/e'], 'concurrent merges both land')
      })
    },
    {
      name: 'putBlocks stores blocks by CID; getBlock and hasBlock find them',
      run: withStore(async (store) => {
        const a = await blockOf({ a: 1 })
        const c = await blockOf({ c: 3 })
        await store.putBlocks([a, c])
        assertDeepEqual(await store.getBlock(a.cid), a.bytes)
        assertTrue(await store.hasBlock(c.cid))
        const missing = await blockOf({ missing: true })
        assertEqual(await store.getBlock(missing.cid), undefined)
        assertTrue(!(await store.hasBlock(missing.cid)))
      })
    },
    {
      name: 'putBlocks rejects a block whose bytes do not hash to its CID, writing nothing',
      run: withStore(async (store, kv) => {
        const good = await blockOf({ good: 1 })
        const other = await blockOf({ other: 2 })
        const before = await dump(kv)
        await assertRejects(() => store.putBlocks([good, { cid: other.cid, bytes: good.bytes }]), 'InvalidBlockError')
        const raw = CID.createV1(0x55, good.cid.multihash)
        await assertRejects(() => store.putBlocks([{ cid: raw, bytes: good.bytes }]), 'InvalidBlockError', 'a raw-codec CID')
        assertDeepEqual(await dump(kv), before)
      })
    },
    {
      name: 'appendRecord stores the blocks, indexes the record and moves the head and counter',
      run: withLog(async (store) => {
        const chain = await makeChain('a', 3)
        const [r1, r2, r3] = chain as [TestRecord, TestRecord, TestRecord]
        assertDeepEqual(await store.appendRecord(T1, L1, r1), { cid: r1.cid, counter: 1 })
        assertDeepEqual(await store.getHead(T1, L1), { cid: r1.cid, counter: 1 })
        await store.appendRecord(T1, L1, r2)
        assertDeepEqual(await store.appendRecord(T1, L1, r3), { cid: r3.cid, counter: 3 })
        assertDeepEqual((await store.getLog(T1, L1)).head, { cid: r3.cid, counter: 3 })
        for (const block of allBlocks(chain)) assertDeepEqual(await store.getBlock(block.cid), block.bytes)
        const found = await store.getRecordBlocks(T1, r2.cid)
        assertDeepEqual(found, { logId: L1, counter: 2, cid: r2.cid, blocks: r2.blocks })
        assertTrue(await store.hasRecord(T1, r2.cid))
        assertEqual(await store.getRecordBlocks(T2, r2.cid), undefined, 'records are per thread')
        assertTrue(!(await store.hasRecord(T1, (await blockOf('nope')).cid)))
      })
    },
    {
      name: 'appendRecord with a prev that is not the head rejects with HeadMismatchError and writes nothing',
      run: withLog(async (store, kv) => {
        const chain = await makeChain('a', 3)
        const [r1, r2, r3] = chain as [TestRecord, TestRecord, TestRecord]
        const before = await dump(kv)
        await assertRejects(() => store.appendRecord(T1, L1, r2), 'HeadMismatchError', 'a prev on an empty log')
        assertDeepEqual(await dump(kv), before, 'nothing written on an empty log')
        await store.appendRecord(T1, L1, r1)
        const after1 = await dump(kv)
        await assertRejects(() => store.appendRecord(T1, L1, r3), 'HeadMismatchError', 'skipping a record')
        await assertRejects(() => store.appendRecord(T1, L1, { ...r2, prev: undefined }), 'HeadMismatchError', 'no prev on a non-empty log')
        await assertRejects(() => store.appendRecord(T1, L1, r1), 'HeadMismatchError', 'the head again')
        assertDeepEqual(await dump(kv), after1, 'nothing written')
        assertDeepEqual(await store.getHead(T1, L1), { cid: r1.cid, counter: 1 })
        assertTrue(!(await store.hasBlock(r3.blocks.body.cid)))
      })
    },
    {
      name: 'appendRecord with block bytes that do not match their CIDs rejects with InvalidBlockError and writes nothing',
      run: withLog(async (store, kv) => {
        const [r1] = (await makeChain('a', 1)) as [TestRecord]
        const before = await dump(kv)
        const tampered = r1.blocks.body.bytes.slice()
        tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1
        const badBody = { ...r1, blocks: { ...r1.blocks, body: { cid: r1.blocks.body.cid, bytes: tampered } } }
        await assertRejects(() => store.appendRecord(T1, L1, badBody), 'InvalidBlockError', 'tampered body')
        const other = await blockOf('other')
        await assertRejects(() => store.appendRecord(T1, L1, { ...r1, cid: other.cid }), 'InvalidBlockError', 'record CID is not the record block')
        const missing = { ...r1, blocks: { record: r1.blocks.record, event: r1.blocks.event, header: r1.blocks.header } }
        await assertRejects(() => store.appendRecord(T1, L1, missing as never), 'InvalidBlockError', 'a missing block')
        assertDeepEqual(await dump(kv), before, 'nothing written')
        assertDeepEqual(await store.appendRecord(T1, L1, r1), { cid: r1.cid, counter: 1 }, 'the valid record still appends')
      })
    },
    {
      name: 'appendRecord accepts the blocks as an array [record, event, header, body]',
      run: withLog(async (store) => {
        const [r1] = (await makeChain('a', 1)) as [TestRecord]
        const { record, event, header, body } = r1.blocks
        await store.appendRecord(T1, L1, { cid: r1.cid, prev: undefined, blocks: [record, event, header, body] })
        const [entry] = await collect(store.readLog(T1, L1))
        assertDeepEqual(entry, { counter: 1, cid: r1.cid, blocks: r1.blocks })
      })
    },
    {
      name: 'concurrent appends with the same prev: exactly one succeeds, the other gets HeadMismatchError',
      run: withLog(async (store) => {
        const [r1] = (await makeChain('a', 1)) as [TestRecord]
        const [f1] = (await makeChain('fork', 1)) as [TestRecord]
        const results = await Promise.allSettled([store.appendRecord(T1, L1, r1), store.appendRecord(T1, L1, f1)])
        assertEqual(results.filter((r) => r.status === 'fulfilled').length, 1, 'one append succeeds')
        const failed = results.find((r) => r.status === 'rejected')
        assertEqual((failed?.reason as Error | undefined)?.name, 'HeadMismatchError')
        assertEqual((await store.getHead(T1, L1)).counter, 1)
        assertEqual((await collect(store.readLog(T1, L1))).length, 1)
      })
    },
    {
      name: 'concurrent appends that chain are applied in call order; other logs append in parallel',
      run: withLog(async (store) => {
        await store.addLog(T1, { id: L2, publicKey: PUB })
        const a = await makeChain('a', 20)
        const b = await makeChain('b', 20)
        await Promise.all([...a.map((r) => store.appendRecord(T1, L1, r)), ...b.map((r) => store.appendRecord(T1, L2, r))])
        assertDeepEqual((await collect(store.readLog(T1, L1))).map((e) => e.cid), a.map((r) => r.cid))
        assertDeepEqual((await collect(store.readLog(T1, L2))).map((e) => e.cid), b.map((r) => r.cid))
        assertDeepEqual(await store.getHeads(T1), [
          { id: L1, head: { cid: a[19]?.cid, counter: 20 } },
          { id: L2, head: { cid: b[19]?.cid, counter: 20 } }
        ])
      })
    },
    {
      name: 'readLog yields every record in order from the start, with all four blocks',
      run: withLog(async (store) => {
        const chain = await makeChain('a', 25)
        await appendAll(store, T1, L1, chain)
        const entries = await collect(store.readLog(T1, L1))
        assertEqual(entries.length, 25)
        entries.forEach((e, i) => {
          assertDeepEqual(e, { counter: i + 1, cid: chain[i]?.cid, blocks: chain[i]?.blocks }, `entry ${i + 1}`)
        })
        assertDeepEqual((await collect(store.readLog(T1, L1, { after: 0 }))).length, 25, 'after 0 is the start')
      }, { readPageSize: 7 })
    },
    {
      name: 'readLog starts after a counter in the middle and honours a limit',
      run: withLog(async (store) => {
        const chain = await makeChain('a', 30)
        await store.appendRecords(T1, L1, chain)
        assertDeepEqual((await collect(store.readLog(T1, L1, { after: 12 }))).map((e) => e.counter), Array.from({ length: 18 }, (_, i) => 13 + i))
        assertDeepEqual((await collect(store.readLog(T1, L1, { after: 12, limit: 5 }))).map((e) => e.cid), chain.slice(12, 17).map((r) => r.cid))
        assertDeepEqual((await collect(store.readLog(T1, L1, { limit: 2 }))).map((e) => e.counter), [1, 2])
        assertDeepEqual(await collect(store.readLog(T1, L1, { after: 30 })), [], 'nothing after the head')
        assertDeepEqual(await collect(store.readLog(T1, L1, { after: 99 })), [], 'nothing past the head')
        assertDeepEqual(await collect(store.readLog(T1, L1, { limit: 0 })), [], 'limit 0')
        await assertRejects(() => collect(store.readLog(T1, L1, { after: -1 })), 'InvalidStoreInputError', 'negative after')
      }, { readPageSize: 4 })
    },
    {
      name: 'readLog of an empty log yields nothing',
      run: withLog(async (store) => {
        assertDeepEqual(await collect(store.readLog(T1, L1)), [])
      })
    },
    {
      name: 'readLog streams a 2,000-record log in order and can stop early',
      run: withLog(async (store) => {
        const chain = await makeChain('long', 2000)
        for (let i = 0; i < chain.length; i += 500) await store.appendRecords(T1, L1, chain.slice(i, i + 500))
        assertDeepEqual(await store.getHead(T1, L1), { cid: chain[1999]?.cid, counter: 2000 })
        let counter = 0
        for await (const entry of store.readLog(T1, L1)) {
          counter++
          assertEqual(entry.counter, counter)
          assertTrue(entry.cid.equals(chain[counter - 1]?.cid), `record ${counter}`)
          assertTrue(entry.blocks.body.cid.equals(chain[counter - 1]?.blocks.body.cid), `body ${counter}`)
        }
        assertEqual(counter, 2000)
        let seen = 0
        for await (const entry of store.readLog(T1, L1, { after: 1000 })) {
          assertEqual(entry.counter, 1001 + seen)
          if (++seen === 10) break
        }
        assertEqual(seen, 10)
      })
    },
    {
      name: 'appendRecords appends a chained batch at once and returns the new head',
      run: withLog(async (store) => {
        const first = await makeChain('a', 5)
        assertDeepEqual(await store.appendRecords(T1, L1, first), { cid: first[4]?.cid, counter: 5 })
        const more = await makeChain('a', 1000, first[4]?.cid, 6)
        assertDeepEqual(await store.appendRecords(T1, L1, more), { cid: more[999]?.cid, counter: 1005 })
        assertDeepEqual(await store.appendRecords(T1, L1, []), { cid: more[999]?.cid, counter: 1005 }, 'an empty batch changes nothing')
        const found = await store.getRecordBlocks(T1, more[500]?.cid as CID)
        assertEqual(found?.counter, 506)
        assertEqual((await collect(store.readLog(T1, L1, { after: 1000 }))).length, 5)
      })
    },
    {
      name: 'appendRecords commits the writes passed as `with` in the same atomic batch as the records',
      run: withLog(async (store, kv) => {
        assertEqual(store.writesTo(kv), true, 'the log store writes into its KV store')
        assertEqual(store.writesTo(await makeKV().then(async (other) => { await other.close(); return other })), false, 'and into no other')
        const chain = await makeChain('a', 3)
        const key = (i: number): Uint8Array => Uint8Array.from([0x77, 0x64, 0, 1, i])
        const head = await store.appendRecords(T1, L1, chain, { with: [{ type: 'put', key: key(1), value: Uint8Array.of(1) }, { type: 'put', key: key(2), value: Uint8Array.of(2) }] })
        assertEqual(head.counter, 3)
        assertDeepEqual(await kv.get(key(1)), Uint8Array.of(1))
        assertDeepEqual(await kv.get(key(2)), Uint8Array.of(2))
        const more = await makeChain('a', 1, chain[2]?.cid, 4)
        await store.appendRecords(T1, L1, more, { with: [{ type: 'del', key: key(1) }] })
        assertEqual(await kv.get(key(1)), undefined, 'a del in `with` is applied too')
      })
    },
    {
      name: 'appendRecords refuses `with` writes in the log store\'s own key space with InvalidStoreInputError and writes nothing',
      run: withLog(async (store, kv) => {
        const chain = await makeChain('a', 2)
        const before = await dump(kv)
        // (ls, h, …): a head of the log store, which `with` must never overwrite.
        const own = Uint8Array.from([0x6c, 0x73, 0, 1, 0x68, 0, 1])
        await assertRejects(() => store.appendRecords(T1, L1, chain, { with: [{ type: 'put', key: own, value: Uint8Array.of(0) }] }), 'InvalidStoreInputError', 'a key under (ls)')
        await assertRejects(() => store.appendRecords(T1, L1, chain, { with: [{ type: 'put', key: Uint8Array.of(1) } as never] }), 'InvalidStoreInputError', 'a put without a value')
        await assertRejects(() => store.appendRecords(T1, L1, chain, { with: 'x' as never }), 'InvalidStoreInputError', 'not an array')
        assertDeepEqual(await dump(kv), before, 'nothing written')
        assertEqual((await store.appendRecords(T1, L1, chain)).counter, 2)
      })
    },
    {
      name: 'appendRecords with a broken chain rejects with HeadMismatchError and writes nothing',
      run: withLog(async (store, kv) => {
        const chain = await makeChain('a', 6)
        const [stranger] = (await makeChain('b', 1, chain[1]?.cid)) as [TestRecord]
        const before = await dump(kv)
        const broken = [chain[0], chain[1], stranger, chain[3]] as TestRecord[]
        await assertRejects(() => store.appendRecords(T1, L1, broken), 'HeadMismatchError', 'record 3 does not follow record 2')
        await assertRejects(() => store.appendRecords(T1, L1, chain.slice(1)), 'HeadMismatchError', 'the batch does not start at the head')
        assertDeepEqual(await dump(kv), before, 'nothing written')
        assertEqual((await store.appendRecords(T1, L1, chain)).counter, 6)
      })
    },
    {
      name: 'an append whose batch fails leaves the old head, earlier records readable and no new entry',
      run: async () => {
        const inner = await makeKV()
        const { kv, failNextBatch } = failingBatches(inner)
        try {
          const store = await createLogStore(kv)
          await store.addThread(T1, { key: KEY })
          await store.addLog(T1, { id: L1, publicKey: PUB })
          const chain = await makeChain('a', 6)
          await appendAll(store, T1, L1, chain.slice(0, 3))
          const before = await dump(kv)
          const r4 = chain[3] as TestRecord
          failNextBatch()
          await assertRejects(() => store.appendRecord(T1, L1, r4), 'StoreIOError')
          assertDeepEqual(await dump(kv), before, 'nothing written')
          assertDeepEqual(await store.getHead(T1, L1), { cid: chain[2]?.cid, counter: 3 })
          assertEqual(await store.getRecordBlocks(T1, r4.cid), undefined)
          assertTrue(!(await store.hasBlock(r4.blocks.record.cid)))
          assertDeepEqual((await collect(store.readLog(T1, L1))).map((e) => e.cid), chain.slice(0, 3).map((r) => r.cid))
          await assertRejects(() => store.appendRecord(T1, L1, chain[4] as TestRecord), 'HeadMismatchError', 'the head did not advance')
          failNextBatch()
          await assertRejects(() => store.appendRecords(T1, L1, chain.slice(3)), 'StoreIOError', 'a failed batch of records')
          assertDeepEqual(await dump(kv), before, 'nothing written by the failed batch')
          assertDeepEqual(await store.appendRecord(T1, L1, r4), { cid: r4.cid, counter: 4 }, 'the retry with the old prev succeeds')
          assertDeepEqual(await store.appendRecords(T1, L1, chain.slice(4)), { cid: chain[5]?.cid, counter: 6 })
        } finally {
          await kv.close()
        }
      }
    },
    {
      name: 'deleteThread removes the thread, its logs, index entries and blocks, and nothing else',
      run: withStore(async (store, kv) => {
        const keep = await blockOf({ keep: true })
        await store.putBlocks([keep])
        await store.addThread(T2, { key: KEY })
        await store.addLog(T2, { id: L1, publicKey: PUB })
        const other = await makeChain('other', 5)
        await store.appendRecords(T2, L1, other)
        const before = await dump(kv)

        await store.addThread(T1, { key: KEY })
        await store.addLog(T1, { id: L1, publicKey: PUB, privateKey: PRIV, addrs: ['/a'] })
        await store.addLog(T1, { id: L2, publicKey: PUB })
        const a = await makeChain('a', 40)
        const b = await makeChain('b', 3)
        await store.appendRecords(T1, L1, a)
        await appendAll(store, T1, L2, b)
        await store.deleteThread(T1)

        assertDeepEqual(await dump(kv), before, 'exactly the other thread and the loose block remain')
        assertTrue(!(await store.hasThread(T1)))
        await assertRejects(() => store.getLog(T1, L1), 'ThreadNotFoundError')
        for (const block of allBlocks([...a, ...b])) assertTrue(!(await store.hasBlock(block.cid)), 'deleted thread blocks are gone')
        assertDeepEqual(await store.listThreads(), [{ id: T2, key: KEY }])
        assertEqual((await collect(store.readLog(T2, L1))).length, 5, 'the other thread is intact')

        await store.addThread(T1, { key: KEY })
        assertDeepEqual(await store.listLogs(T1), [], 'a re-added thread starts empty')
        await store.addLog(T1, { id: L1, publicKey: PUB })
        assertDeepEqual(await store.appendRecord(T1, L1, a[0] as TestRecord), { cid: a[0]?.cid, counter: 1 }, 'no stale cached head')
      }, { deleteChunkSize: 7 })
    },
    {
      name: 'a store written with another format version is refused with UnsupportedStoreFormatError',
      run: async () => {
        const kv = await makeKV()
        try {
          await createLogStore(kv)
          await kv.put(encodeTuple(['ls', 'v']), encodeUint64(3))
          await assertRejects(() => createLogStore(kv), 'UnsupportedStoreFormatError')
        } finally {
          await kv.close()
        }
      }
    },
    {
      name: LOGS_LIMIT_CASE,
      run: withStore(async (store) => {
        await store.addThread(T1, { key: KEY })
        await store.addThread(T2, { key: KEY })
        const ids = Array.from({ length: 4096 }, (_, i) => `12D3KooWlog${String(i).padStart(5, '0')}` as LogID)
        // In slices, so the backends see concurrent adds counted one at a time.
        for (let i = 0; i < ids.length; i += 512) await Promise.all(ids.slice(i, i + 512).map(async (id) => await store.addLog(T1, { id, publicKey: PUB })))
        await assertRejects(() => store.addLog(T1, { id: L1, publicKey: PUB }), 'LimitExceededError')
        const extra = await Promise.allSettled([store.addLog(T1, { id: L1, publicKey: PUB }), store.addLog(T1, { id: L2, publicKey: PUB })])
        assertTrue(extra.every((r) => r.status === 'rejected' && (r.reason as Error).name === 'LimitExceededError'), 'concurrent adds past the limit are refused too')
        assertEqual((await store.listLogs(T1)).length, 4096)
        await assertRejects(() => store.getLog(T1, L1), 'LogNotFoundError', 'nothing was written')
        await store.addLog(T2, { id: L1, publicKey: PUB })
        assertEqual((await store.listLogs(T2)).length, 1, 'the limit is per thread')
        await store.deleteThread(T1)
        await store.addThread(T1, { key: KEY })
        await store.addLog(T1, { id: L1, publicKey: PUB })
        assertEqual((await store.listLogs(T1)).length, 1, 'a deleted thread starts counting again')
      })
    },
    {
      name: 'addAddrs keeps the newest 32 unsigned addresses of a log',
      run: withStore(async (store) => {
        await store.addThread(T1, { key: KEY })
        const many = Array.from({ length: 40 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`)
        const added = await store.addLog(T1, { id: L1, publicKey: PUB, addrs: many })
        assertDeepEqual(added.addrs, many.slice(8), 'addLog keeps the newest 32')
        let held: string[] = []
        for (let i = 0; i < 100; i++) held = await store.addAddrs(T1, L1, [`/ip4/10.1.0.${i}/tcp/1`])
        assertEqual(held.length, 32)
        assertDeepEqual(held, Array.from({ length: 32 }, (_, i) => `/ip4/10.1.0.${68 + i}/tcp/1`))
        assertDeepEqual((await store.getLog(T1, L1)).addrs, held)
      })
    },
    {
      name: 'setSignedAddrs keeps the list with the greatest sequence number and refuses more than 32 addresses',
      run: withStore(async (store) => {
        await store.addThread(T1, { key: KEY })
        const sig = new Uint8Array(64).fill(7)
        await store.addLog(T1, { id: L1, publicKey: PUB, addrs: ['/unsigned'], signedAddrs: { seq: 5, addrs: ['/a'], sig } })
        assertDeepEqual((await store.getLog(T1, L1)).addrs, ['/a', '/unsigned'], 'signed addresses first')
        assertTrue(!(await store.setSignedAddrs(T1, L1, { seq: 5, addrs: ['/b'], sig })), 'the same sequence number changes nothing')
        assertTrue(!(await store.setSignedAddrs(T1, L1, { seq: 4, addrs: ['/b'], sig })), 'an older list changes nothing')
        assertTrue(await store.setSignedAddrs(T1, L1, { seq: 6, addrs: ['/c', '/unsigned'], sig }))
        const log = await store.getLog(T1, L1)
        assertDeepEqual(log.signedAddrs, { seq: 6, addrs: ['/c', '/unsigned'], sig })
        assertDeepEqual(log.addrs, ['/c', '/unsigned'])
        const tooMany = Array.from({ length: 33 }, (_, i) => `/x/${i}`)
        await assertRejects(() => store.setSignedAddrs(T1, L1, { seq: 7, addrs: tooMany, sig }), 'LimitExceededError')
        await assertRejects(() => store.addLog(T1, { id: L2, publicKey: PUB, signedAddrs: { seq: 1, addrs: tooMany, sig } }), 'LimitExceededError')
        assertEqual((await store.getLog(T1, L1)).signedAddrs?.seq, 6)
      })
    },
    {
      name: 'logs keep their author, certificate and place among this host\'s logs',
      run: withStore(async (store) => {
        await store.addThread(T1, { key: KEY })
        const author = Uint8Array.from({ length: 36 }, (_, i) => i)
        const certificate = { nonce: new Uint8Array(16).fill(1), signature: new Uint8Array(64).fill(2) }
        await store.addLog(T1, { id: L1, publicKey: PUB, privateKey: PRIV, own: 2, author, certificate })
        const got = await store.getLog(T1, L1)
        assertEqual(got.own, 2)
        assertDeepEqual(got.author, author)
        assertDeepEqual(got.certificate, certificate)
      })
    },
    {
      name: 'appendRecords refuses a block over its size limit with LimitExceededError and writes nothing',
      run: withLog(async (store, kv) => {
        const before = await dump(kv)
        const big = await makeRecordWith('big', { header: new Uint8Array(4200) })
        await assertRejects(() => store.appendRecord(T1, L1, big), 'LimitExceededError', 'a header over 4 KiB')
        const huge = await makeRecordWith('huge', { body: new Uint8Array(1024 * 1024 + 100) })
        await assertRejects(() => store.appendRecord(T1, L1, huge), 'LimitExceededError', 'a body over 1 MiB + 64 bytes')
        assertDeepEqual(await dump(kv), before, 'nothing written')
        const fits = await makeRecordWith('fits', { body: new Uint8Array(1024 * 1024) })
        assertEqual((await store.appendRecord(T1, L1, fits)).counter, 1, 'a full-size body is stored')
      })
    },
    {
      name: 'freezeLog keeps the proof, drops the records at and past the fork and refuses them from then on',
      run: withLog(async (store, kv) => {
        const chain = await makeChain('a', 10)
        await store.appendRecords(T1, L1, chain)
        const proof = { counter: 6, records: [chain[5]!.blocks.record.bytes, new Uint8Array([1, 2, 3])] as [Uint8Array, Uint8Array] }
        assertDeepEqual(await store.freezeLog(T1, L1, proof), proof)
        const log = await store.getLog(T1, L1)
        assertDeepEqual(log.fork, proof)
        assertDeepEqual(log.head, { cid: chain[4]!.cid, counter: 5 })
        assertDeepEqual((await collect(store.readLog(T1, L1))).map((e) => e.counter), [1, 2, 3, 4, 5])
        assertEqual(await store.getRecordBlocks(T1, chain[7]!.cid), undefined, 'a dropped record is not found')
        assertTrue(!(await store.hasRecord(T1, chain[5]!.cid)))
        assertTrue(!(await store.hasBlock(chain[9]!.blocks.body.cid)), 'its blocks are gone')
        const held = await dump(kv)
        await assertRejects(() => store.appendRecord(T1, L1, chain[5]!), 'LogFrozenError', 'the record at the fork')
        assertDeepEqual(await dump(kv), held, 'nothing written')
        const later = { counter: 8, records: proof.records }
        assertDeepEqual(await store.freezeLog(T1, L1, later), proof, 'a later fork leaves the log frozen at the earlier one')
        const earlier = { counter: 3, records: proof.records }
        assertDeepEqual(await store.freezeLog(T1, L1, earlier), earlier, 'an earlier fork moves it back')
        assertDeepEqual(await store.getHead(T1, L1), { cid: chain[1]!.cid, counter: 2 })
      }, { deleteChunkSize: 5 })
    },
    {
      name: 'a log frozen ahead of its head takes records up to the fork and none at or past it',
      run: withLog(async (store) => {
        const chain = await makeChain('a', 6)
        await store.appendRecords(T1, L1, chain.slice(0, 2))
        await store.freezeLog(T1, L1, { counter: 5, records: [new Uint8Array([1]), new Uint8Array([2])] })
        assertEqual((await store.getHead(T1, L1)).counter, 2, 'nothing dropped')
        await assertRejects(() => store.appendRecords(T1, L1, chain.slice(2, 5)), 'LogFrozenError', 'a batch reaching the fork')
        assertEqual((await store.appendRecords(T1, L1, chain.slice(2, 4))).counter, 4)
        await assertRejects(() => store.appendRecord(T1, L1, chain[4]!), 'LogFrozenError')
      })
    },
    {
      name: 'a version 1 store is migrated in place: addresses stay unsigned, cut to the newest 32',
      run: async () => {
        const kv = await makeKV()
        try {
          // A version 1 store as it was written: the version, a thread, a log with 40 addresses and its head.
          const many = Array.from({ length: 40 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`)
          await kv.put(encodeTuple(['ls', 'v']), encodeUint64(1))
          await kv.put(encodeTuple(['ls', 't', T1]), dagCbor.encode({ key: KEY }))
          await kv.put(encodeTuple(['ls', 'l', T1, L1]), dagCbor.encode({ pub: PUB, priv: PRIV, addrs: many }))
          await kv.put(encodeTuple(['ls', 'h', T1, L1]), encodeUint64(0))
          await kv.put(encodeTuple(['ls', 'l', T1, L2]), dagCbor.encode({ pub: PUB, addrs: ['/one'] }))
          await kv.put(encodeTuple(['ls', 'h', T1, L2]), encodeUint64(0))
          const store = await createLogStore(kv)
          assertDeepEqual(await kv.get(encodeTuple(['ls', 'v'])), encodeUint64(2), 'the version is 2')
          const log = await store.getLog(T1, L1)
          assertDeepEqual(log, { id: L1, publicKey: PUB, privateKey: PRIV, addrs: many.slice(8), head: { cid: undefined, counter: 0 } })
          assertEqual(log.signedAddrs, undefined, 'nothing is signed')
          assertDeepEqual((await store.getLog(T1, L2)).addrs, ['/one'])
          await createLogStore(kv)
          assertDeepEqual((await store.getLog(T1, L1)).addrs, many.slice(8), 'opening again changes nothing')
        } finally {
          await kv.close()
        }
      }
    },
    {
      name: 'append arguments are validated with named errors',
      run: withLog(async (store) => {
        const [r1] = (await makeChain('a', 1)) as [TestRecord]
        await assertRejects(() => store.appendRecords(T1, L1, 'x' as never), 'InvalidStoreInputError', 'records not an array')
        await assertRejects(() => store.appendRecord(T1, L1, { ...r1, cid: 'bafy' as never }), 'InvalidBlockError', 'a CID that is a string')
        await assertRejects(() => store.appendRecord('' as ThreadID, L1, r1), 'InvalidStoreInputError', 'an empty thread ID')
        const controller = new AbortController()
        controller.abort()
        await assertRejects(() => store.appendRecord(T1, L1, r1, { signal: controller.signal }), 'AbortError', 'aborted')
        assertEqual((await store.getHead(T1, L1)).counter, 0)
      })
    }
  ]

  const reopen = options.reopen
  if (reopen !== undefined) {
    cases.push({
      name: 'threads, logs, heads and records survive closing and reopening the store',
      run: async () => {
        const kv = await makeKV()
        const chain = await makeChain('a', 12)
        let again: KVStore | undefined
        try {
          const store = await createLogStore(kv)
          await store.addThread(T1, { key: KEY })
          await store.addLog(T1, { id: L1, publicKey: PUB, privateKey: PRIV, addrs: ['/a'] })
          await store.appendRecords(T1, L1, chain.slice(0, 10))
          again = await reopen(kv)
          const reopened = await createLogStore(again)
          assertDeepEqual(await reopened.getThread(T1), { id: T1, key: KEY })
          assertDeepEqual(await reopened.getLog(T1, L1), { id: L1, publicKey: PUB, privateKey: PRIV, addrs: ['/a'], head: { cid: chain[9]?.cid, counter: 10 } })
          assertDeepEqual((await collect(reopened.readLog(T1, L1))).map((e) => e.cid), chain.slice(0, 10).map((r) => r.cid))
          await assertRejects(() => reopened.appendRecord(T1, L1, chain[11] as TestRecord), 'HeadMismatchError', 'the head was read back')
          assertDeepEqual(await reopened.appendRecords(T1, L1, chain.slice(10)), { cid: chain[11]?.cid, counter: 12 })
        } finally {
          await (again ?? kv).close()
        }
      }
    })
  }
  return cases
}

/** Exported for the browser harness: builds a small log in `kv` (used by the page-reload test). */
export async function writeSample(kv: KVStore): Promise<{ head: string; counter: number }> {
  const store = await createLogStore(kv)
  await store.addThread(T1, { key: KEY })
  await store.addLog(T1, { id: L1, publicKey: PUB })
  const head = await store.appendRecords(T1, L1, await makeChain('sample', 7))
  return { head: String(head.cid), counter: head.counter }
}

/** Reads back what {@link writeSample} wrote. */
export async function readSample(kv: KVStore): Promise<{ head: string; counter: number; records: number; key: number[] }> {
  const store = await createLogStore(kv)
  const { head } = await store.getLog(T1, L1)
  const records = (await collect(store.readLog(T1, L1))).length
  return { head: String(head.cid), counter: head.counter, records, key: Array.from((await store.getThread(T1)).key) }
}



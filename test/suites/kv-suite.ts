/**
 * Acceptance suite of the ordered key-value interface, run against every backend (memory and
 * LevelDB in Node, IndexedDB in Chromium). Case names can be listed without running anything.
 */
import type { KVStore } from '../../src/store/kv.js'
import { assertDeepEqual, assertEqual, assertRejects, assertTrue, collect, type Case } from './case.js'

export interface KVSuiteOptions {
  /** Close `store` and open the same storage again (backends that persist). */
  reopen?: (store: KVStore) => Promise<KVStore>
}

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes)
const te = new TextEncoder()
const s = (text: string): Uint8Array => te.encode(text)
const hex = (bytes: Uint8Array): string => Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('')

async function keysOf(store: KVStore, options?: Parameters<KVStore['range']>[0]): Promise<string[]> {
  return (await collect(store.range(options))).map(([k]) => hex(k))
}

/** A key of `n` as 4 big-endian bytes after a prefix, so numeric order is key order. */
function numbered(prefix: string, n: number): Uint8Array {
  const out = new Uint8Array(prefix.length + 4)
  out.set(s(prefix))
  new DataView(out.buffer).setUint32(prefix.length, n)
  return out
}

export function kvSuite(makeStore: () => Promise<KVStore>, options: KVSuiteOptions = {}): Case[] {
  /** Run `fn` with a fresh store that is closed afterwards. */
  const withStore = (fn: (store: KVStore) => Promise<void>) => async (): Promise<void> => {
    const store = await makeStore()
    try {
      await fn(store)
    } finally {
      await store.close()
    }
  }

  /** A store holding keys 0x01…0x09 (one byte each) with values equal to their keys. */
  const withNine = (fn: (store: KVStore) => Promise<void>) =>
    withStore(async (store) => {
      await store.batch(Array.from({ length: 9 }, (_, i) => ({ type: 'put' as const, key: b(i + 1), value: b(i + 1) })))
      await fn(store)
    })

  const cases: Case[] = [
    {
      name: 'get returns undefined for a key that was never written',
      run: withStore(async (store) => {
        assertEqual(await store.get(s('missing')), undefined)
      })
    },
    {
      name: 'put then get returns the same bytes',
      run: withStore(async (store) => {
        await store.put(s('a'), s('alpha'))
        assertDeepEqual(await store.get(s('a')), s('alpha'))
      })
    },
    {
      name: 'put overwrites an existing value',
      run: withStore(async (store) => {
        await store.put(s('a'), s('one'))
        await store.put(s('a'), s('two'))
        assertDeepEqual(await store.get(s('a')), s('two'))
        assertEqual((await collect(store.range())).length, 1, 'one entry after an overwrite')
      })
    },
    {
      name: 'delete removes a key and deleting a missing key is a no-op',
      run: withStore(async (store) => {
        await store.put(s('a'), s('alpha'))
        await store.put(s('b'), s('beta'))
        await store.delete(s('a'))
        await store.delete(s('never'))
        assertEqual(await store.get(s('a')), undefined)
        assertDeepEqual(await store.get(s('b')), s('beta'))
      })
    },
    {
      name: 'returns values as plain Uint8Arrays that are independent of the caller’s buffers',
      run: withStore(async (store) => {
        const big = new Uint8Array(64).fill(7)
        const view = big.subarray(8, 16)
        await store.put(s('k'), view)
        view.fill(9)
        const got = await store.get(s('k'))
        assertTrue(got instanceof Uint8Array, 'a Uint8Array')
        assertDeepEqual(got, new Uint8Array(8).fill(7), 'writing to the input afterwards does not change the stored value')
        got?.fill(1)
        assertDeepEqual(await store.get(s('k')), new Uint8Array(8).fill(7), 'writing to an output does not change the stored value')
      })
    },
    {
      name: 'stores an empty value',
      run: withStore(async (store) => {
        await store.put(s('empty'), new Uint8Array(0))
        const got = await store.get(s('empty'))
        assertTrue(got !== undefined, 'present')
        assertEqual(got.byteLength, 0)
      })
    },
    {
      name: 'rejects empty and non-Uint8Array keys and values with InvalidStoreInputError',
      run: withStore(async (store) => {
        await assertRejects(() => store.put(new Uint8Array(0), s('v')), 'InvalidStoreInputError', 'empty key')
        await assertRejects(() => store.put('text' as unknown as Uint8Array, s('v')), 'InvalidStoreInputError', 'string key')
        await assertRejects(() => store.put(s('k'), 'text' as unknown as Uint8Array), 'InvalidStoreInputError', 'string value')
        await assertRejects(() => store.get([1, 2] as unknown as Uint8Array), 'InvalidStoreInputError', 'array key')
        await assertRejects(() => store.delete(undefined as unknown as Uint8Array), 'InvalidStoreInputError', 'undefined key')
        await assertRejects(() => store.getMany([s('a'), 5 as unknown as Uint8Array]), 'InvalidStoreInputError', 'getMany key')
        assertDeepEqual(await collect(store.range()), [], 'nothing was written')
      })
    },
    {
      name: 'getMany returns values in the order of the keys, undefined where absent',
      run: withStore(async (store) => {
        await store.put(s('a'), s('1'))
        await store.put(s('c'), s('3'))
        assertDeepEqual(await store.getMany([s('c'), s('b'), s('a'), s('c')]), [s('3'), undefined, s('1'), s('3')])
        assertDeepEqual(await store.getMany([]), [])
      })
    },
    {
      name: 'orders binary keys bytewise unsigned, with 0x00 and 0xff bytes and prefixes',
      run: withStore(async (store) => {
        const keys = [b(0xff, 0xff), b(0x00), b(0x80), b(0x7f), b(0x01, 0x00), b(0x01), b(0xff), b(0x00, 0x00), b(0x01, 0xff), b(0x00, 0xff)]
        for (const k of keys) await store.put(k, k)
        const expected = ['00', '0000', '00ff', '01', '0100', '01ff', '7f', '80', 'ff', 'ffff']
        assertDeepEqual(await keysOf(store), expected)
        assertDeepEqual(await keysOf(store, { reverse: true }), [...expected].reverse())
        for (const [k, v] of await collect(store.range())) assertDeepEqual(v, k, 'value stored with its key')
      })
    },
    {
      name: 'range without options yields every entry in ascending order',
      run: withNine(async (store) => {
        const all = await collect(store.range())
        assertDeepEqual(all.map(([k]) => hex(k)), ['01', '02', '03', '04', '05', '06', '07', '08', '09'])
        for (const [k, v] of all) assertDeepEqual(v, k)
      })
    },
    {
      name: 'range with a prefix yields exactly the keys that start with it',
      run: withStore(async (store) => {
        const keys = [b(0x01), b(0x01, 0x00), b(0x01, 0x02, 0x03), b(0x01, 0xff), b(0x01, 0xff, 0xff), b(0x02), b(0x00, 0x01), b(0xff), b(0xff, 0x00), b(0xff, 0xff, 0x01)]
        for (const k of keys) await store.put(k, k)
        assertDeepEqual(await keysOf(store, { prefix: b(0x01) }), ['01', '0100', '010203', '01ff', '01ffff'])
        assertDeepEqual(await keysOf(store, { prefix: b(0x01, 0xff) }), ['01ff', '01ffff'])
        assertDeepEqual(await keysOf(store, { prefix: b(0xff) }), ['ff', 'ff00', 'ffff01'], 'a prefix with no upper bound')
        assertDeepEqual(await keysOf(store, { prefix: b(0xff, 0xff) }), ['ffff01'])
        assertDeepEqual(await keysOf(store, { prefix: b(0x03) }), [], 'no key has the prefix')
        assertDeepEqual(await keysOf(store, { prefix: b(0x01), reverse: true }), ['01ffff', '01ff', '010203', '0100', '01'])
        assertEqual((await keysOf(store, { prefix: new Uint8Array(0) })).length, keys.length, 'an empty prefix matches everything')
      })
    },
    {
      name: 'range honours gte, gt, lte and lt bounds',
      run: withNine(async (store) => {
        assertDeepEqual(await keysOf(store, { gte: b(3), lt: b(6) }), ['03', '04', '05'])
        assertDeepEqual(await keysOf(store, { gt: b(3), lte: b(6) }), ['04', '05', '06'])
        assertDeepEqual(await keysOf(store, { gte: b(8) }), ['08', '09'])
        assertDeepEqual(await keysOf(store, { lt: b(3) }), ['01', '02'])
        assertDeepEqual(await keysOf(store, { gt: b(2, 0) }), ['03', '04', '05', '06', '07', '08', '09'], 'bounds need not be stored keys')
        assertDeepEqual(await keysOf(store, { gte: b(4), lte: b(4) }), ['04'], 'a single-key range')
        assertDeepEqual(await keysOf(store, { gte: b(2), gt: b(5), lt: b(8), lte: b(9) }), ['06', '07'], 'the tightest bounds apply')
      })
    },
    {
      name: 'range combines a prefix with bounds',
      run: withStore(async (store) => {
        for (let i = 0; i < 10; i++) {
          await store.put(numbered('a/', i), b(i))
          await store.put(numbered('b/', i), b(i))
        }
        const got = await collect(store.range({ prefix: s('a/'), gt: numbered('a/', 6) }))
        assertDeepEqual(got.map(([, v]) => v[0]), [7, 8, 9])
        const below = await collect(store.range({ prefix: s('b/'), lt: numbered('b/', 2) }))
        assertDeepEqual(below.map(([, v]) => v[0]), [0, 1])
        const wide = await collect(store.range({ prefix: s('a/'), gte: s('0'), lte: s('z') }))
        assertEqual(wide.length, 10, 'bounds wider than the prefix do not widen it')
      })
    },
    {
      name: 'range in reverse yields descending order within the bounds',
      run: withNine(async (store) => {
        assertDeepEqual(await keysOf(store, { reverse: true }), ['09', '08', '07', '06', '05', '04', '03', '02', '01'])
        assertDeepEqual(await keysOf(store, { reverse: true, gt: b(2), lte: b(5) }), ['05', '04', '03'])
        assertDeepEqual(await keysOf(store, { reverse: true, gte: b(2), lt: b(5) }), ['04', '03', '02'])
      })
    },
    {
      name: 'range limit caps the number of entries, also in reverse and with bounds',
      run: withNine(async (store) => {
        assertDeepEqual(await keysOf(store, { limit: 3 }), ['01', '02', '03'])
        assertDeepEqual(await keysOf(store, { limit: 2, reverse: true }), ['09', '08'])
        assertDeepEqual(await keysOf(store, { limit: 2, gt: b(4) }), ['05', '06'])
        assertDeepEqual(await keysOf(store, { limit: 2, reverse: true, lt: b(4) }), ['03', '02'])
        assertDeepEqual(await keysOf(store, { limit: 100 }), ['01', '02', '03', '04', '05', '06', '07', '08', '09'])
        assertDeepEqual(await keysOf(store, { limit: 0 }), [], 'limit 0 yields nothing')
        assertEqual((await keysOf(store, { limit: Infinity })).length, 9)
      })
    },
    {
      name: 'empty ranges yield nothing: empty store, crossed bounds, equal exclusive bounds',
      run: withStore(async (store) => {
        assertDeepEqual(await keysOf(store), [], 'empty store')
        await store.batch([1, 2, 3].map((i) => ({ type: 'put' as const, key: b(i), value: b(i) })))
        assertDeepEqual(await keysOf(store, { gt: b(3) }), [], 'above the last key')
        assertDeepEqual(await keysOf(store, { gte: b(3), lt: b(2) }), [], 'crossed bounds')
        assertDeepEqual(await keysOf(store, { gt: b(2), lt: b(2) }), [], 'equal exclusive bounds')
        assertDeepEqual(await keysOf(store, { gte: b(2), lt: b(2), reverse: true }), [], 'equal half-open bounds in reverse')
        assertDeepEqual(await keysOf(store, { prefix: b(2), gt: b(2, 0xff, 0xff) }), [], 'bounds outside the prefix')
      })
    },
    {
      name: 'range rejects a negative or fractional limit and non-Uint8Array bounds with InvalidStoreInputError',
      run: withNine(async (store) => {
        await assertRejects(() => collect(store.range({ limit: -1 })), 'InvalidStoreInputError', 'negative limit')
        await assertRejects(() => collect(store.range({ limit: 1.5 })), 'InvalidStoreInputError', 'fractional limit')
        await assertRejects(() => collect(store.range({ gt: 'a' as unknown as Uint8Array })), 'InvalidStoreInputError', 'string bound')
      })
    },
    {
      name: 'range streams 5,000 keys in order, forwards and backwards',
      run: withStore(async (store) => {
        const n = 5000
        const ops = Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: numbered('k', i), value: numbered('v', i) }))
        // Write in shuffled order so the backend must sort.
        for (let i = ops.length - 1; i > 0; i--) {
          const j = (i * 7919) % (i + 1)
          ;[ops[i], ops[j]] = [ops[j] as (typeof ops)[number], ops[i] as (typeof ops)[number]]
        }
        await store.batch(ops)
        let expected = 0
        for await (const [k, v] of store.range({ prefix: s('k') })) {
          assertDeepEqual(k, numbered('k', expected), `key ${expected}`)
          assertDeepEqual(v, numbered('v', expected), `value ${expected}`)
          expected++
        }
        assertEqual(expected, n, 'every key seen once')
        let back = n
        for await (const [k] of store.range({ prefix: s('k'), reverse: true })) {
          back--
          assertDeepEqual(k, numbered('k', back), `reverse key ${back}`)
        }
        assertEqual(back, 0, 'every key seen once in reverse')
      })
    },
    {
      name: 'pages yield a range in order as non-empty arrays, honouring bounds, reverse and limit',
      run: withStore(async (store) => {
        const n = 1500
        await store.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: numbered('k', i), value: numbered('v', i) })))
        await store.put(s('other'), b(1))
        const flat = async (options: Parameters<KVStore['pages']>[0]): Promise<Array<[Uint8Array, Uint8Array]>> => {
          const out: Array<[Uint8Array, Uint8Array]> = []
          let pages = 0
          for await (const page of store.pages(options)) {
            assertTrue(page.length > 0, 'no empty page')
            pages++
            out.push(...page)
          }
          assertTrue(out.length === 0 || pages <= out.length, 'pages hold entries')
          return out
        }
        const all = await flat({ prefix: s('k') })
        assertEqual(all.length, n, 'every entry once')
        all.forEach(([k, v], i) => {
          assertDeepEqual(k, numbered('k', i), `key ${i}`)
          assertDeepEqual(v, numbered('v', i), `value ${i}`)
        })
        const back = await flat({ prefix: s('k'), reverse: true, limit: 700, lt: numbered('k', 1000) })
        assertEqual(back.length, 700, 'the limit holds across pages')
        assertDeepEqual(back[0]![0], numbered('k', 999), 'reverse from the bound')
        assertDeepEqual(back[699]![0], numbered('k', 300), 'reverse to the limit')
        assertDeepEqual(await flat({ gt: s('other') }), [], 'an empty range yields no page')
        assertEqual((await keysOf(store, { prefix: s('k'), limit: 3 })).length, 3, 'range and pages agree')
      })
    },
    {
      name: 'leaving a range early releases it and the store stays usable',
      run: withStore(async (store) => {
        await store.batch(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: numbered('k', i), value: b(1) })))
        let seen = 0
        for await (const entry of store.range()) {
          assertTrue(entry[0].byteLength > 0)
          if (++seen === 10) break
        }
        assertEqual(seen, 10)
        await store.put(numbered('k', 5000), b(2))
        assertDeepEqual(await store.get(numbered('k', 5000)), b(2))
      })
    },
    {
      name: 'writes and deletes during a range do not break it',
      run: withStore(async (store) => {
        const n = 600
        await store.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: numbered('k', i * 2), value: b(1) })))
        let previous = ''
        const evens = new Set<number>()
        for await (const [k] of store.range({ prefix: s('k') })) {
          const key = hex(k)
          assertTrue(key > previous, `keys strictly increase (${key} after ${previous})`)
          previous = key
          const i = new DataView(k.buffer, k.byteOffset + 1).getUint32(0)
          if (i % 2 === 0) {
            evens.add(i)
            // Delete the entry just seen and add one ahead of the scan (it may or may not be seen).
            await store.delete(k)
            await store.put(numbered('k', i + 1), b(2))
          }
        }
        assertEqual(evens.size, n, 'every key present at the start is seen once')
        const left = await keysOf(store, { prefix: s('k') })
        assertTrue(left.every((key) => parseInt(key.slice(2), 16) % 2 === 1), 'only keys added during the scan remain')
      })
    },
    {
      name: 'batch applies puts and deletes together',
      run: withStore(async (store) => {
        await store.put(s('gone'), s('x'))
        await store.batch([
          { type: 'put', key: s('a'), value: s('1') },
          { type: 'put', key: s('b'), value: s('2') },
          { type: 'del', key: s('gone') }
        ])
        assertDeepEqual(await collect(store.range()), [[s('a'), s('1')], [s('b'), s('2')]])
      })
    },
    {
      name: 'batch applies operations in order: the last write to a key wins',
      run: withStore(async (store) => {
        await store.batch([
          { type: 'put', key: s('a'), value: s('1') },
          { type: 'del', key: s('a') },
          { type: 'put', key: s('b'), value: s('1') },
          { type: 'put', key: s('b'), value: s('2') },
          { type: 'del', key: s('c') },
          { type: 'put', key: s('c'), value: s('3') }
        ])
        assertDeepEqual(await collect(store.range()), [[s('b'), s('2')], [s('c'), s('3')]])
      })
    },
    {
      name: 'batch with a malformed operation fails whole and writes nothing',
      run: withStore(async (store) => {
        await store.put(s('keep'), s('old'))
        const bad: unknown[] = [
          { type: 'put', key: s('a'), value: s('1') },
          { type: 'del', key: s('keep') },
          { type: 'put', key: 'not bytes', value: s('2') }
        ]
        await assertRejects(() => store.batch(bad as never), 'InvalidStoreInputError', 'non-Uint8Array key')
        await assertRejects(() => store.batch([{ type: 'put', key: s('a'), value: s('1') }, { type: 'put', key: s('b') }] as never), 'InvalidStoreInputError', 'missing value')
        await assertRejects(() => store.batch([{ type: 'put', key: s('a'), value: s('1') }, { type: 'merge', key: s('b') }] as never), 'InvalidStoreInputError', 'unknown op')
        await assertRejects(() => store.batch([{ type: 'put', key: s('a'), value: s('1') }, null] as never), 'InvalidStoreInputError', 'null op')
        assertDeepEqual(await collect(store.range()), [[s('keep'), s('old')]], 'nothing written')
      })
    },
    {
      name: 'an empty batch is a no-op',
      run: withStore(async (store) => {
        await store.batch([])
        assertDeepEqual(await collect(store.range()), [])
      })
    },
    {
      name: 'stores and reads back a 1 MiB value',
      run: withStore(async (store) => {
        const value = new Uint8Array(1024 * 1024)
        for (let i = 0; i < value.byteLength; i++) value[i] = (i * 31 + (i >>> 8)) & 0xff
        await store.put(s('big'), value)
        await store.batch([{ type: 'put', key: s('big2'), value }])
        assertDeepEqual(await store.get(s('big')), value)
        const all = await collect(store.range())
        assertEqual(all.length, 2)
        assertDeepEqual(all[1]?.[1], value)
      })
    },
    {
      name: 'concurrent writes to distinct keys all land',
      run: withStore(async (store) => {
        await Promise.all(Array.from({ length: 100 }, (_, i) => store.put(numbered('c', i), b(i))))
        assertEqual((await collect(store.range({ prefix: s('c') }))).length, 100)
      })
    },
    {
      name: 'an aborted signal rejects with AbortError and writes nothing',
      run: withStore(async (store) => {
        const controller = new AbortController()
        controller.abort()
        const { signal } = controller
        await assertRejects(() => store.put(s('a'), s('1'), { signal }), 'AbortError', 'put')
        await assertRejects(() => store.batch([{ type: 'put', key: s('b'), value: s('1') }], { signal }), 'AbortError', 'batch')
        await assertRejects(() => store.get(s('a'), { signal }), 'AbortError', 'get')
        await assertRejects(() => collect(store.range({ signal })), 'AbortError', 'range')
        assertDeepEqual(await collect(store.range()), [])
      })
    },
    {
      name: 'aborting a range stops it with AbortError',
      run: withStore(async (store) => {
        await store.batch(Array.from({ length: 50 }, (_, i) => ({ type: 'put' as const, key: numbered('k', i), value: b(1) })))
        const controller = new AbortController()
        let seen = 0
        await assertRejects(async () => {
          for await (const entry of store.range({ signal: controller.signal })) {
            assertTrue(entry !== undefined)
            if (++seen === 5) controller.abort()
          }
        }, 'AbortError')
        assertEqual(seen, 5)
      })
    },
    {
      name: 'close is idempotent and every later call rejects with StoreClosedError',
      run: async () => {
        const store = await makeStore()
        await store.put(s('a'), s('1'))
        await store.close()
        await store.close()
        await assertRejects(() => store.get(s('a')), 'StoreClosedError', 'get')
        await assertRejects(() => store.getMany([s('a')]), 'StoreClosedError', 'getMany')
        await assertRejects(() => store.put(s('a'), s('1')), 'StoreClosedError', 'put')
        await assertRejects(() => store.delete(s('a')), 'StoreClosedError', 'delete')
        await assertRejects(() => store.batch([{ type: 'del', key: s('a') }]), 'StoreClosedError', 'batch')
        await assertRejects(() => collect(store.range()), 'StoreClosedError', 'range')
      }
    },
    {
      name: 'close waits for writes already started',
      run: async () => {
        const store = await makeStore()
        const writes = Array.from({ length: 20 }, (_, i) => store.put(numbered('w', i), b(i)))
        const closed = store.close()
        await Promise.all(writes)
        await closed
        if (options.reopen !== undefined) {
          const again = await options.reopen(store)
          try {
            assertEqual((await collect(again.range({ prefix: s('w') }))).length, 20, 'every started write is durable')
          } finally {
            await again.close()
          }
        }
      }
    },
    {
      name: 'a range interrupted by close fails with StoreClosedError',
      run: async () => {
        const store = await makeStore()
        await store.batch(Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: numbered('k', i), value: b(1) })))
        let seen = 0
        await assertRejects(async () => {
          for await (const entry of store.range()) {
            assertTrue(entry !== undefined)
            if (++seen === 3) await store.close()
          }
        }, 'StoreClosedError')
        await store.close()
      }
    }
  ]

  const reopen = options.reopen
  if (reopen !== undefined) {
    cases.push({
      name: 'data survives closing and reopening the store',
      run: async () => {
        const first = await makeStore()
        await first.put(s('a'), s('1'))
        await first.batch([
          { type: 'put', key: s('b'), value: s('2') },
          { type: 'put', key: b(0x00, 0xff), value: new Uint8Array(70000).fill(3) },
          { type: 'del', key: s('a') }
        ])
        const second = await reopen(first)
        try {
          assertEqual(await second.get(s('a')), undefined)
          assertDeepEqual(await second.get(s('b')), s('2'))
          assertDeepEqual(await keysOf(second), ['00ff', hex(s('b'))])
          assertDeepEqual(await second.get(b(0x00, 0xff)), new Uint8Array(70000).fill(3))
        } finally {
          await second.close()
        }
      }
    })
  }
  return cases
}

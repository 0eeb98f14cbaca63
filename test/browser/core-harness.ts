/**
 * Browser harness of the core crypto path, for e2e/core.spec.ts: seals the format v1 or v2 vector
 * records in the page from their fixed inputs (v2 with the author's certificate) and opens the
 * vector blocks. The spec compares the result with test/vectors/format-v*.json byte for byte, which
 * shows that Vite resolves `#weft/crypto` to the WebCrypto edition (src/core/crypto.ts) and that it
 * yields the specified bytes.
 */
import { CID } from 'multiformats/cid'
import { CRYPTO_PLATFORM } from '#weft/crypto'
import { _setWebCryptoEnabled } from '../../src/core/ed25519.js'
import {
  createAuthorCertificate, ed25519Backend, fromHex, logIDToPublicKey, openRecord, privateKeyFromSeed, sealRecord,
  threadKeyFromBytes, toHex
} from '../../src/core/index.js'
import type { Block, RandomSource, ReadableThreadKey, RecordBlocks } from '../../src/core/index.js'
import { _sealRecordV1 } from '../../src/core/record.js'
import type { HexBlock, OpenedVector, VectorRecordBlocks, WeftCoreHarness } from './core-harness-types.js'

/** The vectors' random source: hands out the given hex strings in order, each of the size asked for. */
function fixedRandom(queue: string[]): RandomSource {
  return (n) => {
    const next = queue.shift()
    if (next === undefined) throw new Error('vector random source exhausted')
    const bytes = fromHex(next)
    if (bytes.byteLength !== n) throw new Error(`vector random source: asked for ${n} bytes, have ${bytes.byteLength}`)
    return bytes
  }
}

const toHexBlock = (b: Block): HexBlock => ({ cid: b.cid.toString(), bytes: toHex(b.bytes) })
const fromHexBlock = (b: HexBlock): Block => ({ cid: CID.parse(b.cid), bytes: fromHex(b.bytes) })

const harness: WeftCoreHarness = {
  async run(version, input, vectorBlocks, logID, noble) {
    _setWebCryptoEnabled(noble ? false : undefined)
    try {
      const threadKey = threadKeyFromBytes(fromHex(input.serviceKey + input.readKey)) as ReadableThreadKey
      const logKey = await privateKeyFromSeed(fromHex(input.logKeySeed))
      const authorKey = await privateKeyFromSeed(fromHex(input.authorKeySeed))
      const certificate = input.certificateNonce === undefined
        ? undefined
        : await createAuthorCertificate(authorKey, logKey.publicKey, { nonce: fromHex(input.certificateNonce) })

      const sealed: VectorRecordBlocks[] = []
      const cids: CID[] = []
      for (const r of input.records) {
        const delegated = r.author === 'author'
        const init = {
          body: r.body,
          threadKey,
          logKey,
          author: delegated ? authorKey.publicKey : logKey.publicKey,
          prev: r.prev === null ? null : cids[r.prev] ?? null,
          time: r.time,
          random: fixedRandom([r.bodyKey, r.bodyNonce, r.headerNonce, r.recordNonce])
        }
        const blocks = version === 1
          ? await _sealRecordV1(init)
          : await sealRecord(delegated && certificate !== undefined ? { ...init, certificate } : init)
        cids.push(blocks.record.cid)
        sealed.push({
          record: toHexBlock(blocks.record),
          event: toHexBlock(blocks.event),
          header: toHexBlock(blocks.header),
          body: toHexBlock(blocks.body)
        })
      }

      const opened: OpenedVector[] = []
      let prev: CID | null = null
      for (const v of vectorBlocks) {
        const blocks: RecordBlocks = {
          record: fromHexBlock(v.record),
          event: fromHexBlock(v.event),
          header: fromHexBlock(v.header),
          body: fromHexBlock(v.body)
        }
        try {
          const o = await openRecord(blocks, {
            serviceKey: threadKey.service,
            readKey: threadKey.read,
            logPublicKey: logIDToPublicKey(logID),
            expectedPrev: prev
          })
          if (o.event === undefined) throw new Error('openRecord did not decrypt the event')
          opened.push({ body: o.event.body, time: o.event.time, author: o.author.toString(), version: o.version })
        } catch (err) {
          opened.push({ error: (err as Error).name })
        }
        prev = blocks.record.cid
      }

      return {
        platform: CRYPTO_PLATFORM,
        backend: await ed25519Backend(),
        logPublicKey: toHex(logKey.publicKey.raw),
        authorPublicKey: toHex(authorKey.publicKey.raw),
        sealed,
        opened
      }
    } finally {
      _setWebCryptoEnabled(undefined)
    }
  }
}

globalThis.weftCoreHarness = harness

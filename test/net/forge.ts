/**
 * A member running modified code, for net tests: it seals records of its own log by hand — two
 * branches of one log, records whose event no reader can open — and hands them to peers over raw
 * sessions (test/net/raw.ts), so the honest peers' net layer is what is tested.
 */
import { logIDFromPublicKey, logIDToBytes } from '../../src/core/log-id.js'
import { generateKeyPair, publicKeyToBytes, type PrivateKey } from '../../src/core/identity.js'
import { sealRecord, type RecordBlocks } from '../../src/core/record.js'
import { openNode, sealNode } from '../../src/core/block.js'
import { randomBytes } from '../../src/core/bytes.js'
import * as dagCbor from '@ipld/dag-cbor'
import { newThreadKey, type ReadableThreadKey } from '../../src/core/thread-key.js'
import type { LogID, ThreadID } from '../../src/core/types.js'
import type { CID } from 'multiformats/cid'
import type { Peer } from '../../src/node/peer.js'
import { authFields, rawSession, type RawSession, type Target } from './raw.js'

export interface Forger {
  readonly key: PrivateKey
  readonly log: LogID
  /** Records of its log chained from `prev` (none: from the start), bodies `{ label, n }`. */
  chain(label: string, count: number, prev?: CID, first?: number): Promise<RecordBlocks[]>
  /** A record whose header is sealed with another read key: the service layer verifies, readers cannot open it. */
  poison(prev?: CID): Promise<RecordBlocks>
  /** A record as a peer of a newer format version (`v: 3`) would write it. */
  newer(prev?: CID): Promise<RecordBlocks>
  /** Tell `to` about the log (as `from`), then push `records` numbered from `first`; returns the answers. */
  push(from: Peer, to: Target, records: RecordBlocks[], first: number): Promise<unknown[]>
}

let clock = Date.now()

/** The plaintext dag-cbor of an encrypted node. */
async function aesOpen(bytes: Uint8Array, key: Uint8Array): Promise<Uint8Array> {
  const { cidOf } = await import('../../src/core/block.js')
  return dagCbor.encode(await openNode({ cid: await cidOf(bytes), bytes }, key))
}

export async function forger(thread: ThreadID, threadKey: ReadableThreadKey): Promise<Forger> {
  const key = await generateKeyPair()
  const log = logIDFromPublicKey(key.publicKey)
  const sessions = new Map<string, RawSession>()
  const session = async (from: Peer, to: Target): Promise<RawSession> => {
    const k = `${from.peerId}>${to.peerId}`
    let s = sessions.get(k)
    if (s == null) {
      if ('libp2p' in to) await from.libp2p.dial(to.libp2p.getMultiaddrs()[0]!)
      sessions.set(k, (s = await rawSession(from, to)))
    }
    return s
  }
  const seal = async (body: unknown, prev: CID | undefined, readKey = threadKey): Promise<RecordBlocks> =>
    await sealRecord({ body, threadKey: readKey, logKey: key, ...(prev != null ? { prev } : {}), time: { wall: ++clock, counter: 0 } })
  return {
    key,
    log,
    async chain(label, count, prev, first = 1) {
      const out: RecordBlocks[] = []
      let last = prev
      for (let i = 0; i < count; i++) {
        const r = await seal({ label, n: first + i }, last)
        out.push(r)
        last = r.record.cid
      }
      return out
    },
    async poison(prev) {
      // The service key is the thread's, the read key another: everything the service key checks holds.
      return await seal({ poison: true }, prev, { service: threadKey.service, read: newThreadKey().read } as ReadableThreadKey)
    },
    async newer(prev) {
      const r = await seal({ newer: true }, prev)
      const node = dagCbor.decode(await aesOpen(r.record.bytes, threadKey.service)) as Record<string, unknown>
      const record = await sealNode({ ...node, v: 3 }, threadKey.service, randomBytes(12))
      return { ...r, record }
    },
    async push(from, to, records, first) {
      const s = await session(from, to)
      const auth = authFields(threadKey.service, thread, from, to)
      const answers: unknown[] = [await s.ask({ type: 'pushLog', ...auth, log: { id: logIDToBytes(log), pubKey: publicKeyToBytes(key.publicKey), addrs: [], counter: 0 } })]
      for (const [i, r] of records.entries()) {
        answers.push(await s.ask({ type: 'pushRecord', ...auth, log: logIDToBytes(log), counter: first + i, blocks: [r.record.bytes, r.event.bytes, r.header.bytes, r.body.bytes] }))
      }
      return answers
    }
  }
}

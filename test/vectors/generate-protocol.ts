/**
 * Test vectors of the peer protocol `/weft/net/2.0.0` (docs/PROTOCOL.md), from fixed inputs: the
 * key ID, the proof of the service key, the heads digest (also with a frozen log), the bytes of
 * one frame of every type (the dag-cbor frame, without its length prefix; `framed` shows one with
 * it), a signed address list and a fork proof (two records sealed from fixed randomness).
 *
 *   npx tsx test/vectors/generate-protocol.ts     # rewrites test/vectors/protocol-v2.json
 *
 * `test/net/vectors.test.ts` recomputes them and requires byte-exact equality.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CID } from 'multiformats/cid'
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.js'
import { privateKeyFromSeed, publicKeyToBytes } from '../../src/core/identity.js'
import { logIDFromPublicKey, logIDToBytes } from '../../src/core/log-id.js'
import { sealRecord } from '../../src/core/record.js'
import { threadKeyFromBytes, type ReadableThreadKey } from '../../src/core/thread-key.js'
import { authProof, headsDigest, keyID } from '../../src/net/auth.js'
import { addrsPayload, signAddrs } from '../../src/net/log-addrs.js'
import { encodeFrame, type Frame } from '../../src/net/messages.js'

const seq = (start: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff)

export const inputs = {
  serviceKey: toHex(seq(0x00, 32)),
  thread: `0155${toHex(seq(0x40, 32))}`,
  requesterSeed: toHex(seq(0x80, 32)),
  responderSeed: toHex(seq(0xa0, 32)),
  head: 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
  /** The read key of the thread (the fork's records are sealed with it). */
  readKey: toHex(seq(0x20, 32)),
  /** The requester's key is the log key of the address list and the fork. */
  addrs: { seq: 1764460800000, list: ['/ip4/127.0.0.1/tcp/4006/p2p/12D3KooWLUiuBzCRUaqFZd9Gd6JowEuDDnDSoDR5n7hFhBJtEzQs', '/dns4/relay.example/tcp/443/wss/p2p/12D3KooWEJx1kVjphvnYmZXUrhRQL2apFmnB7ePhhTMUcd7Z2PCg'] },
  /** Two records at one position of the log, both following `head`: bodies, time and randomness (body key, three nonces). */
  fork: {
    time: { wall: 1764460800000, counter: 0 },
    bodies: [{ branch: 'a' }, { branch: 'b' }],
    random: [toHex(seq(0x30, 68)), toHex(seq(0x50, 68))]
  },
  /** The counter of the fork (one past `head`, the log's record 7). */
  forkCounter: 8
}

/** A random source that hands out `hex`'s bytes in order. */
function fixedRandom(hex: string): (n: number) => Uint8Array {
  const bytes = fromHex(hex)
  let at = 0
  return (n) => {
    const out = bytes.slice(at, at + n)
    at += n
    return out
  }
}

function varint(n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Uint8Array.from(out)
}

export async function build(): Promise<Record<string, unknown>> {
  const requester = await privateKeyFromSeed(fromHex(inputs.requesterSeed))
  const responder = await privateKeyFromSeed(fromHex(inputs.responderSeed))
  const reqId = logIDToBytes(logIDFromPublicKey(requester.publicKey))
  const resId = logIDToBytes(logIDFromPublicKey(responder.publicKey))
  const thread = fromHex(inputs.thread)
  const serviceKey = fromHex(inputs.serviceKey)
  const kid = keyID(serviceKey)
  const auth = authProof(serviceKey, thread, reqId, resId)
  const head = CID.parse(inputs.head)
  const heads = [
    { id: resId, head, counter: 7 },
    { id: reqId, counter: 0 }
  ]
  const frozenHeads = [
    { id: resId, head, counter: 7, fork: inputs.forkCounter },
    { id: reqId, counter: 0 }
  ]
  const signed = await signAddrs(requester, thread, reqId, inputs.addrs.seq, inputs.addrs.list)
  const threadKey = threadKeyFromBytes(concatBytes([serviceKey, fromHex(inputs.readKey)])) as ReadableThreadKey
  const forked = await Promise.all(inputs.fork.bodies.map(async (body, i) => await sealRecord({
    body, threadKey, logKey: responder, prev: head, time: inputs.fork.time, random: fixedRandom(inputs.fork.random[i]!)
  })))
  const forkRecords: [Uint8Array, Uint8Array] = [forked[0]!.record.bytes, forked[1]!.record.bytes]
  const blocks: [Uint8Array, Uint8Array, Uint8Array, Uint8Array] = [seq(1, 4), seq(2, 4), seq(3, 4), seq(4, 4)]
  const frames: Record<string, Frame> = {
    getLogs: { type: 'getLogs', id: 1, thread, kid, auth },
    pushLog: { type: 'pushLog', id: 2, thread, kid, auth, log: { id: reqId, pubKey: publicKeyToBytes(requester.publicKey), addrs: ['/ip4/127.0.0.1/tcp/4006'], counter: 0 } },
    pushLogHandOver: { type: 'pushLog', id: 3, thread, kid, auth, log: { id: resId, pubKey: publicKeyToBytes(responder.publicKey), addrs: [], head, counter: 7 }, serviceKey },
    heads: { type: 'heads', id: 4, thread, kid, auth, digest: headsDigest(heads) },
    getRecords: { type: 'getRecords', id: 5, thread, kid, auth, logs: [{ id: resId, after: 3 }], limit: 1000, credit: 1048576 },
    pushRecord: { type: 'pushRecord', id: 6, thread, kid, auth, log: reqId, counter: 1, blocks },
    credit: { type: 'credit', id: 5, n: 65536 },
    cancel: { type: 'cancel', id: 5 },
    ok: { type: 'ok', re: 6 },
    logs: { type: 'logs', re: 1, logs: [{ id: resId, pubKey: publicKeyToBytes(responder.publicKey), addrs: ['/ip4/127.0.0.1/tcp/4007/p2p/12D3KooWEJx1kVjphvnYmZXUrhRQL2apFmnB7ePhhTMUcd7Z2PCg'], head, counter: 7 }] },
    headsReply: { type: 'heads', re: 4, same: false, heads },
    record: { type: 'record', re: 5, log: resId, counter: 4, blocks },
    end: { type: 'end', re: 5, more: true },
    error: { type: 'error', re: 2, code: 'UNAUTHORIZED', message: 'unauthorized' },
    quota: { type: 'error', re: 3, code: 'QUOTA_EXCEEDED', message: 'too many threads from this address' },
    getLogsPage: { type: 'getLogs', id: 7, thread, kid, auth, after: reqId },
    logsPage: { type: 'logs', re: 7, logs: [{ id: resId, pubKey: publicKeyToBytes(responder.publicKey), addrs: [], head, counter: 7 }], more: true },
    getRecordsOnly: { type: 'getRecords', id: 8, thread, kid, auth, logs: [{ id: resId, after: 6 }], limit: 1, credit: 262144, only: true },
    pushLogSigned: {
      type: 'pushLog', id: 9, thread, kid, auth,
      log: { id: reqId, pubKey: publicKeyToBytes(requester.publicKey), addrs: signed.addrs, addrSeq: signed.seq, addrSig: signed.sig, counter: 0 }
    },
    pushLogFork: {
      type: 'pushLog', id: 10, thread, kid, auth,
      log: { id: resId, pubKey: publicKeyToBytes(responder.publicKey), addrs: [], head, counter: 7, fork: { counter: inputs.forkCounter, records: forkRecords } }
    },
    headsFork: { type: 'heads', re: 11, same: false, heads: frozenHeads }
  }
  const okBytes = encodeFrame(frames.ok!)
  return {
    protocol: '/weft/net/2.0.0',
    inputs,
    outputs: {
      requesterPeerId: toHex(reqId),
      responderPeerId: toHex(resId),
      kid: toHex(kid),
      auth: toHex(auth),
      headsDigest: toHex(headsDigest(heads)),
      headsDigestFrozen: toHex(headsDigest(frozenHeads)),
      addrs: { payload: toHex(addrsPayload(thread, reqId, signed.seq, signed.addrs)), sig: toHex(signed.sig) },
      fork: {
        prev: inputs.head,
        records: forkRecords.map(toHex),
        cids: forked.map((r) => r.record.cid.toString())
      },
      frames: Object.fromEntries(Object.entries(frames).map(([k, m]) => [k, toHex(encodeFrame(m))])),
      framed: { ok: toHex(concatBytes([varint(okBytes.byteLength), okBytes])) }
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('./protocol-v2.json', import.meta.url))
  writeFileSync(file, JSON.stringify(await build(), null, 2) + '\n')
}

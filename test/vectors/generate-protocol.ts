/**
 * Test vectors of the peer protocol `/weft/net/1.0.0` (docs/PROTOCOL.md), from fixed inputs.
 *
 *   npx tsx test/vectors/generate-protocol.ts     # rewrites test/vectors/protocol-v1.json
 *
 * `test/net/vectors.test.ts` recomputes them and requires byte-exact equality.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CID } from 'multiformats/cid'
import { fromHex, toHex } from '../../src/core/bytes.js'
import { privateKeyFromSeed, publicKeyToBytes } from '../../src/core/identity.js'
import { logIDFromPublicKey, logIDToBytes } from '../../src/core/log-id.js'
import { authProof, headsDigest } from '../../src/net/auth.js'
import { encodeMessage, type Request, type Response } from '../../src/net/messages.js'

const seq = (start: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff)

export const inputs = {
  serviceKey: toHex(seq(0x00, 32)),
  thread: `0155${toHex(seq(0x40, 32))}`,
  requesterSeed: toHex(seq(0x80, 32)),
  responderSeed: toHex(seq(0xa0, 32)),
  head: 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
}

export async function build(): Promise<Record<string, unknown>> {
  const requester = await privateKeyFromSeed(fromHex(inputs.requesterSeed))
  const responder = await privateKeyFromSeed(fromHex(inputs.responderSeed))
  const reqId = logIDToBytes(logIDFromPublicKey(requester.publicKey))
  const resId = logIDToBytes(logIDFromPublicKey(responder.publicKey))
  const thread = fromHex(inputs.thread)
  const auth = authProof(fromHex(inputs.serviceKey), thread, reqId, resId)
  const head = CID.parse(inputs.head)
  const heads = [
    { id: resId, head, counter: 7 },
    { id: reqId, counter: 0 }
  ]
  const messages: Record<string, Request | Response> = {
    getLogs: { type: 'getLogs', thread, auth },
    pushLog: { type: 'pushLog', thread, auth, log: { id: reqId, pubKey: publicKeyToBytes(requester.publicKey), addrs: ['/ip4/127.0.0.1/tcp/4006'], counter: 0 } },
    heads: { type: 'heads', thread, auth, digest: headsDigest(heads) },
    getRecords: { type: 'getRecords', thread, auth, logs: [{ id: resId, after: 3 }], limit: 1000 },
    pushRecord: { type: 'pushRecord', thread, auth, log: reqId, counter: 1, blocks: [seq(1, 4), seq(2, 4), seq(3, 4), seq(4, 4)] },
    headsResponse: { type: 'heads', same: false, heads },
    record: { type: 'record', log: resId, counter: 4, blocks: [seq(1, 4), seq(2, 4), seq(3, 4), seq(4, 4)] },
    end: { type: 'end', more: true },
    error: { type: 'error', code: 'UNAUTHORIZED', message: 'unauthorized' },
    ok: { type: 'ok' }
  }
  return {
    protocol: '/weft/net/1.0.0',
    inputs,
    outputs: {
      requesterPeerId: toHex(reqId),
      responderPeerId: toHex(resId),
      auth: toHex(auth),
      headsDigest: toHex(headsDigest(heads)),
      messages: Object.fromEntries(Object.entries(messages).map(([k, m]) => [k, toHex(encodeMessage(m))]))
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('./protocol-v1.json', import.meta.url))
  writeFileSync(file, JSON.stringify(await build(), null, 2) + '\n')
}

/**
 * Test vectors of Weft record format version 2 and of identity tokens (docs/FORMAT.md), computed
 * from fixed inputs.
 *
 *   npx tsx test/vectors/generate-v2.ts       # rewrites test/vectors/format-v2.json
 *
 * `test/core/vectors-v2.test.ts` recomputes the outputs from the inputs stored in the JSON and
 * requires byte-exact equality; regenerating them is a deliberate act, done only with a format change.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import {
  authorCertificatePayload, createAuthorCertificate, createTokenIssuer, encodeAuthorCertificate, encodeHLC, fromHex,
  openNode, privateKeyFromSeed, publicKeyToBytes, recordSigningPayload, sealRecord, threadKeyFromBytes, toHex,
  RECORD_FORMAT_VERSION, TOKEN_CHALLENGE_DOMAIN, TOKEN_SIGNATURE_DOMAIN
} from '../../src/core/index.js'
import type { AuthorCertificate, ReadableThreadKey, RecordNode } from '../../src/core/index.js'
import { blockJSON, fixedRandom, keyJSON, seq } from './generate.js'
import type { RecordInput } from './generate.js'

export interface VectorInputsV2 {
  serviceKey: string
  readKey: string
  logKeySeed: string
  authorKeySeed: string
  /** The nonce `n` of the author key's certificate for the log key. */
  certificateNonce: string
  /** `author: 'author'` records carry the author key's certificate for the log key. */
  records: RecordInput[]
  /** A token the log key (as a peer key) issues for the author identity. */
  token: { iat: number; ttlMs: number }
  /** A random token challenge, signed by the author key after the challenge domain. */
  challenge: string
}

/** The fixed inputs. Changing them changes every output: do it only with a format version bump. */
export const INPUTS_V2: VectorInputsV2 = {
  serviceKey: seq(0x40, 32),
  readKey: seq(0x60, 32),
  logKeySeed: seq(0x80, 32),
  authorKeySeed: seq(0xa0, 32),
  certificateNonce: seq(0xd0, 16),
  records: [
    {
      body: { _id: 'note-1', text: 'written by the log key', n: 1 },
      time: { wall: 1_750_000_000_000, counter: 0 },
      author: 'log',
      prev: null,
      bodyKey: seq(0x01, 32),
      bodyNonce: seq(0x21, 12),
      headerNonce: seq(0x31, 12),
      recordNonce: seq(0x41, 12)
    },
    {
      body: { _id: 'note-2', text: 'written as the author, through the log key', tags: ['delegated'] },
      time: { wall: 1_750_000_000_000, counter: 1 },
      author: 'author',
      prev: 0,
      bodyKey: seq(0x51, 32),
      bodyNonce: seq(0x71, 12),
      headerNonce: seq(0x81, 12),
      recordNonce: seq(0x91, 12)
    }
  ],
  token: { iat: 1_750_000_000_000, ttlMs: 3_600_000 },
  challenge: seq(0xe0, 32)
}

function certificateJSON(cert: AuthorCertificate, logPayload: Uint8Array): Record<string, string> {
  return {
    nonce: toHex(cert.nonce),
    payload: toHex(logPayload),
    signature: toHex(cert.signature),
    bytes: toHex(encodeAuthorCertificate(cert))
  }
}

/** Compute every output from the inputs. */
export async function computeVectorsV2(inputs: VectorInputsV2): Promise<Record<string, unknown>> {
  const threadKey = threadKeyFromBytes(fromHex(inputs.serviceKey + inputs.readKey)) as ReadableThreadKey
  const logKey = await privateKeyFromSeed(fromHex(inputs.logKeySeed))
  const authorKey = await privateKeyFromSeed(fromHex(inputs.authorKeySeed))
  const nonce = fromHex(inputs.certificateNonce)
  const certificate = await createAuthorCertificate(authorKey, logKey.publicKey, { nonce })

  const cids: CID[] = []
  const records = []
  for (const r of inputs.records) {
    const prev = r.prev === null ? null : cids[r.prev]
    if (prev === undefined) throw new Error('record input refers to a later record')
    const delegated = r.author === 'author'
    const author = delegated ? authorKey.publicKey : logKey.publicKey
    const blocks = await sealRecord({
      body: r.body,
      threadKey,
      logKey,
      author,
      ...(delegated ? { certificate } : {}),
      prev,
      time: r.time,
      random: fixedRandom([r.bodyKey, r.bodyNonce, r.headerNonce, r.recordNonce])
    })
    cids.push(blocks.record.cid)
    const recordPlain = await openNode(blocks.record, threadKey.service) as { sig: Uint8Array }
    const unsigned: Omit<RecordNode, 'sig'> = {
      version: 2, block: blocks.event.cid, pubKey: publicKeyToBytes(author),
      ...(prev === null ? {} : { prev }), ...(delegated ? { cert: certificate } : {})
    }
    records.push({
      body: { plaintext: toHex(dagCbor.encode(r.body)), ...blockJSON(blocks.body) },
      header: { plaintext: toHex(dagCbor.encode({ key: fromHex(r.bodyKey), time: encodeHLC(r.time) })), ...blockJSON(blocks.header) },
      event: blockJSON(blocks.event),
      ...(delegated ? { certificate: certificateJSON(certificate, authorCertificatePayload(logKey.publicKey, nonce)) } : {}),
      signingPayload: toHex(recordSigningPayload(unsigned)),
      sig: toHex(recordPlain.sig),
      record: { plaintext: toHex(dagCbor.encode(recordPlain)), ...blockJSON(blocks.record) }
    })
  }

  const issuer = createTokenIssuer({ identity: logKey, now: () => inputs.token.iat })
  const token = await issuer.issueTrusted(authorKey.publicKey.toString(), { ttlMs: inputs.token.ttlMs })
  const [claimsPart, sigPart] = token.split('.') as [string, string]
  const claims = Buffer.from(claimsPart, 'base64url').toString('utf8')
  const challengeMessage = Uint8Array.of(...TOKEN_CHALLENGE_DOMAIN, ...fromHex(inputs.challenge))

  return {
    logKey: await keyJSON(logKey),
    authorKey: await keyJSON(authorKey),
    records,
    token: {
      claims,
      signingInput: toHex(Uint8Array.of(...TOKEN_SIGNATURE_DOMAIN, ...new TextEncoder().encode(claims))),
      sig: toHex(Buffer.from(sigPart, 'base64url')),
      token
    },
    challenge: {
      message: toHex(challengeMessage),
      signature: toHex(await authorKey.sign(challengeMessage))
    }
  }
}

export async function buildVectorFileV2(): Promise<Record<string, unknown>> {
  return {
    format: 'weft',
    version: RECORD_FORMAT_VERSION,
    description: 'Test vectors of Weft record format version 2 and identity tokens (docs/FORMAT.md). Bytes are lower-case hex; CIDs are base32 strings. Regenerate with `npx tsx test/vectors/generate-v2.ts` only together with a format version change.',
    inputs: INPUTS_V2,
    outputs: await computeVectorsV2(INPUTS_V2)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('./format-v2.json', import.meta.url))
  writeFileSync(file, JSON.stringify(await buildVectorFileV2(), null, 2) + '\n')
  console.log(`wrote ${file}`)
}

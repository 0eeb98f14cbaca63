/**
 * Helpers shared by the format vector tests (vectors.test.ts for version 1, vectors-v2.test.ts for
 * version 2): independent AES-GCM opening (node:crypto) and the vector JSON shapes.
 */
import { createDecipheriv } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { fromHex } from '../../src/core/index.js'
import type { RecordBlocks } from '../../src/core/index.js'

export interface HexBlock { cid: string; bytes: string; plaintext?: string }

export interface RecordVector {
  body: HexBlock & { plaintext: string }
  header: HexBlock & { plaintext: string }
  event: HexBlock
  signingPayload: string
  sig: string
  record: HexBlock & { plaintext: string }
}

export interface KeyVector {
  publicKey: string
  publicKeyMarshalled: string
  privateKeyMarshalled: string
  identity: string
  logID: string
  logIDBytes: string
}

/** AES-256-GCM open of an encrypted node with node:crypto (independent of src/core/aes.ts). */
export function gcmOpen(key: string, sealedHex: string): Uint8Array {
  const content = dagCbor.decode(fromHex(sealedHex)) as Uint8Array
  const nonce = content.subarray(0, 12)
  const ct = content.subarray(12, content.byteLength - 16)
  const decipher = createDecipheriv('aes-256-gcm', fromHex(key), nonce)
  decipher.setAuthTag(content.subarray(content.byteLength - 16))
  return new Uint8Array(Buffer.concat([decipher.update(ct), decipher.final()]))
}

/** The record blocks of a vector record. */
export function toBlocks(r: RecordVector): RecordBlocks {
  const block = (b: HexBlock): { cid: CID; bytes: Uint8Array } => ({ cid: CID.parse(b.cid), bytes: fromHex(b.bytes) })
  return { record: block(r.record), event: block(r.event), header: block(r.header), body: block(r.body) }
}

/** True when every block of a vector record hashes (multiformats) to its CIDv1 dag-cbor sha2-256. */
export async function blocksMatchCIDs(r: RecordVector): Promise<boolean> {
  for (const b of [r.record, r.event, r.header, r.body]) {
    const cid = CID.parse(b.cid)
    if (cid.version !== 1 || cid.code !== 0x71) return false
    if (!cid.equals(CID.createV1(0x71, await sha256.digest(fromHex(b.bytes))))) return false
  }
  return true
}

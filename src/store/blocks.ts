/**
 * Block checks of the log store: a block is accepted only under a CIDv1 dag-cbor sha2-256 CID
 * that its bytes hash to.
 */
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { sha256 as coreSha256 } from '#weft/crypto'
import type { Block } from '../core/types.js'
import { InvalidBlockError } from './errors.js'
import { equalBytes } from './keys.js'

/** Multicodec code of dag-cbor. */
export const DAG_CBOR = 0x71

/** The CID as a `CID` instance (also from another copy of multiformats), else InvalidBlockError. */
export function toCID(value: unknown, what: string): CID {
  const cid = CID.asCID(value)
  if (cid == null) throw new InvalidBlockError(`${what} is not a CID`)
  return cid
}

/** Check the shape of a block and that its CID is CIDv1 dag-cbor sha2-256. */
export function checkBlockShape(block: unknown, what: string): Block {
  if (block == null || typeof block !== 'object') throw new InvalidBlockError(`${what} is not a block`)
  const { cid: rawCid, bytes } = block as { cid?: unknown; bytes?: unknown }
  const cid = toCID(rawCid, `${what} CID`)
  if (!(bytes instanceof Uint8Array)) throw new InvalidBlockError(`${what} bytes are not a Uint8Array`)
  if (cid.version !== 1 || cid.code !== DAG_CBOR || cid.multihash.code !== sha256.code || cid.multihash.size !== 32) {
    throw new InvalidBlockError(`${what} CID ${cid.toString()} is not CIDv1 dag-cbor sha2-256`)
  }
  return { cid, bytes }
}

/** A sha2-256 digest function (synchronous where the platform allows it). */
export type Sha256 = (bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>

/** The core's sha2-256 (`#weft/crypto`): Node's one-shot hash in Node, noble/WebCrypto in browsers. */
export const defaultSha256: Sha256 = coreSha256

/** Verify that every block's bytes hash to its CID. */
export async function verifyBlocks(blocks: readonly Block[], hash: Sha256 = defaultSha256): Promise<void> {
  // Start every hash first (WebCrypto runs them in parallel); skip the await when all were synchronous.
  const pending = blocks.map((b) => hash(b.bytes))
  const resolved = pending.some((d) => d instanceof Promise)
    ? await Promise.all(pending.map(async (d) => d))
    : (pending as Uint8Array[])
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i] as Block
    if (!equalBytes(resolved[i] as Uint8Array, block.cid.multihash.digest)) {
      throw new InvalidBlockError(`block bytes do not hash to ${block.cid.toString()}`)
    }
  }
}

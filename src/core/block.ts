/**
 * Blocks: dag-cbor bytes addressed by CIDv1 (codec dag-cbor 0x71, multihash sha2-256), and the
 * "encrypted node" used for records, headers and bodies: a dag-cbor byte string holding
 * `nonce(12) || AES-256-GCM(dag-cbor bytes of the plaintext node) || tag(16)`.
 *
 * Decoders bound sizes before doing work and turn every failure into a named error.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import * as platform from '#weft/crypto'
import { aesGcmDecrypt, aesGcmEncrypt, GCM_NONCE_BYTES, GCM_TAG_BYTES } from './aes.js'
import { equalBytes, isBytes } from './bytes.js'
import { InvalidBlockError, OversizedInputError } from './errors.js'
import { encodeRecordValue } from './record-cbor.js'
import type { Block } from './types.js'

/** Multicodec of dag-cbor. */
export const DAG_CBOR_CODE = 0x71
/** Multihash code of sha2-256. */
export const SHA2_256_CODE = 0x12
/** Overhead of an encrypted node over its plaintext: CBOR header (≤ 5) + nonce + tag. */
export const SEALED_NODE_OVERHEAD = 5 + GCM_NONCE_BYTES + GCM_TAG_BYTES

/** True if `value` is a CIDv1, dag-cbor, sha2-256 (32-byte digest): the only links format v1 uses. */
export function isBlockCID(value: unknown): value is CID {
  const cid = CID.asCID(value)
  return cid != null && cid.version === 1 && cid.code === DAG_CBOR_CODE &&
    cid.multihash.code === SHA2_256_CODE && cid.multihash.size === 32
}

/**
 * The CID of dag-cbor `bytes`. Hashing is the platform's (`#weft/crypto`: node:crypto in Node; in
 * browsers `@noble/hashes` up to 64 KiB, where WebCrypto's asynchronous round trip would dominate).
 */
export async function cidOf(bytes: Uint8Array): Promise<CID> {
  return CID.createV1(DAG_CBOR_CODE, createDigest(SHA2_256_CODE, await platform.sha256(bytes)))
}

/** The CID computed here from each array of block bytes (while both are the ones a block holds, it needs no hashing again). */
const hashed = new WeakMap<Uint8Array, CID>()

/**
 * A block of received `bytes`, its CID computed from them. {@link verifyBlock} does not hash such a
 * block again (while its `cid` and `bytes` are the ones given here): a peer receiving bytes hashes
 * them once.
 */
export async function blockOf(bytes: Uint8Array): Promise<Block> {
  return known({ cid: await cidOf(bytes), bytes })
}

/** Note that `block`'s CID was computed here from its bytes. */
function known(block: Block): Block {
  hashed.set(block.bytes, block.cid)
  return block
}

/**
 * Whether `block`'s CID was computed here from its bytes ({@link blockOf}, {@link encodeBlock},
 * {@link sealNode}) — the very CID object from the very bytes array, also when the block object
 * around them is another: checking it again would hash the same bytes. Byte arrays must not be
 * mutated (as everywhere blocks are handled).
 */
export function isHashedBlock(block: Block): boolean {
  return hashed.get(block.bytes) === block.cid
}

function checkSize(bytes: Uint8Array, maxBytes: number, what: string): void {
  if (bytes.byteLength > maxBytes) {
    throw new OversizedInputError(`${what} of ${bytes.byteLength} bytes exceeds ${maxBytes}`)
  }
}

/** dag-cbor bytes of `value`; a value outside the IPLD data model is an {@link InvalidBlockError}. */
export function encodeNode(value: unknown): Uint8Array {
  // The shapes of records, written directly (same bytes); anything else by the general encoder.
  const direct = encodeRecordValue(value)
  if (direct !== undefined) return direct
  try {
    return dagCbor.encode(value)
  } catch (cause) {
    throw new InvalidBlockError('value cannot be encoded as dag-cbor', { cause })
  }
}

/** Encode `value` as a block. Throws {@link OversizedInputError} past `maxBytes`. */
export async function encodeBlock(value: unknown, maxBytes = Infinity): Promise<Block> {
  const bytes = encodeNode(value)
  checkSize(bytes, maxBytes, 'block')
  return known({ cid: await cidOf(bytes), bytes })
}

/**
 * Decode dag-cbor `bytes` (strict: canonical lengths, no duplicate keys, no indefinite lengths).
 * Throws {@link OversizedInputError} past `maxBytes` (checked first), {@link InvalidBlockError}
 * for anything that is not dag-cbor.
 */
export function decodeBlock(bytes: Uint8Array, maxBytes: number): unknown {
  if (!isBytes(bytes)) throw new InvalidBlockError('block bytes must be a Uint8Array')
  checkSize(bytes, maxBytes, 'block')
  try {
    return dagCbor.decode(bytes)
  } catch (cause) {
    throw new InvalidBlockError('block is not valid dag-cbor', { cause })
  }
}

/**
 * Check that `block.bytes` hash to `block.cid` and that the CID is v1/dag-cbor/sha2-256.
 * Throws {@link OversizedInputError} past `maxBytes` (checked before hashing),
 * {@link InvalidBlockError} otherwise.
 */
export async function verifyBlock(block: Block, maxBytes = Infinity): Promise<void> {
  if (block == null || typeof block !== 'object') throw new InvalidBlockError('expected a block')
  if (!isBlockCID(block.cid)) throw new InvalidBlockError('block CID must be CIDv1, dag-cbor, sha2-256')
  if (!isBytes(block.bytes)) throw new InvalidBlockError('block bytes must be a Uint8Array')
  checkSize(block.bytes, maxBytes, 'block')
  if (isHashedBlock(block)) return
  const digest = await platform.sha256(block.bytes)
  if (!equalBytes(digest, block.cid.multihash.digest)) {
    throw new InvalidBlockError(`block bytes do not hash to ${block.cid.toString()}`)
  }
}

/** CBOR major type 2 header for a byte string of `length` bytes (minimal encoding). */
function byteStringHeader(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x40 | length)
  if (length < 0x100) return Uint8Array.of(0x58, length)
  if (length < 0x10000) return Uint8Array.of(0x59, length >>> 8, length & 0xff)
  return Uint8Array.of(0x5a, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)
}

/** The content of a dag-cbor byte string that is the whole of `bytes`. */
function byteStringContent(bytes: Uint8Array): Uint8Array {
  const first = bytes[0] ?? 0xff
  if (first >> 5 !== 2) throw new InvalidBlockError('encrypted node is not a CBOR byte string')
  const info = first & 0x1f
  let length: number
  let offset: number
  if (info < 24) {
    length = info
    offset = 1
  } else if (info === 24 && bytes.byteLength >= 2) {
    length = bytes[1] ?? 0
    offset = 2
    if (length < 24) throw new InvalidBlockError('non-canonical CBOR length')
  } else if (info === 25 && bytes.byteLength >= 3) {
    length = ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0)
    offset = 3
    if (length < 0x100) throw new InvalidBlockError('non-canonical CBOR length')
  } else if (info === 26 && bytes.byteLength >= 5) {
    length = (((bytes[1] ?? 0) << 24) >>> 0) + ((bytes[2] ?? 0) << 16) + ((bytes[3] ?? 0) << 8) + (bytes[4] ?? 0)
    offset = 5
    if (length < 0x10000) throw new InvalidBlockError('non-canonical CBOR length')
  } else {
    throw new InvalidBlockError('unsupported or truncated CBOR byte string header')
  }
  if (bytes.byteLength - offset !== length) throw new InvalidBlockError('CBOR byte string length does not match the block')
  return bytes.subarray(offset)
}

/**
 * Encrypt a node: the block of the CBOR byte string `nonce || AES-256-GCM(dag-cbor(value))`.
 * Throws {@link OversizedInputError} if the plaintext encoding exceeds `maxPlaintextBytes`.
 */
export async function sealNode(
  value: unknown,
  key: Uint8Array,
  nonce: Uint8Array,
  maxPlaintextBytes = Infinity
): Promise<Block> {
  const plaintext = encodeNode(value)
  checkSize(plaintext, maxPlaintextBytes, 'node plaintext')
  const ciphertext = await aesGcmEncrypt(key, nonce, plaintext)
  const content = nonce.byteLength + ciphertext.byteLength
  const header = byteStringHeader(content)
  const bytes = new Uint8Array(header.byteLength + content)
  bytes.set(header, 0)
  bytes.set(nonce, header.byteLength)
  bytes.set(ciphertext, header.byteLength + nonce.byteLength)
  return known({ cid: await cidOf(bytes), bytes })
}

/**
 * Decrypt an encrypted node and decode its plaintext. Does not check the block's CID (see
 * {@link verifyBlock}). Throws {@link OversizedInputError} past `maxBytes` (checked first),
 * {@link InvalidBlockError} for a malformed node, `DecryptionError` for a wrong key or altered data.
 */
export async function openNode(block: Block, key: Uint8Array, maxBytes = Infinity): Promise<unknown> {
  if (block == null || !isBytes(block.bytes)) throw new InvalidBlockError('expected a block')
  checkSize(block.bytes, maxBytes, 'encrypted node')
  const content = byteStringContent(block.bytes)
  if (content.byteLength < GCM_NONCE_BYTES + GCM_TAG_BYTES) throw new InvalidBlockError('encrypted node is too short')
  const plaintext = await aesGcmDecrypt(key, content.subarray(0, GCM_NONCE_BYTES), content.subarray(GCM_NONCE_BYTES))
  return decodeBlock(plaintext, Infinity)
}

/**
 * Sealing and opening records. A record travels as four blocks: the record node (encrypted with
 * the thread service key), the event node (plaintext), the header node (encrypted with the thread
 * read key) and the body node (encrypted with a fresh per-event key held in the header). The log
 * key signs the event CID, the previous record CID, the author and the author's certificate.
 *
 * New records are format version 2. Version 1 records (no `v` in the record node) still open when
 * their author is the log key, which is all Weft ever wrote in version 1.
 *
 * Opening checks everything a peer can check with the keys it holds: a replicator with only the
 * service key verifies the whole chain, the signature and the author's proof; a reader also
 * decrypts header and body.
 */
import { CID } from 'multiformats/cid'
import { decodeBlock, encodeBlock, isBlockCID, openNode, sealNode, verifyBlock } from './block.js'
import { GCM_NONCE_BYTES } from './aes.js'
import { isBytes, isBytesOfLength, randomBytes } from './bytes.js'
import { ED25519_SIGNATURE_BYTES } from './ed25519.js'
import type { RandomSource } from './bytes.js'
import {
  BadSignatureError, InvalidBlockError, InvalidClockError, InvalidKeyError, InvalidRecordError, InvalidThreadKeyError,
  MissingReadKeyError, OversizedInputError, PrevLinkMismatchError, UnprovenAuthorError, throwIfAborted
} from './errors.js'
import { verifyAuthorCertificate } from './author.js'
import type { AuthorCertificate } from './author.js'
import { isHLC } from './hlc.js'
import type { HLC } from './hlc.js'
import { publicKeyFromBytes, publicKeyToBytes } from './identity.js'
import type { Identity, PublicKey } from './identity.js'
import {
  BODY_KEY_BYTES, MAX_BODY_BLOCK_BYTES, MAX_BODY_BYTES, MAX_NODE_BLOCK_BYTES, eventNodeValue, headerNodeValue,
  parseEventNode, parseHeaderNode, parseRecordNode, recordNodeValue, recordSigningPayload
} from './record-codec.js'
import type { EventNode, HeaderNode, RecordFormatVersion, RecordNode } from './record-codec.js'
import { SYMMETRIC_KEY_BYTES, assertThreadKey, canRead } from './thread-key.js'
import type { ThreadKey } from './thread-key.js'
import type { AbortOptions, Block, Mutable } from './types.js'

/** The transport form of a record: all four blocks travel together. */
export interface RecordBlocks {
  readonly record: Block
  readonly event: Block
  readonly header: Block
  readonly body: Block
}

export interface SealRecordInit {
  /** The event body: any dag-cbor value, at most `MAX_BODY_BYTES` encoded. */
  body: unknown
  /** The thread key; it must include the read key. */
  threadKey: ThreadKey
  /** The log's key pair (or anything that signs with it). */
  logKey: Identity
  /** The author identity recorded in the record; when it is not the log key, `certificate` proves it. @default logKey.publicKey */
  author?: PublicKey
  /**
   * The author's delegation of the log key (`createAuthorCertificate(author, logKey.publicKey)`):
   * required when `author` is not the log key, refused when it is. Checked before sealing (cached).
   * @default undefined
   */
  certificate?: AuthorCertificate
  /** CID of the log's current head; omit (or `null`) for the log's first record. */
  prev?: CID | null
  /** Hybrid logical clock time of the event. */
  time: HLC
  /** Source of the body key and the three nonces (in that order). Injectable for test vectors. @default crypto.getRandomValues */
  random?: RandomSource
}

/** Bytes drawn from the platform CSPRNG at once for the randomness of records (about 50 records). */
const RANDOM_POOL_BYTES = 4096
let randomPool: Uint8Array = new Uint8Array(0)
let randomAt = 0

/**
 * The body key and the three nonces of a record. An injected source is asked four times, in that
 * order; else they come from CSPRNG bytes drawn ahead for several records (each draw costs
 * several microseconds in Node, as much as the AES-GCM of a record node), each byte handed out
 * once and wiped from the pool as it is.
 */
function recordRandomness(random: RandomSource | undefined): [Uint8Array, Uint8Array, Uint8Array, Uint8Array] {
  if (random !== undefined) {
    return [random(BODY_KEY_BYTES), random(GCM_NONCE_BYTES), random(GCM_NONCE_BYTES), random(GCM_NONCE_BYTES)]
  }
  const k = BODY_KEY_BYTES
  const n = GCM_NONCE_BYTES
  const size = k + 3 * n
  if (randomAt + size > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES)
    randomAt = 0
  }
  const at = randomAt
  const bytes = randomPool
  randomAt += size
  const out: [Uint8Array, Uint8Array, Uint8Array, Uint8Array] = [
    bytes.slice(at, at + k), bytes.slice(at + k, at + k + n), bytes.slice(at + k + n, at + k + 2 * n), bytes.slice(at + k + 2 * n, at + size)
  ]
  bytes.fill(0, at, at + size)
  return out
}

/** Seal a new record (format version 2). Rejects with `MissingReadKeyError` if the thread key has no read key. */
export async function sealRecord(init: SealRecordInit, options: AbortOptions = {}): Promise<RecordBlocks> {
  return await seal(init, 2, options)
}

/**
 * Test hook: seal a record in format version 1, as Weft v1 did (any author, no certificate), for
 * the version 1 vectors and for tests of how version 1 records open. Never used to write.
 */
export async function _sealRecordV1(init: Omit<SealRecordInit, 'certificate'>, options: AbortOptions = {}): Promise<RecordBlocks> {
  return await seal(init, 1, options)
}

/** The author's proof a record of `version` carries: none for the log key itself, else its certificate. */
async function authorProof(init: SealRecordInit, version: RecordFormatVersion): Promise<AuthorCertificate | undefined> {
  const { logKey, certificate } = init
  const author = init.author ?? logKey.publicKey
  if (version === 1) return undefined
  if (author.equals(logKey.publicKey)) {
    if (certificate !== undefined) throw new InvalidRecordError('a record authored by its log key carries no certificate')
    return undefined
  }
  if (certificate === undefined) {
    throw new UnprovenAuthorError('a record whose author is not the log key needs the author\'s certificate for the log key')
  }
  await verifyAuthorCertificate(author, logKey.publicKey, certificate)
  return certificate
}

/**
 * The part of a record that does not depend on its place in the log: the body, the header and the
 * event node, sealed. Several can be sealed at once (in parallel where the platform's crypto is
 * asynchronous), then each made a record in log order with {@link sealRecordOver}.
 */
export interface SealedEvent {
  readonly event: Block
  readonly header: Block
  readonly body: Block
  /** The nonce its record node will be sealed with (drawn with the others). */
  readonly recordNonce: Uint8Array
}

/** Seal a record's event ahead of its place in the log (see {@link SealedEvent}). */
export async function sealRecordEvent(init: Pick<SealRecordInit, 'body' | 'threadKey' | 'time' | 'random'>, options: AbortOptions = {}): Promise<SealedEvent> {
  throwIfAborted(options.signal)
  const { threadKey, time } = init
  assertThreadKey(threadKey)
  if (!canRead(threadKey)) throw new MissingReadKeyError('sealing a record needs the thread read key')
  if (!isHLC(time)) throw new InvalidClockError('record time must be { wall, counter } in range')
  const [bodyKey, bodyNonce, headerNonce, recordNonce] = recordRandomness(init.random)
  const [body, header] = await Promise.all([
    sealNode(init.body, bodyKey, bodyNonce, MAX_BODY_BYTES),
    sealNode(headerNodeValue({ key: bodyKey, time }), threadKey.read, headerNonce)
  ])
  const event = await encodeBlock(eventNodeValue({ body: body.cid, header: header.cid }))
  return { event, header, body, recordNonce }
}

/** Make a sealed event the record after `prev` in its log (format version 2): sign and seal its record node. */
export async function sealRecordOver(init: Omit<SealRecordInit, 'body' | 'time' | 'random'>, sealed: SealedEvent, options: AbortOptions = {}): Promise<RecordBlocks> {
  throwIfAborted(options.signal)
  assertThreadKey(init.threadKey)
  const prev = init.prev ?? null
  if (prev !== null && !isBlockCID(prev)) throw new InvalidRecordError('prev must be a CIDv1 dag-cbor sha2-256 link')
  return await sealOver(init, 2, await authorProof(init as SealRecordInit, 2), sealed, options)
}

async function seal(init: SealRecordInit, version: RecordFormatVersion, options: AbortOptions): Promise<RecordBlocks> {
  throwIfAborted(options.signal)
  const { threadKey, time } = init
  assertThreadKey(threadKey)
  if (!canRead(threadKey)) throw new MissingReadKeyError('sealing a record needs the thread read key')
  if (!isHLC(time)) throw new InvalidClockError('record time must be { wall, counter } in range')
  const prev = init.prev ?? null
  if (prev !== null && !isBlockCID(prev)) throw new InvalidRecordError('prev must be a CIDv1 dag-cbor sha2-256 link')
  const cert = await authorProof(init, version)
  return await sealOver(init, version, cert, await sealRecordEvent(init, options), options)
}

async function sealOver(
  init: Omit<SealRecordInit, 'body' | 'time' | 'random'>, version: RecordFormatVersion, cert: AuthorCertificate | undefined,
  sealed: SealedEvent, options: AbortOptions
): Promise<RecordBlocks> {
  const { threadKey, logKey } = init
  const prev = init.prev ?? null
  const { event, header, body, recordNonce } = sealed
  const unsigned: Mutable<Omit<RecordNode, 'sig'>> = { version, block: event.cid, pubKey: publicKeyToBytes(init.author ?? logKey.publicKey) }
  if (prev !== null) unsigned.prev = prev
  if (cert !== undefined) unsigned.cert = cert
  const sig = await logKey.sign(recordSigningPayload(unsigned), options)
  if (!isBytesOfLength(sig, ED25519_SIGNATURE_BYTES)) throw new InvalidRecordError('the log key must produce a 64-byte Ed25519 signature')
  const record = await sealNode(recordNodeValue({ ...unsigned, sig }), threadKey.service, recordNonce, MAX_NODE_BLOCK_BYTES)
  return { record, event, header, body }
}

export interface OpenRecordOptions extends AbortOptions {
  /** The thread service key (32 bytes). */
  serviceKey: Uint8Array
  /** The public key of the log the record belongs to (see `logIDToPublicKey`). */
  logPublicKey: PublicKey
  /** The expected `prev`: a CID, `null` for "must be the log's first record", or omitted to skip the check. */
  expectedPrev?: CID | null
  /** The thread read key; without it the event is not decrypted. */
  readKey?: Uint8Array
  /**
   * The record was opened with every check before and comes back from this peer's own store: skip
   * the Ed25519 verification of its signature and author certificate (blocks, CIDs, links and the
   * decryption are still checked).
   * @default false
   */
  verified?: boolean
}

/** What a holder of the service key can verify and read. */
export interface RecordEnvelope {
  /** CID of the record node. */
  readonly cid: CID
  /** CID of the event node, covered by the signature. */
  readonly eventCID: CID
  /** CID of the previous record, `null` on a log's first record. */
  readonly prev: CID | null
  /**
   * The proven author: the log key itself, or an identity whose certificate for the log key the
   * record carries (and which was verified).
   */
  readonly author: PublicKey
  /** The log key's signature. */
  readonly sig: Uint8Array
  /** The record's format version (1: read-only legacy, 2: current). */
  readonly version: RecordFormatVersion
  /** The author's certificate for the log key, present when the author is not the log key. */
  readonly certificate?: AuthorCertificate
}

export interface OpenedEvent {
  /** CID of the event node. */
  readonly cid: CID
  /** The decrypted header: body key and hybrid logical clock time. */
  readonly header: HeaderNode
  /** The event's hybrid logical clock time (`header.time`). */
  readonly time: HLC
  /** The decrypted body value. */
  readonly body: unknown
}

export interface OpenedRecord extends RecordEnvelope {
  /** The event, when a read key was given. */
  readonly event: OpenedEvent | undefined
}

function checkSymmetricKey(key: unknown, name: string): asserts key is Uint8Array {
  if (!isBytesOfLength(key, SYMMETRIC_KEY_BYTES)) throw new InvalidThreadKeyError(`${name} must be 32 bytes`)
}

const LIMITS = { record: MAX_NODE_BLOCK_BYTES, event: MAX_NODE_BLOCK_BYTES, header: MAX_NODE_BLOCK_BYTES, body: MAX_BODY_BLOCK_BYTES }

/**
 * Check the given blocks' shapes and sizes (all of them, before any hashing), verify their CIDs,
 * decode the event node and check that it links exactly the header and body given.
 */
async function verifyBlocks(blocks: Partial<RecordBlocks>, names: ReadonlyArray<keyof RecordBlocks>): Promise<EventNode> {
  if (blocks == null || typeof blocks !== 'object') throw new InvalidBlockError('expected record blocks')
  for (const name of names) {
    const block = blocks[name]
    if (block == null || typeof block !== 'object') throw new InvalidBlockError(`${name} block is missing`)
    if (!isBytes(block.bytes)) throw new InvalidBlockError(`${name} block bytes must be a Uint8Array`)
    if (block.bytes.byteLength > LIMITS[name]) {
      throw new OversizedInputError(`${name} block of ${block.bytes.byteLength} bytes exceeds ${LIMITS[name]}`)
    }
  }
  await Promise.all(names.map(async (name) => { await verifyBlock(blocks[name]!, LIMITS[name]) }))
  const { event: eventBlock, header, body } = blocks as RecordBlocks
  const event = parseEventNode(decodeBlock(eventBlock.bytes, MAX_NODE_BLOCK_BYTES))
  if (!event.header.equals(header.cid)) throw new InvalidRecordError('event links a different header block')
  if (!event.body.equals(body.cid)) throw new InvalidRecordError('event links a different body block')
  return event
}

const ALL_BLOCKS = ['record', 'event', 'header', 'body'] as const
const EVENT_BLOCKS = ['event', 'header', 'body'] as const

/** Decrypt a verified event's header (read key) and then its body (body key). */
async function decryptEvent(blocks: Omit<RecordBlocks, 'record'>, readKey: Uint8Array): Promise<OpenedEvent> {
  const header = parseHeaderNode(await openNode(blocks.header, readKey, MAX_NODE_BLOCK_BYTES))
  const body = await openNode(blocks.body, header.key, MAX_BODY_BLOCK_BYTES)
  return { cid: blocks.event.cid, header, time: header.time, body }
}

/** Decrypt and check the record node of already verified blocks. */
async function openEnvelope(record: Block, eventCID: CID, options: OpenRecordOptions): Promise<RecordEnvelope> {
  const node = parseRecordNode(await openNode(record, options.serviceKey, MAX_NODE_BLOCK_BYTES))
  if (!node.block.equals(eventCID)) throw new InvalidRecordError('record points to a different event block')
  const prev = node.prev ?? null
  const { expectedPrev } = options
  if (expectedPrev !== undefined) {
    if (expectedPrev === null) {
      if (prev !== null) throw new PrevLinkMismatchError(`expected a log's first record, got prev ${prev.toString()}`)
    } else {
      const expected = CID.asCID(expectedPrev)
      if (expected == null) throw new InvalidRecordError('expectedPrev must be a CID or null')
      if (prev === null || !prev.equals(expected)) {
        throw new PrevLinkMismatchError(`expected prev ${expected.toString()}, got ${prev?.toString() ?? 'none'}`)
      }
    }
  }
  let author: PublicKey
  try {
    author = publicKeyFromBytes(node.pubKey)
  } catch (cause) {
    if (cause instanceof InvalidKeyError) throw new InvalidRecordError('record.pubKey is not an Ed25519 public key', { cause })
    throw cause
  }
  const { logPublicKey } = options
  const delegated = !author.equals(logPublicKey)
  if (!delegated && node.cert !== undefined) throw new InvalidRecordError('a record authored by its log key carries no certificate')
  // The log key's signature first: an UnprovenAuthorError then shows that the log's owner itself
  // signed a record naming an identity it cannot prove. Both signatures verify concurrently.
  const trusted = options.verified === true
  const certChecked = delegated && node.cert !== undefined && !trusted ? verifyAuthorCertificate(author, logPublicKey, node.cert) : undefined
  void certChecked?.catch(() => {})
  const ok = trusted || await logPublicKey.verify(recordSigningPayload(node), node.sig)
  if (!ok) throw new BadSignatureError('record signature does not verify with the log public key')
  if (delegated && node.version === 1) {
    throw new UnprovenAuthorError('a version 1 record cannot prove an author other than its log key')
  }
  if (delegated && node.cert === undefined) {
    throw new UnprovenAuthorError(`the record names author ${author.toString()}, not its log key, and carries no certificate`)
  }
  await certChecked
  const envelope = { cid: record.cid, eventCID, prev, author, sig: node.sig, version: node.version }
  return node.cert === undefined ? envelope : { ...envelope, certificate: node.cert }
}

function checkOpenOptions(options: OpenRecordOptions): void {
  throwIfAborted(options.signal)
  checkSymmetricKey(options.serviceKey, 'service key')
  if (options.readKey !== undefined) checkSymmetricKey(options.readKey, 'read key')
  if (typeof options.logPublicKey?.verify !== 'function') throw new InvalidKeyError('logPublicKey must be a PublicKey')
}

/**
 * Verify a record with the service key: block sizes and CIDs, the event's links, the record
 * node's shape and version, its `prev` against `expectedPrev`, the log key's signature and the
 * author's proof (`UnprovenAuthorError` when the author is not the log key and no valid
 * certificate says so). Does not decrypt the event (see {@link openRecord}).
 */
export async function openRecordEnvelope(blocks: RecordBlocks, options: OpenRecordOptions): Promise<RecordEnvelope> {
  checkOpenOptions(options)
  await verifyBlocks(blocks, ALL_BLOCKS)
  throwIfAborted(options.signal)
  return await openEnvelope(blocks.record, blocks.event.cid, options)
}

/**
 * Verify a record (as {@link openRecordEnvelope}) and, if `readKey` is given, decrypt its header
 * and body. The event is decrypted while the envelope is verified; an envelope error wins.
 */
export async function openRecord(blocks: RecordBlocks, options: OpenRecordOptions): Promise<OpenedRecord> {
  checkOpenOptions(options)
  await verifyBlocks(blocks, ALL_BLOCKS)
  throwIfAborted(options.signal)
  const { readKey } = options
  if (readKey === undefined) return { ...await openEnvelope(blocks.record, blocks.event.cid, options), event: undefined }
  const eventPromise = decryptEvent(blocks, readKey)
  void eventPromise.catch(() => {})
  const envelope = await openEnvelope(blocks.record, blocks.event.cid, options)
  return { ...envelope, event: await eventPromise }
}

/**
 * Decrypt an event from its three blocks with the read key, checking sizes, CIDs and links.
 * This does not verify the record's signature: use it on events whose record was already opened.
 */
export async function openEvent(
  blocks: Omit<RecordBlocks, 'record'>,
  readKey: Uint8Array | undefined,
  options: AbortOptions = {}
): Promise<OpenedEvent> {
  throwIfAborted(options.signal)
  if (readKey === undefined) throw new MissingReadKeyError('reading an event needs the thread read key')
  checkSymmetricKey(readKey, 'read key')
  await verifyBlocks(blocks, EVENT_BLOCKS)
  return await decryptEvent(blocks, readKey)
}

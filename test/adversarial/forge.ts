/**
 * Sealing records the way a member running modified code can: any author, with no certificate or
 * a bogus one, any prev, any time, a header sealed under a read key the thread does not use, a
 * body that does not decrypt or is not an event — every field chosen by hand, signed with a log
 * key the attacker holds. `sealRecord` refuses most of this; here nothing is checked.
 *
 * A {@link ForgedLog} is one log written by hand: it keeps its head, so records chain, and it can
 * be forked into two branches at any position (equivocation).
 */
import { CID } from 'multiformats/cid'
import { encodeBlock, sealNode } from '../../src/core/block.js'
import { randomBytes } from '../../src/core/bytes.js'
import type { HLC } from '../../src/core/hlc.js'
import { generateKeyPair, identityToString, publicKeyToBytes, type PrivateKey, type PublicKey } from '../../src/core/identity.js'
import { logIDFromPublicKey, logIDToBytes } from '../../src/core/log-id.js'
import { eventNodeValue, headerNodeValue, recordNodeValue, recordSigningPayload, type RecordNode } from '../../src/core/record-codec.js'
import type { RecordBlocks } from '../../src/core/record.js'
import type { AuthorCertificate } from '../../src/core/author.js'
import type { ReadableThreadKey } from '../../src/core/thread-key.js'
import type { LogID, ThreadID } from '../../src/core/types.js'
import { threadIDToBytes } from '../../src/core/thread-id.js'
import { signAddrs } from '../../src/net/log-addrs.js'
import type { WireBlocks, WireLog } from '../../src/net/messages.js'

export interface ForgeInit {
  /** The thread key: its service key seals the record node, its read key the header (unless `headerKey`). */
  threadKey: ReadableThreadKey
  /** The log key that signs. */
  logKey: PrivateKey
  /** The event body. */
  body: unknown
  time: HLC
  /** The previous record of the log (absent: a first record). */
  prev?: CID
  /** The author named in the record. @default the log key */
  author?: PublicKey
  /** A certificate carried as is (nobody checks it here). @default none */
  certificate?: AuthorCertificate
  /** Record format version written (1 has no `v` and no certificate). @default 2 */
  version?: 1 | 2
  /** Seal the header under this key instead of the thread's read key (readers cannot open it). */
  headerKey?: Uint8Array
  /** Seal the body under another key than the one the header names (the body does not decrypt). */
  wrongBodyKey?: boolean
}

/** Seal a record with exactly the given fields, signed by `logKey`. */
export async function forgeRecord(init: ForgeInit): Promise<RecordBlocks> {
  const bodyKey = randomBytes(32)
  const [body, header] = await Promise.all([
    sealNode(init.body, init.wrongBodyKey === true ? randomBytes(32) : bodyKey, randomBytes(12)),
    sealNode(headerNodeValue({ key: bodyKey, time: init.time }), init.headerKey ?? init.threadKey.read, randomBytes(12))
  ])
  const event = await encodeBlock(eventNodeValue({ body: body.cid, header: header.cid }))
  const unsigned: { -readonly [K in keyof Omit<RecordNode, 'sig'>]: Omit<RecordNode, 'sig'>[K] } = {
    version: init.version ?? 2,
    block: event.cid,
    pubKey: publicKeyToBytes(init.author ?? init.logKey.publicKey)
  }
  if (init.prev !== undefined) unsigned.prev = init.prev
  if (init.certificate !== undefined) unsigned.cert = init.certificate
  const sig = await init.logKey.sign(recordSigningPayload(unsigned))
  const record = await sealNode(recordNodeValue({ ...unsigned, sig }), init.threadKey.service, randomBytes(12))
  return { record, event, header, body }
}

export function toWire(blocks: RecordBlocks): WireBlocks {
  return [blocks.record.bytes, blocks.event.bytes, blocks.header.bytes, blocks.body.bytes]
}

/** A record of a forged log, with its position. */
export interface ForgedRecord {
  counter: number
  blocks: RecordBlocks
}

export type AppendInit = Omit<ForgeInit, 'threadKey' | 'logKey' | 'prev' | 'time'> & {
  /** @default now, one millisecond after the previous record's time */
  time?: HLC
}

/** One log written by hand: records chain from its head; `fork()` starts a second branch. */
export class ForgedLog {
  readonly id: LogID
  readonly idBytes: Uint8Array
  readonly pubKey: Uint8Array
  readonly identity: string
  readonly records: ForgedRecord[] = []
  private lastWall = 0

  constructor(readonly threadKey: ReadableThreadKey, readonly key: PrivateKey, records: ForgedRecord[] = []) {
    this.id = logIDFromPublicKey(key.publicKey)
    this.idBytes = logIDToBytes(this.id)
    this.pubKey = publicKeyToBytes(key.publicKey)
    this.identity = identityToString(key.publicKey)
    this.records.push(...records)
  }

  static async create(threadKey: ReadableThreadKey, key?: PrivateKey): Promise<ForgedLog> {
    return new ForgedLog(threadKey, key ?? await generateKeyPair())
  }

  get counter(): number { return this.records.length }
  get head(): CID | undefined { return this.records.at(-1)?.blocks.record.cid }

  /** Seal the next record (counter + 1) and append it. */
  async append(init: AppendInit): Promise<ForgedRecord> {
    const time = init.time ?? { wall: Math.max(Date.now(), this.lastWall + 1), counter: 0 }
    this.lastWall = Math.max(this.lastWall, time.wall)
    const head = this.head
    const blocks = await forgeRecord({ ...init, threadKey: this.threadKey, logKey: this.key, time, ...(head != null ? { prev: head } : {}) })
    const rec = { counter: this.counter + 1, blocks }
    this.records.push(rec)
    return rec
  }

  /** A second branch sharing the first `at` records (equivocation from record `at + 1` on). */
  fork(at = this.counter): ForgedLog {
    const other = new ForgedLog(this.threadKey, this.key, this.records.slice(0, at))
    other.lastWall = this.lastWall
    return other
  }

  /** The log as announced on the wire (what `pushLog` and `getLogs` carry). */
  wire(addrs: string[] = []): WireLog {
    const w: WireLog = { id: this.idBytes, pubKey: this.pubKey, addrs, counter: this.counter }
    if (this.head != null) w.head = this.head
    return w
  }

  /** The log as its owner announces it in `thread`: the address list signed by the log key. */
  async signedWire(thread: ThreadID, addrs: string[], seq = 1): Promise<WireLog> {
    const signed = await signAddrs(this.key, threadIDToBytes(thread), this.idBytes, seq, addrs)
    return { ...this.wire(signed.addrs), addrSeq: signed.seq, addrSig: signed.sig }
  }

  /** A record frame body for `pushRecord` or a `getRecords` stream. */
  frame(counter: number): { log: Uint8Array; counter: number; blocks: WireBlocks } {
    const rec = this.records[counter - 1]
    if (rec == null) throw new Error(`no record ${counter} in forged log ${this.id}`)
    return { log: this.idBytes, counter, blocks: toWire(rec.blocks) }
  }
}

/** A CID that names no block anyone holds. */
export async function bogusCID(): Promise<CID> {
  return (await encodeBlock({ bogus: randomBytes(8) })).cid
}

export { CID }

/**
 * The wire messages of `/weft/net/2.0.0`: dag-cbor maps tagged by `type`, one per length-prefixed
 * frame on a session; requests carry an `id`, responses the `re` of the request they answer.
 * Every decoder checks types and sizes and throws {@link InvalidMessageError}; nothing from the
 * network is trusted. The format is specified in docs/PROTOCOL.md.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { InvalidMessageError } from './errors.js'

export const PROTOCOL = '/weft/net/2.0.0'

/** Largest frame either side accepts: a 1 MiB body block plus the other three blocks and framing. */
export const MAX_FRAME_BYTES = 1024 * 1024 + 64 * 1024
/** Most logs a thread may announce in one message. */
export const MAX_LOGS_PER_MESSAGE = 4096
/** Most addresses carried for one log. */
export const MAX_ADDRS_PER_LOG = 32
/** Longest multiaddr string accepted. */
export const MAX_ADDR_LENGTH = 1024
/** Most records one `getRecords` may ask for. */
export const MAX_RECORDS_PER_REQUEST = 10_000
/** Largest record block (a fork proof holds two). */
export const MAX_RECORD_BLOCK_BYTES = 4096
/** Bytes of logs a `logs` answer carries at most before it says `more` (the frame limit, with room). */
export const LOGS_PAGE_BYTES = 768 * 1024

/** Proof that a log's owner signed two different records at one position. */
export interface WireFork {
  /** The position of both records in the log (the receiver checks it against its own chain). */
  counter: number
  /** The two record blocks, encrypted with the service key. */
  records: [Uint8Array, Uint8Array]
}

/** A log as peers describe it to each other: never a private key. */
export interface WireLog {
  /** Log ID bytes (the peer-ID multihash of the log's public key). */
  id: Uint8Array
  /** libp2p-marshalled public key of the log. */
  pubKey: Uint8Array
  /**
   * Multiaddr strings of peers that hold the log: the list the log's key signed (`addrSeq`,
   * `addrSig`); an unsigned list (no `addrSig`) changes nothing at the receiver.
   */
  addrs: string[]
  /** Sequence number of the signed address list. */
  addrSeq?: number
  /** The log key's signature over the address list (docs/PROTOCOL.md, "Logs and their addresses"). */
  addrSig?: Uint8Array
  /** CID of the newest record, absent for an empty log. */
  head?: CID
  /** Number of records in the log (for a frozen log: up to its fork). */
  counter: number
  /** The log is frozen: the proof. */
  fork?: WireFork
}

/** A head of one log: enough to tell who is behind. */
export interface WireHead {
  id: Uint8Array
  head?: CID
  counter: number
  /** The counter the log is frozen at, when the sender holds a proof of a fork. */
  fork?: number
}

/** The four blocks of a record, in order: record, event, header, body. */
export type WireBlocks = [Uint8Array, Uint8Array, Uint8Array, Uint8Array]

interface Authed {
  /** The request ID, chosen by the requester, unique among its requests in flight on the session. */
  id: number
  /** Binary thread ID. */
  thread: Uint8Array
  /** Key ID: the first 16 bytes of SHA-256("weft-net-kid-v1" ‖ service key). */
  kid: Uint8Array
  /** HMAC-SHA256 proof of the service key, bound to the thread and both peer IDs. */
  auth: Uint8Array
}

export interface GetLogsRequest extends Authed {
  type: 'getLogs'
  /** Only logs whose ID bytes sort after these (the next page of a long answer). */
  after?: Uint8Array
}
export interface PushLogRequest extends Authed {
  type: 'pushLog'
  log: WireLog
  /** Only when handing a thread to a replicator: the service key (never the read key). */
  serviceKey?: Uint8Array
}
export interface HeadsRequest extends Authed {
  type: 'heads'
  /** SHA-256 over the sender's sorted heads (see docs/PROTOCOL.md). */
  digest: Uint8Array
}
export interface GetRecordsRequest extends Authed {
  type: 'getRecords'
  /** For each log: send records with counter greater than `after`. */
  logs: Array<{ id: Uint8Array; after: number }>
  /** Most records to send in this response, all logs together. */
  limit: number
  /** Bytes of record frames the responder may send before it waits for a `credit` frame. */
  credit: number
  /** Only the logs listed (by default the responder also sends the logs not listed, from the first record). */
  only?: boolean
}
export interface PushRecordRequest extends Authed {
  type: 'pushRecord'
  log: Uint8Array
  /** The record's counter in its log (1 for the first record). */
  counter: number
  blocks: WireBlocks
}

export type Request = GetLogsRequest | PushLogRequest | HeadsRequest | GetRecordsRequest | PushRecordRequest
export type RequestType = Request['type']

/** The requester lets the responder send `n` more bytes of record frames of request `id`. */
export interface CreditFrame { type: 'credit'; id: number; n: number }
/** The requester no longer wants answers to request `id`. */
export interface CancelFrame { type: 'cancel'; id: number }
export type Control = CreditFrame | CancelFrame

interface Reply {
  /** The ID of the request this answers. */
  re: number
}
export interface OkResponse extends Reply { type: 'ok' }
export interface LogsResponse extends Reply {
  type: 'logs'
  logs: WireLog[]
  /** More logs follow: ask again `after` the last one. */
  more?: boolean
}
export interface HeadsResponse extends Reply {
  type: 'heads'
  /** True when the digests matched: nothing else is sent. */
  same: boolean
  heads: WireHead[]
}
/** One record of a `getRecords` response; many follow each other, then an `end`. */
export interface RecordFrame extends Reply { type: 'record'; log: Uint8Array; counter: number; blocks: WireBlocks }
export interface EndFrame extends Reply {
  type: 'end'
  /** True when the limit cut the response short and more records are available. */
  more: boolean
}
export type ErrorCode = 'UNAUTHORIZED' | 'BAD_REQUEST' | 'LOG_NOT_FOUND' | 'INVALID_RECORD' | 'GAP' | 'INTERNAL' | 'BUSY' | 'QUOTA_EXCEEDED'
export interface ErrorResponse extends Reply { type: 'error'; code: ErrorCode; message: string }

export type Response = OkResponse | LogsResponse | HeadsResponse | RecordFrame | EndFrame | ErrorResponse

/** Everything that travels on a session. */
export type Frame = Request | Control | Response

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** Requests and responses as built before the session gives them their IDs. */
export type RequestBody = DistributiveOmit<Request, 'id'>
export type ResponseBody = DistributiveOmit<Response, 're'>

export function encodeFrame(message: Frame): Uint8Array {
  return dagCbor.encode(stripUndefined(message))
}

function stripUndefined<T extends object>(value: T): T {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) out[k] = v
  }
  return out as T
}

function decodeMap(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.byteLength > MAX_FRAME_BYTES) throw new InvalidMessageError(`frame of ${bytes.byteLength} bytes is over the limit`)
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new InvalidMessageError('frame is not dag-cbor', { cause: err })
  }
  if (value == null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new InvalidMessageError('frame is not a map')
  }
  return value as Record<string, unknown>
}

function bytes(v: unknown, field: string, min = 0, max = 4096): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new InvalidMessageError(`${field} must be bytes`)
  if (v.byteLength < min || v.byteLength > max) throw new InvalidMessageError(`${field} has a bad length (${v.byteLength})`)
  return v
}

function uint(v: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw new InvalidMessageError(`${field} must be an unsigned integer`)
  return v
}

function cid(v: unknown, field: string): CID {
  const c = CID.asCID(v)
  if (c == null) throw new InvalidMessageError(`${field} must be a CID`)
  return c
}

function str(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string' || v.length > max) throw new InvalidMessageError(`${field} must be a string of at most ${max} characters`)
  return v
}

function array(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw new InvalidMessageError(`${field} must be a list`)
  if (v.length > max) throw new InvalidMessageError(`${field} has more than ${max} entries`)
  return v
}

function wireFork(v: unknown): WireFork {
  if (v == null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidMessageError('log.fork must be a map')
  const m = v as Record<string, unknown>
  const records = array(m.records, 'log.fork.records', 2)
  if (records.length !== 2) throw new InvalidMessageError('a fork proof holds exactly two records')
  return {
    counter: uint(m.counter, 'log.fork.counter'),
    records: [bytes(records[0], 'log.fork.records[0]', 1, MAX_RECORD_BLOCK_BYTES), bytes(records[1], 'log.fork.records[1]', 1, MAX_RECORD_BLOCK_BYTES)]
  }
}

function wireLog(v: unknown): WireLog {
  if (v == null || typeof v !== 'object') throw new InvalidMessageError('log must be a map')
  const m = v as Record<string, unknown>
  const log: WireLog = {
    id: bytes(m.id, 'log.id', 2, 128),
    pubKey: bytes(m.pubKey, 'log.pubKey', 1, 1024),
    addrs: array(m.addrs ?? [], 'log.addrs', MAX_ADDRS_PER_LOG).map((a) => str(a, 'log.addrs[]', MAX_ADDR_LENGTH)),
    counter: uint(m.counter, 'log.counter')
  }
  if (m.addrSig != null) {
    log.addrSig = bytes(m.addrSig, 'log.addrSig', 64, 64)
    log.addrSeq = uint(m.addrSeq, 'log.addrSeq')
  }
  if (m.head != null) log.head = cid(m.head, 'log.head')
  if (m.fork != null) log.fork = wireFork(m.fork)
  return log
}

function wireHead(v: unknown): WireHead {
  if (v == null || typeof v !== 'object') throw new InvalidMessageError('head must be a map')
  const m = v as Record<string, unknown>
  const head: WireHead = { id: bytes(m.id, 'head.id', 2, 128), counter: uint(m.counter, 'head.counter') }
  if (m.head != null) head.head = cid(m.head, 'head.head')
  if (m.fork != null) head.fork = uint(m.fork, 'head.fork')
  return head
}

function optionalBool(v: unknown, field: string): boolean | undefined {
  if (v == null) return undefined
  if (typeof v !== 'boolean') throw new InvalidMessageError(`${field} must be a boolean`)
  return v
}

function wireBlocks(v: unknown): WireBlocks {
  const list = array(v, 'blocks', 4)
  if (list.length !== 4) throw new InvalidMessageError('a record travels as exactly four blocks')
  return [
    bytes(list[0], 'blocks[0]', 1, 4096),
    bytes(list[1], 'blocks[1]', 1, 4096),
    bytes(list[2], 'blocks[2]', 1, 4096),
    bytes(list[3], 'blocks[3]', 1, MAX_FRAME_BYTES)
  ]
}

/** Largest request ID (IDs wrap around below it). */
export const MAX_REQUEST_ID = 0xffff_ffff
/** Most bytes of record frames one credit grants (and the largest initial credit): 16 MiB. */
export const MAX_CREDIT = 16 * 1024 * 1024

function authed(m: Record<string, unknown>): Authed {
  return {
    id: uint(m.id, 'id', MAX_REQUEST_ID),
    thread: bytes(m.thread, 'thread', 3, 256),
    kid: bytes(m.kid, 'kid', 16, 16),
    auth: bytes(m.auth, 'auth', 32, 32)
  }
}

function decodeRequest(m: Record<string, unknown>): Request | Control {
  switch (m.type) {
    case 'getLogs': {
      const req: GetLogsRequest = { type: 'getLogs', ...authed(m) }
      if (m.after != null) req.after = bytes(m.after, 'after', 2, 128)
      return req
    }
    case 'pushLog': {
      const req: PushLogRequest = { type: 'pushLog', ...authed(m), log: wireLog(m.log) }
      if (m.serviceKey != null) req.serviceKey = bytes(m.serviceKey, 'serviceKey', 32, 32)
      return req
    }
    case 'heads':
      return { type: 'heads', ...authed(m), digest: bytes(m.digest, 'digest', 32, 32) }
    case 'getRecords': {
      const req: GetRecordsRequest = {
        type: 'getRecords',
        ...authed(m),
        logs: array(m.logs, 'logs', MAX_LOGS_PER_MESSAGE).map((l) => {
          if (l == null || typeof l !== 'object' || Array.isArray(l)) throw new InvalidMessageError('logs[] must be maps')
          const e = l as Record<string, unknown>
          return { id: bytes(e.id, 'logs[].id', 2, 128), after: uint(e.after, 'logs[].after') }
        }),
        limit: uint(m.limit, 'limit', MAX_RECORDS_PER_REQUEST),
        credit: uint(m.credit, 'credit', MAX_CREDIT)
      }
      if (optionalBool(m.only, 'only') === true) req.only = true
      return req
    }
    case 'pushRecord':
      return {
        type: 'pushRecord',
        ...authed(m),
        log: bytes(m.log, 'log', 2, 128),
        counter: uint(m.counter, 'counter'),
        blocks: wireBlocks(m.blocks)
      }
    case 'credit':
      return { type: 'credit', id: uint(m.id, 'id', MAX_REQUEST_ID), n: uint(m.n, 'n', MAX_CREDIT) }
    case 'cancel':
      return { type: 'cancel', id: uint(m.id, 'id', MAX_REQUEST_ID) }
    default:
      throw new InvalidMessageError(`unknown frame type ${JSON.stringify(String(m.type)).slice(0, 40)}`)
  }
}

const ERROR_CODES = new Set<ErrorCode>(['UNAUTHORIZED', 'BAD_REQUEST', 'LOG_NOT_FOUND', 'INVALID_RECORD', 'GAP', 'INTERNAL', 'BUSY', 'QUOTA_EXCEEDED'])

function decodeResponse(m: Record<string, unknown>): Response {
  const re = uint(m.re, 're', MAX_REQUEST_ID)
  switch (m.type) {
    case 'ok':
      return { type: 'ok', re }
    case 'logs': {
      const res: LogsResponse = { type: 'logs', re, logs: array(m.logs, 'logs', MAX_LOGS_PER_MESSAGE).map(wireLog) }
      if (optionalBool(m.more, 'more') === true) res.more = true
      return res
    }
    case 'heads':
      if (typeof m.same !== 'boolean') throw new InvalidMessageError('same must be a boolean')
      return { type: 'heads', re, same: m.same, heads: array(m.heads, 'heads', MAX_LOGS_PER_MESSAGE).map(wireHead) }
    case 'record':
      return { type: 'record', re, log: bytes(m.log, 'log', 2, 128), counter: uint(m.counter, 'counter'), blocks: wireBlocks(m.blocks) }
    case 'end':
      if (typeof m.more !== 'boolean') throw new InvalidMessageError('more must be a boolean')
      return { type: 'end', re, more: m.more }
    case 'error': {
      const code = str(m.code, 'code', 32) as ErrorCode
      if (!ERROR_CODES.has(code)) throw new InvalidMessageError('unknown error code')
      return { type: 'error', re, code, message: str(m.message, 'message', 1024) }
    }
    default:
      throw new InvalidMessageError(`unknown response type ${JSON.stringify(String(m.type)).slice(0, 40)}`)
  }
}

/**
 * Decode and check one frame: a response when it carries `re`, else a request or a control
 * frame. Anything else is an {@link InvalidMessageError}.
 */
export function decodeFrame(frame: Uint8Array): Frame {
  const m = decodeMap(frame)
  return m.re !== undefined ? decodeResponse(m) : decodeRequest(m)
}

/** True for the frames a requester sends (requests and control frames). */
export function isRequest(frame: Frame): frame is Request {
  return !('re' in frame) && frame.type !== 'credit' && frame.type !== 'cancel'
}

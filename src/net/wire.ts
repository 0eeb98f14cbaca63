/**
 * A thread's logs and heads as peers describe them to each other (never a private key), and the
 * conversions between log IDs and their wire bytes, cached (they are base58 work on every heads
 * exchange otherwise).
 */
import { logIDFromBytes, logIDToBytes } from '../core/index.js'
import type { LogID } from '../core/types.js'
import type { Head, LogInfo } from '../store/logstore-types.js'
import * as dagCbor from '@ipld/dag-cbor'
import { LOGS_PAGE_BYTES, type WireHead, type WireLog } from './messages.js'
import type { ThreadRegistry, ThreadState } from './registry.js'
import { compareBytes } from '../store/index.js'

const CACHE_LIMIT = 10_000
const toBytes = new Map<LogID, Uint8Array>()
const fromBytes = new Map<string, LogID>()

function remember<K, V>(map: Map<K, V>, k: K, v: V): V {
  if (map.size >= CACHE_LIMIT) map.clear()
  map.set(k, v)
  return v
}

/** The wire bytes of a log ID. */
export function logIdBytes(id: LogID): Uint8Array {
  return toBytes.get(id) ?? remember(toBytes, id, logIDToBytes(id))
}

/** The log ID of wire bytes; throws on bytes that are not a log ID. */
export function logIdOf(bytes: Uint8Array): LogID {
  const key = String.fromCharCode(...bytes)
  return fromBytes.get(key) ?? remember(fromBytes, key, logIDFromBytes(bytes))
}

/**
 * A log as announced: its address list only when the log's key signed it (unsigned addresses are
 * never passed on), and the proof of its fork when it is frozen.
 */
export function toWireLog(l: LogInfo): WireLog {
  const w: WireLog = { id: logIdBytes(l.id), pubKey: l.publicKey, addrs: l.signedAddrs?.addrs ?? [], counter: l.head.counter }
  if (l.signedAddrs != null) {
    w.addrSeq = l.signedAddrs.seq
    w.addrSig = l.signedAddrs.sig
  }
  if (l.head.cid != null) w.head = l.head.cid
  if (l.fork != null) w.fork = { counter: l.fork.counter, records: l.fork.records }
  return w
}

/** One log of the thread as announced, if it is there. */
export async function wireLog(registry: ThreadRegistry, thread: ThreadState, log: LogID): Promise<WireLog | undefined> {
  const l = (await registry.logs(thread)).find((x) => x.id === log)
  return l == null ? undefined : toWireLog(l)
}

/**
 * The thread's logs as announced, in log ID order from after `after`, as many as fit a page of
 * {@link LOGS_PAGE_BYTES}; `more` when others follow.
 */
export async function wireLogsPage(registry: ThreadRegistry, thread: ThreadState, after?: Uint8Array): Promise<{ logs: WireLog[]; more: boolean }> {
  const all = (await registry.logs(thread)).map(toWireLog).sort((a, b) => compareBytes(a.id, b.id))
  const logs: WireLog[] = []
  let bytes = 0
  for (const w of all) {
    if (after != null && compareBytes(w.id, after) <= 0) continue
    const size = dagCbor.encode(w).byteLength
    if (logs.length > 0 && bytes + size > LOGS_PAGE_BYTES) return { logs, more: true }
    logs.push(w)
    bytes += size
  }
  return { logs, more: false }
}

/** Heads as sent: a frozen log carries the counter of its fork. */
export function toWireHeads(heads: Array<{ id: LogID; head: Head }>, frozen?: ReadonlyMap<LogID, number>): WireHead[] {
  return heads.map(({ id, head }) => {
    const h: WireHead = { id: logIdBytes(id), counter: head.counter }
    if (head.cid != null) h.head = head.cid
    const fork = frozen?.get(id)
    if (fork !== undefined) h.fork = fork
    return h
  })
}


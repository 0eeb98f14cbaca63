/**
 * A thread's logs and heads as peers describe them to each other (never a private key), and the
 * conversions between log IDs and their wire bytes, cached (they are base58 work on every heads
 * exchange otherwise).
 */
import { logIDFromBytes, logIDToBytes } from '../core/log-id.js'
import type { LogID } from '../core/types.js'
import type { Head, LogInfo } from '../store/logstore-types.js'
import { MAX_ADDRS_PER_LOG, type WireHead, type WireLog } from './messages.js'
import type { ThreadRegistry, ThreadState } from './registry.js'

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

/** A log as announced: its newest {@link MAX_ADDRS_PER_LOG} addresses (the store keeps them in insertion order). */
export function toWireLog(l: LogInfo): WireLog {
  const addrs = l.addrs.length > MAX_ADDRS_PER_LOG ? l.addrs.slice(-MAX_ADDRS_PER_LOG) : l.addrs
  const w: WireLog = { id: logIdBytes(l.id), pubKey: l.publicKey, addrs, counter: l.head.counter }
  if (l.head.cid != null) w.head = l.head.cid
  return w
}

export async function wireLogs(registry: ThreadRegistry, thread: ThreadState): Promise<WireLog[]> {
  return (await registry.logs(thread)).map(toWireLog)
}

export function toWireHeads(heads: Array<{ id: LogID; head: Head }>): WireHead[] {
  return heads.map(({ id, head }) => {
    const h: WireHead = { id: logIdBytes(id), counter: head.counter }
    if (head.cid != null) h.head = head.cid
    return h
  })
}


/**
 * A thread's logs and heads as peers describe them to each other (never a private key).
 */
import { logIDToBytes } from '../core/log-id.js'
import type { LogInfo } from '../store/logstore-types.js'
import { MAX_ADDRS_PER_LOG, type WireHead, type WireLog } from './messages.js'
import type { ThreadRegistry, ThreadState } from './registry.js'

/** A log as announced: its newest {@link MAX_ADDRS_PER_LOG} addresses (the store keeps them in insertion order). */
export function toWireLog(l: LogInfo): WireLog {
  const addrs = l.addrs.length > MAX_ADDRS_PER_LOG ? l.addrs.slice(-MAX_ADDRS_PER_LOG) : l.addrs
  const w: WireLog = { id: logIDToBytes(l.id), pubKey: l.publicKey, addrs, counter: l.head.counter }
  if (l.head.cid != null) w.head = l.head.cid
  return w
}

export function toWireHead(l: LogInfo): WireHead {
  const h: WireHead = { id: logIDToBytes(l.id), counter: l.head.counter }
  if (l.head.cid != null) h.head = l.head.cid
  return h
}

export async function wireLogs(registry: ThreadRegistry, thread: ThreadState): Promise<WireLog[]> {
  return (await registry.logs(thread)).map(toWireLog)
}

export async function wireHeads(registry: ThreadRegistry, thread: ThreadState): Promise<WireHead[]> {
  return (await registry.logs(thread)).map(toWireHead)
}

/**
 * Conversions at the port: the Net API's values hold CIDs and class instances, which are not
 * structured-cloneable (or lose their prototype). Records and thread infos become plain objects
 * with CIDs as strings; CIDs inside bodies become `{ '/': '<cid>' }` (the dag-json form).
 */
import { CID } from 'multiformats/cid'
import type { NetRecord, ThreadInfo } from '../src/net/types.js'
import type { ClientRecord, ClientThreadInfo } from '../src/contract/index.js'

/** A deep copy of `value` that structured clone carries faithfully. */
export function cloneable(value: unknown, depth = 0): unknown {
  if (value == null || typeof value !== 'object') return value
  if (depth > 64) throw new RangeError('value nests too deeply to cross the port')
  const cid = CID.asCID(value)
  if (cid != null) return { '/': cid.toString() }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date) return value
  if (Array.isArray(value)) return value.map((v) => cloneable(v, depth + 1))
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [cloneable(k, depth + 1), cloneable(v, depth + 1)]))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = cloneable(v, depth + 1)
  return out
}

export function toClientRecord(r: NetRecord): ClientRecord {
  const out: ClientRecord = { thread: r.thread, log: r.log, cid: r.cid.toString(), counter: r.counter, origin: r.origin }
  if (r.time != null) out.time = { wall: r.time.wall, counter: r.time.counter }
  if (r.author != null) out.author = r.author
  if (r.body !== undefined) out.body = cloneable(r.body)
  return out
}

export function toClientThreadInfo(t: ThreadInfo): ClientThreadInfo {
  return {
    id: t.id,
    key: t.key,
    readable: t.readable,
    addrs: [...t.addrs],
    logs: t.logs.map((l) => ({
      id: l.id,
      publicKey: l.publicKey,
      addrs: [...l.addrs],
      head: { cid: l.head.cid?.toString(), counter: l.head.counter },
      managed: l.managed
    }))
  }
}

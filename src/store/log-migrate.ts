/**
 * Opening a log store: its format version, and the in-place migration of older versions.
 *
 * Version 1 → 2: a log value of version 1 (`{ pub, priv?, addrs }`) is already a version 2 value
 * without the new fields; its addresses were never signed, so they stay unsigned (`addrs`), cut
 * to the newest 32 (a version 1 log's addresses grew without bound). Values are rewritten in
 * batches and the version key is written last, so a migration cut short runs again, whole, at
 * the next open (rewriting a value twice is harmless).
 */
import { logger } from '../core/logger.js'
import { UnsupportedStoreFormatError } from './errors.js'
import { decodeUint64, encodeUint64 } from './keys.js'
import type { BatchOp, KVStore } from './kv.js'
import * as layout from './log-layout.js'

const log = logger('weft:store:migrate')

/** Log values rewritten per batch. */
const CHUNK = 256

async function migrateV1(kv: KVStore): Promise<void> {
  let ops: BatchOp[] = []
  let rewritten = 0
  for await (const [key, value] of kv.range({ prefix: layout.logsPrefixAll })) {
    const stored = layout.decodeLog(value)
    const addrs = layout.newestAddrs(stored.addrs)
    if (addrs.length === stored.addrs.length && addrs.every((a, i) => a === stored.addrs[i])) continue
    ops.push({ type: 'put', key, value: layout.encodeLog({ ...stored, addrs }) })
    rewritten++
    if (ops.length >= CHUNK) {
      await kv.batch(ops)
      ops = []
    }
  }
  ops.push({ type: 'put', key: layout.versionKey, value: encodeUint64(2) })
  await kv.batch(ops)
  log('migrated the log store from format version 1 to 2 (%d logs cut to their newest %d addresses)', rewritten, layout.MAX_ADDRS_PER_LOG)
}

/**
 * Check the format version of the log store in `kv`: write the current one on a fresh store,
 * migrate an older one in place, refuse an unknown one (UnsupportedStoreFormatError).
 */
export async function openFormat(kv: KVStore): Promise<void> {
  const stored = await kv.get(layout.versionKey)
  if (stored === undefined) {
    await kv.put(layout.versionKey, encodeUint64(layout.FORMAT_VERSION))
    return
  }
  let version: number
  try {
    version = decodeUint64(stored)
  } catch (err) {
    throw new UnsupportedStoreFormatError('unreadable log store format version', { cause: err })
  }
  if (version === layout.FORMAT_VERSION) return
  if (version === 1) {
    await migrateV1(kv)
    return
  }
  throw new UnsupportedStoreFormatError(
    `log store format version ${version} is not supported (this code reads versions ${layout.OLDEST_FORMAT_VERSION} to ${layout.FORMAT_VERSION})`
  )
}

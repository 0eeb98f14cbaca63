/**
 * Reading through a collection's read filter. A filter that fails on one instance (throws, runs
 * past its budget or its memory, returns something that is not an object) hides that instance
 * only: the other instances of the read are shown, the failure is logged as an error of
 * `weft:db:filter` and passed to the reader's `onFilterError`. Asking for that one instance by ID
 * is a ReadFilterError.
 */
import { logger } from '../core/logger.js'
import { ReadFilterError } from './errors.js'
import type { Sandbox } from './sandbox.js'
import type { CollectionInfo, FilterFailure, JSONObject } from './types.js'

const log = logger('weft:db:filter')

/** Who reads, and who hears of filter failures. */
export interface Reader {
  identity: string | undefined
  onFilterError?: ((failure: FilterFailure) => void) | undefined
}

/** A read filter failed on the instance (it is hidden). */
export const FILTER_FAILED = Symbol('filter failed')

const SANDBOX_ERRORS = new Set(['ValidatorError', 'ValidatorTimeoutError', 'ValidatorMemoryError', 'InvalidInstanceError', 'InvalidStringError'])

function report(reader: Reader, failure: FilterFailure): void {
  log.error('the read filter of %s failed on %s, which is hidden: %s: %s', failure.collection, failure.instanceID, failure.error.name, failure.error.message)
  try {
    reader.onFilterError?.(failure)
  } catch (err) {
    log.error('onFilterError threw: %s', (err as Error).message)
  }
}

/** Run the filter; a sandbox failure is reported and returned as its error. */
async function run(sandbox: Sandbox, info: CollectionInfo, reader: Reader, doc: JSONObject): Promise<JSONObject | null | Error> {
  try {
    return await sandbox.filter(info.readFilter, reader.identity, doc)
  } catch (err) {
    const name = (err as Error).name
    if (!SANDBOX_ERRORS.has(name)) throw err
    report(reader, { collection: info.name, instanceID: String(doc._id), error: { name, message: (err as Error).message } })
    return err as Error
  }
}

/** The instance as the read filter shows it to `reader`: the value, null (hidden) or FILTER_FAILED. */
export async function show(sandbox: Sandbox, info: CollectionInfo, reader: Reader, doc: JSONObject): Promise<JSONObject | null | typeof FILTER_FAILED> {
  if (info.readFilter === '') return doc
  const shown = await run(sandbox, info, reader, doc)
  return shown instanceof Error ? FILTER_FAILED : shown
}

/** Like {@link show}, for one instance asked for by ID: a failure is a ReadFilterError. */
export async function showOne(sandbox: Sandbox, info: CollectionInfo, reader: Reader, doc: JSONObject): Promise<JSONObject | null> {
  if (info.readFilter === '') return doc
  const shown = await run(sandbox, info, reader, doc)
  if (!(shown instanceof Error)) return shown
  throw new ReadFilterError(`the read filter of ${info.name} failed on ${String(doc._id)}: ${shown.name}: ${shown.message}`, { cause: shown })
}

/**
 * A member running modified code, for DB tests and benchmarks: it writes records of its own log
 * with any time and any body (what the record layer lets a member sign), to hand to replicas with
 * the fake net's `deliver`. No test framework here: the storage suite and the benchmarks use it.
 */
import type { HLC } from '../../src/core/hlc.js'
import { generateKeyPair, identityToString, type PrivateKey } from '../../src/core/identity.js'
import { logIDFromPublicKey } from '../../src/core/log-id.js'
import type { LogID, ThreadID } from '../../src/core/types.js'
import type { DBRecord } from '../../src/db/index.js'

/** A member's log, written by hand. */
export interface Forger {
  readonly log: LogID
  readonly author: string
  readonly key: PrivateKey
  /** The next record of the forger's log. */
  record(body: unknown, time: HLC): DBRecord
  /** The next record, unreadable (the net could not decrypt or decode it). */
  unreadable(error?: { name: string; message: string }): DBRecord
}

export async function forger(thread: ThreadID, key?: PrivateKey): Promise<Forger> {
  const k = key ?? await generateKeyPair()
  const log = logIDFromPublicKey(k.publicKey)
  const author = identityToString(k.publicKey)
  let counter = 0
  return {
    log,
    author,
    key: k,
    record: (body, time) => ({ thread, log, counter: ++counter, time, author, body }),
    unreadable: (error = { name: 'DecryptionError', message: 'the header does not decrypt with the read key' }) => ({ thread, log, counter: ++counter, error })
  }
}

/** A version 2 body with these ops (given as objects). */
export function body(...ops: object[]): { weftdb: 2; ops: string } {
  return { weftdb: 2, ops: JSON.stringify(ops) }
}

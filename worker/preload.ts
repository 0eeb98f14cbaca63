/**
 * What a peer reads from IndexedDB before anything else (its secrets, its store), started as soon
 * as the worker's script runs rather than when the first tab attaches: a tab names the worker
 * `weft:<name>` (src/client/connect.ts), which is the peer's name, so the worker knows which
 * databases to open while the rest of its code (libp2p, the net, the db) is still loading.
 *
 * The peer takes what was started for its name (once); whatever it does not take is closed.
 */
import { logger } from '../src/core/logger.js'
import { idbStore } from '../src/store/idb.js'
import type { KVStore } from '../src/store/kv.js'
import { loadSecrets, type PeerSecrets } from './keys.js'
import { mark } from './startup.js'

const log = logger('weft:worker:preload')

/** The worker name a tab gives the worker of peer `name`. */
const PREFIX = 'weft:'

export interface Preloaded {
  secrets: Promise<PeerSecrets>
  kv: Promise<KVStore>
}

let started: { name: string; loads: Preloaded } | undefined
/** Handed over (or refused) once: a later start of the peer loads for itself. */
let taken = false

/** The peer's name from a worker's name (`weft:<name>`), if it is one a tab gave. */
export function peerNameOf(workerName: string | undefined): string | undefined {
  return workerName?.startsWith(PREFIX) === true && workerName.length > PREFIX.length ? workerName.slice(PREFIX.length) : undefined
}

/** Start reading the secrets and opening the store of peer `name`, in parallel. */
export function preload(name: string): void {
  if (started !== undefined || taken) return
  const loads: Preloaded = {
    secrets: loadSecrets(name).finally(() => { mark('preload:secrets') }),
    kv: idbStore({ name: `${name}-store` }).finally(() => { mark('preload:store-open') })
  }
  // Observed here too: a load that fails before the peer takes it is no unhandled rejection.
  loads.secrets.catch((err: Error) => { log('preloading the secrets of %s failed: %s', name, err.message) })
  loads.kv.catch((err: Error) => { log('preloading the store of %s failed: %s', name, err.message) })
  started = { name, loads }
}

/**
 * What was preloaded for `name`, handed over once (the caller owns the store from then on); for
 * another name, the preloaded store is closed and nothing is handed over.
 */
export function takePreloaded(name: string): Preloaded | undefined {
  const s = started
  started = undefined
  taken = true
  if (s === undefined) return undefined
  if (s.name === name) return s.loads
  void s.loads.kv.then(async (kv) => { await kv.close() }).catch(() => undefined)
  return undefined
}

/**
 * The worker host (worker/host.ts) and its modules, loaded as chunks apart from the worker's
 * entry, after worker/preload.ts (a small chunk: it starts the peer's IndexedDB reads, which then
 * run while libp2p, the net and the db are fetched and compiled). The entry itself imports
 * nothing heavy, so this starts as soon as the worker runs. Ports that arrive meanwhile are
 * accepted once the host is there.
 *
 * Loading the preload first rather than both at once measured better (2026-11-30, production
 * build, 7 interleaved cold starts each at load 9–10: median 393 ms against 449 ms): chunks
 * loaded together are compiled together, and the reads then started late.
 */
import { logger } from '../src/core/logger.js'
import type { LinkPort } from './host.js'
import { mark } from './startup.js'

const log = logger('weft:worker')

/**
 * Load the host now, and preload the peer named by the worker's name (`weft:<name>`); the
 * function returned accepts a port (at once, or when the host is loaded).
 */
export function loadHost(kind: 'shared-worker' | 'dedicated-worker', workerName: string | undefined): (port: LinkPort) => void {
  // The host loads after the preload chunk (whose reads then run while the host compiles), and
  // loads all the same if that chunk failed (the peer then reads for itself).
  const preloading = import('./preload.js').then(({ peerNameOf, preload }) => {
    const name = peerNameOf(workerName)
    if (name !== undefined) preload(name)
  }, (err: Error) => { log.error('the preload failed to load: %s', err.message) })
  const loading = preloading.then(async () => await Promise.all([import('./host.js'), import('./modules.js')])).then(([{ createWorkerHost }, { workerModules }]) => {
    mark('worker:host-loaded')
    return createWorkerHost({ kind, modules: workerModules() })
  })
  let host: Awaited<typeof loading> | undefined
  loading.then((h) => { host = h }, (err: Error) => { log.error('the worker host failed to load: %s', err.message) })
  return (port) => {
    if (host !== undefined) { host.accept(port); return }
    // A host that failed to load leaves the port unanswered: the tab's attach fails at its
    // deadline (`connectTimeoutMs`), and the error is logged here.
    void loading.then((h) => { h.accept(port) }, () => undefined)
  }
}

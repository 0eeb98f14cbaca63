/**
 * The worker host (worker/host.ts) and its modules, loaded as chunks apart from the worker's
 * entry, together with worker/preload.ts (smaller: it starts the peer's IndexedDB reads while
 * libp2p, the net and the db are still being fetched and compiled). The entry itself imports
 * nothing heavy, so both start loading as soon as the worker runs. Ports that arrive meanwhile
 * are accepted once the host is there.
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
  const preloading = import('./preload.js').then(({ peerNameOf, preload }) => {
    const name = peerNameOf(workerName)
    if (name !== undefined) preload(name)
  })
  const loading = preloading.then(async () => await Promise.all([import('./host.js'), import('./modules.js')])).then(([{ createWorkerHost }, { workerModules }]) => {
    mark('worker:host-loaded')
    return createWorkerHost({ kind, modules: workerModules() })
  })
  let host: Awaited<typeof loading> | undefined
  loading.then((h) => { host = h }, (err: Error) => { log.error('the worker host failed to load: %s', err.message) })
  return (port) => {
    if (host !== undefined) { host.accept(port); return }
    // A host that failed to load leaves the port unanswered: the tab's attach fails at its deadline
    // (a script error also fires the worker's `error` event, which the tab listens to).
    void loading.then((h) => { h.accept(port) }, () => undefined)
  }
}

/// <reference lib="webworker" />
/**
 * The SharedWorker entry: every tab of the origin that connects gets a session on its port
 * (worker/host.ts); the first tab's configuration starts the peer.
 *
 * Kept small on purpose: it starts reading the peer's secrets and opening its store (named by the
 * worker's name, worker/preload.ts) at once, and loads the rest (libp2p, the net, the db) as a
 * separate chunk meanwhile. Tabs that connect before that chunk is in wait in a queue: a port
 * holds its messages until it is started.
 */
import { mark } from './startup.js'
import { loadHost } from './load-host.js'

declare const self: SharedWorkerGlobalScope

const accept = loadHost('shared-worker', self.name)

self.addEventListener('connect', (event: MessageEvent) => {
  const port = event.ports[0]
  if (port != null) accept(port)
})
mark('worker:evaluated')

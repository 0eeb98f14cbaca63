/// <reference lib="webworker" />
/**
 * The SharedWorker entry: every tab of the origin that connects gets a session on its port
 * (worker/host.ts); the first tab's configuration starts the peer.
 */
import { createWorkerHost } from './host.js'
import { workerModules } from './modules.js'

declare const self: SharedWorkerGlobalScope

const host = createWorkerHost({ kind: 'shared-worker', modules: workerModules() })

self.addEventListener('connect', (event: MessageEvent) => {
  const port = event.ports[0]
  if (port != null) host.accept(port)
})

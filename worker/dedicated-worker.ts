/// <reference lib="webworker" />
/**
 * The dedicated Worker entry, for browsers without SharedWorker: the elected tab runs it and posts
 * it one MessagePort per tab (its own, and one per tab it bridges), each served like a
 * SharedWorker connection.
 */
import { createWorkerHost } from './host.js'
import { workerModules } from './modules.js'

declare const self: DedicatedWorkerGlobalScope

const host = createWorkerHost({ kind: 'dedicated-worker', modules: workerModules() })

self.addEventListener('message', (event: MessageEvent) => {
  const data = event.data as { type?: string } | null
  const port = event.ports[0]
  if (data?.type === 'weft:link' && port != null) host.accept(port)
})

/// <reference lib="webworker" />
/**
 * The dedicated Worker entry, for browsers without SharedWorker: the elected tab runs it and posts
 * it one MessagePort per tab (its own, and one per tab it bridges), each served like a
 * SharedWorker connection. Small like the SharedWorker's entry (worker/shared-worker.ts): the
 * peer's secrets and store load while the rest of the code does.
 */
import { mark } from './startup.js'
import { loadHost } from './load-host.js'

declare const self: DedicatedWorkerGlobalScope

const accept = loadHost('dedicated-worker', self.name)

self.addEventListener('message', (event: MessageEvent) => {
  const data = event.data as { type?: string } | null
  const port = event.ports[0]
  if (data?.type === 'weft:link' && port != null) accept(port)
})
mark('worker:evaluated')

/**
 * WebRTC hosting from this tab: every tab that can (it has RTCPeerConnection) queues for the
 * worker's host lock; the holder loads the host (src/platform/rtc-host.browser.ts, a separate
 * chunk) and owns the worker's peer connections until it goes away. `pagehide` says goodbye at
 * once; otherwise the worker learns of the death through the tab's lock.
 */
import type { Link } from './link.js'

export interface HostElection {
  /** This tab hosts WebRTC right now. */
  readonly hosting: boolean
}

export function electRtcHost(link: Link, hostLock: string, tabId: string, signal: AbortSignal): HostElection {
  const state = { hosting: false }
  if (typeof RTCPeerConnection !== 'function' || typeof navigator.locks?.request !== 'function') return state
  void navigator.locks.request(hostLock, { signal }, async () => {
    const { createRtcHost } = await import('../platform/rtc-host.browser.js')
    const host = createRtcHost((m, transfer) => { link.post({ c: 'rtc', m }, transfer) })
    link.onRtc((m) => { host.receive(m as Parameters<typeof host.receive>[0]) })
    link.post({ c: 'rtc', m: { t: 'hello', host: tabId } })
    state.hosting = true
    await new Promise<void>((resolve) => {
      const bye = (): void => { resolve() }
      signal.addEventListener('abort', bye, { once: true })
      globalThis.addEventListener?.('pagehide', bye, { once: true })
    })
    state.hosting = false
    link.post({ c: 'rtc', m: { t: 'bye', host: tabId } })
    host.stop()
  }).catch(() => undefined)
  return state
}

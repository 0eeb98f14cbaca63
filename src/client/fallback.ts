/**
 * Without SharedWorker: one tab of the origin (the owner, elected with navigator.locks) runs the
 * worker code in a dedicated Worker; every other tab reaches it through the owner over a
 * BroadcastChannel (MessagePorts cannot be sent between tabs): the owner gives the worker one
 * MessagePort per tab and relays that port to and from the tab's channel. When the owner closes,
 * its worker dies with it, the next tab in the lock queue becomes owner, and the tabs re-attach.
 */
import type { PortLike } from './link.js'

export interface FallbackInit {
  name: string
  tabId: string
  /** Starts the dedicated Worker (the owner calls it). */
  startWorker: () => Worker
  /** Ends the election (the client closed). */
  signal: AbortSignal
}

export interface Fallback {
  /** A port to the current worker: local if this tab owns it, bridged otherwise. */
  port(options: { signal?: AbortSignal }): Promise<{ port: PortLike; owner: boolean }>
  readonly owner: boolean
}

type Control = { t: 'owner' } | { t: 'attach'; tab: string } | { t: 'attached'; tab: string }

/** A PortLike over a BroadcastChannel: we send as `side`, and hear only the other side. */
function channelPort(name: string, side: 'tab' | 'worker'): PortLike {
  const bc = new BroadcastChannel(name)
  const listeners = new Map<(ev: MessageEvent) => void, (ev: MessageEvent) => void>()
  return {
    postMessage: (m: unknown) => { bc.postMessage({ from: side, m }) },
    addEventListener: (_t, fn) => {
      const wrapped = (ev: MessageEvent): void => {
        const d = ev.data as { from?: string; m?: unknown } | null
        if (d?.from != null && d.from !== side) fn({ data: d.m } as MessageEvent)
      }
      listeners.set(fn, wrapped)
      bc.addEventListener('message', wrapped)
    },
    removeEventListener: (_t, fn) => {
      const w = listeners.get(fn)
      if (w != null) bc.removeEventListener('message', w)
      listeners.delete(fn)
    },
    close: () => { bc.close() }
  }
}

export function createFallback(init: FallbackInit): Fallback {
  const control = new BroadcastChannel(`weft:${init.name}:fallback`)
  let worker: Worker | undefined
  let ownerWaiters: Array<() => void> = []
  const bridged = new Map<string, { tabSide: PortLike; port: MessagePort }>()

  function bridge(tab: string): void {
    if (worker == null) return
    bridged.get(tab)?.port.close()
    const { port1, port2 } = new MessageChannel()
    worker.postMessage({ type: 'weft:link' }, [port2])
    const tabSide = channelPort(`weft:${init.name}:link:${tab}`, 'worker')
    port1.onmessage = (ev) => { tabSide.postMessage(ev.data) }
    tabSide.addEventListener('message', (ev) => { port1.postMessage(ev.data) })
    bridged.set(tab, { tabSide, port: port1 })
    control.postMessage({ t: 'attached', tab } satisfies Control)
  }

  control.onmessage = (ev: MessageEvent<Control>) => {
    const msg = ev.data
    if (msg.t === 'attach' && worker != null) bridge(msg.tab)
    else if (msg.t === 'owner') for (const w of ownerWaiters.splice(0)) w()
  }

  // Queue for ownership at once; whoever holds it runs the worker until its tab goes away.
  void navigator.locks.request(`weft:${init.name}:fallback-owner`, { signal: init.signal }, async () => {
    worker = init.startWorker()
    control.postMessage({ t: 'owner' } satisfies Control)
    for (const w of ownerWaiters.splice(0)) w()
    await new Promise<void>((resolve) => { init.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
    worker.terminate()
    worker = undefined
  }).catch(() => undefined)
  init.signal.addEventListener('abort', () => {
    control.close()
    for (const b of bridged.values()) { b.port.close(); b.tabSide.close?.() }
  }, { once: true })

  return {
    get owner() { return worker != null },
    async port(options) {
      if (worker != null) {
        const { port1, port2 } = new MessageChannel()
        worker.postMessage({ type: 'weft:link' }, [port2])
        return { port: port1, owner: true }
      }
      const port = channelPort(`weft:${init.name}:link:${init.tabId}`, 'tab')
      // Ask the owner to bridge us; ask again whenever a (new) owner announces itself.
      const attached = new Promise<void>((resolve, reject) => {
        const onMsg = (ev: MessageEvent<Control>): void => {
          if (ev.data.t === 'attached' && ev.data.tab === init.tabId) { done(); resolve() }
        }
        const ask = (): void => {
          if (worker != null) { done(); reject(new Error('became owner')); return }
          control.postMessage({ t: 'attach', tab: init.tabId } satisfies Control)
          ownerWaiters.push(ask)
        }
        const onAbort = (): void => { done(); reject(options.signal?.reason as Error) }
        const done = (): void => {
          control.removeEventListener('message', onMsg)
          options.signal?.removeEventListener('abort', onAbort)
          ownerWaiters = ownerWaiters.filter((w) => w !== ask)
        }
        control.addEventListener('message', onMsg)
        options.signal?.addEventListener('abort', onAbort, { once: true })
        ask()
      })
      try {
        await attached
      } catch (err) {
        port.close?.()
        if (worker != null) return await this.port(options)
        throw err
      }
      return { port, owner: false }
    }
  }
}

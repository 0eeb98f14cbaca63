/**
 * A tab's link to the worker, multiplexed by channel (protocol.ts): Comlink gets a virtual
 * endpoint carrying only `rpc` messages, subscriptions, the WebRTC bridge and worker logs get
 * their own handlers. The underlying port is a MessagePort, or a BroadcastChannel bridge in the
 * fallback (which carries no transfer lists, so nothing here requires them).
 */
import type { Endpoint } from 'comlink'
import type { LinkMessage, LogMessage, SubMessage } from './protocol.js'

export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void
  removeEventListener(type: 'message', listener: (ev: MessageEvent) => void): void
  start?(): void
  close?(): void
}

export interface Link {
  readonly rpc: Endpoint
  post(msg: LinkMessage, transfer?: Transferable[]): void
  onSub(fn: (msg: SubMessage) => void): void
  onRtc(fn: (msg: unknown) => void): void
  onLog(fn: (msg: LogMessage) => void): void
  close(): void
}

export function createLink(port: PortLike): Link {
  const rpcListeners = new Set<(ev: MessageEvent) => void>()
  let sub: ((msg: SubMessage) => void) | undefined
  let rtc: ((msg: unknown) => void) | undefined
  let logs: ((msg: LogMessage) => void) | undefined
  let closed = false

  const onMessage = (ev: MessageEvent): void => {
    const msg = ev.data as LinkMessage | null
    if (msg == null || typeof msg !== 'object') return
    if (msg.c === 'rpc') for (const fn of rpcListeners) fn({ data: msg.m } as MessageEvent)
    else if (msg.c === 'sub') sub?.(msg)
    else if (msg.c === 'rtc') rtc?.(msg.m)
    else if (msg.c === 'log') logs?.(msg)
  }
  port.addEventListener('message', onMessage)
  port.start?.()

  const post = (msg: LinkMessage, transfer?: Transferable[]): void => {
    if (!closed) port.postMessage(msg, transfer ?? [])
  }
  return {
    rpc: {
      postMessage: (m: unknown) => { post({ c: 'rpc', m }) },
      addEventListener: (_t: string, fn: EventListenerOrEventListenerObject) => { rpcListeners.add(fn as (ev: MessageEvent) => void) },
      removeEventListener: (_t: string, fn: EventListenerOrEventListenerObject) => { rpcListeners.delete(fn as (ev: MessageEvent) => void) }
    },
    post,
    onSub: (fn) => { sub = fn },
    onRtc: (fn) => { rtc = fn },
    onLog: (fn) => { logs = fn },
    close() {
      if (closed) return
      closed = true
      port.removeEventListener('message', onMessage)
      port.close?.()
    }
  }
}

/**
 * The one place where Node 20 gets what libp2p 3 and the rest of Weft expect from Node 22+.
 * Imported first by every Node entry point (relay, Node embedding, tests, benchmarks).
 * Each polyfill installs only when the platform lacks the feature.
 */
import { WebSocket as NodeWebSocket } from 'ws'

interface WithResolvers {
  withResolvers?: <T>() => { promise: Promise<T>; resolve: (v: T | PromiseLike<T>) => void; reject: (e?: unknown) => void }
}

const P = Promise as unknown as WithResolvers
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T>() {
    let resolve!: (v: T | PromiseLike<T>) => void
    let reject!: (e?: unknown) => void
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const g = globalThis as { WebSocket?: unknown }
if (g.WebSocket === undefined) {
  // Node 20 has no global WebSocket; dialling ws:// from Node needs one.
  g.WebSocket = NodeWebSocket
}

/**
 * `ws` sockets are EventEmitters: an 'error' event nobody listens to (ECONNREFUSED or ECONNRESET
 * after an aborted dial, an invalid frame from a hostile peer) ends the process. Our install
 * patches @libp2p/websockets to listen (patches/), but a program that installs the published
 * packages gets the transport unpatched: here every `ws` socket of the process gets an error that
 * nobody hears logged instead of thrown. The socket still closes ('close' follows 'error').
 */
const GUARDED = Symbol.for('weft.ws.unheard-error-guard')
const proto = NodeWebSocket.prototype as unknown as Record<symbol, boolean> & { emit: (event: string | symbol, ...args: unknown[]) => boolean }
if (proto[GUARDED] !== true) {
  proto[GUARDED] = true
  const emit = proto.emit
  proto.emit = function guardedEmit (this: NodeWebSocket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && this.listenerCount('error') === 0) {
      const err = args[0] as { message?: string } | undefined
      process.emitWarning(`WebSocket error nobody listened to: ${err?.message ?? String(err)}`, { code: 'WEFT_WS_UNHEARD_ERROR' })
      return false
    }
    return emit.call(this, event, ...args)
  }
}

export {}

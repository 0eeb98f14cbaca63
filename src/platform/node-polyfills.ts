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

export {}

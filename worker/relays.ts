/**
 * Keeps the peer connected to its relays: dials each at start, re-dials with exponential backoff
 * (0.5 s doubling to 5 s, ±30 % jitter) when the connection drops or a dial fails, and at once
 * when the platform says the network is back (`online`) or a tab asks (`kick`). The reservation
 * itself is taken by the circuit-relay transport (we listen on /p2p-circuit) once the relay is
 * connected; `onReserved` tells when a reservation is (again) held, which is when other browsers
 * can reach us again.
 *
 * The backoff is short on purpose: a dial to a relay that is down fails at once (refused, or no
 * network), so a retry every few seconds costs nearly nothing, and a browser whose network came
 * back without the platform noticing (a Wi-Fi that recovers, a proxy, a relay restarted) is back
 * within seconds. The jitter spreads the browsers of a relay that restarts.
 */
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { logger } from '../src/core/logger.js'

const log = logger('weft:worker:relays')

export interface RelayState {
  addr: string
  peer: string
  connected: boolean
  reserved: boolean
}

export interface RelayKeeper {
  /** Dial now every relay that is not connected (network back, tab asked). */
  kick(): void
  add(addrs: string[]): void
  states(): RelayState[]
  /** Resolves when a reservation on some relay is held (our addresses include a circuit). */
  reserved(options?: { signal?: AbortSignal }): Promise<void>
  /** Called with the relay's peer ID each time a reservation on it is newly held. */
  onReserved(fn: (relayPeer: string) => void): () => void
  stop(): void
}

export interface RelayKeeperInit {
  /** First re-dial delay after a drop or a failed dial (ms). @default 500 */
  minBackoffMs?: number
  /** Longest re-dial delay (ms). @default 5000 */
  maxBackoffMs?: number
  /** Jitter as a fraction of the delay. @default 0.3 */
  jitter?: number
}

function peerOf(addr: string): string {
  const at = addr.lastIndexOf('/p2p/')
  return at >= 0 ? addr.slice(at + 5) : ''
}

export function keepRelays(libp2p: Libp2p, relays: string[], init: RelayKeeperInit = {}): RelayKeeper {
  const min = init.minBackoffMs ?? 500
  const max = init.maxBackoffMs ?? 5000
  const jitter = init.jitter ?? 0.3
  const spread = (ms: number): number => Math.round(ms * (1 - jitter + 2 * jitter * Math.random()))
  const reservedListeners = new Set<(relayPeer: string) => void>()
  /** Relays we held a reservation on when last looked (to tell when one is newly held). */
  const held = new Set<string>()
  const entries = new Map<string, { addr: string; peer: string; backoff: number; timer?: ReturnType<typeof setTimeout>; dialing: boolean }>()
  const waiters = new Set<() => void>()
  let stopped = false

  const connected = (peer: string): boolean => libp2p.getConnections().some((c) => c.remotePeer.toString() === peer && c.status === 'open')
  const reservedOn = (peer: string): boolean => libp2p.getMultiaddrs().some((a) => a.toString().includes(`/p2p/${peer}/p2p-circuit`))
  const anyReserved = (): boolean => [...entries.values()].some((e) => reservedOn(e.peer))

  function schedule(e: { addr: string; peer: string; backoff: number; timer?: ReturnType<typeof setTimeout>; dialing: boolean }, delay: number): void {
    if (stopped) return
    clearTimeout(e.timer)
    e.timer = setTimeout(() => { dial(e) }, spread(delay))
  }

  function dial(e: { addr: string; peer: string; backoff: number; timer?: ReturnType<typeof setTimeout>; dialing: boolean }): void {
    if (stopped || e.dialing || connected(e.peer)) return
    e.dialing = true
    libp2p.dial(multiaddr(e.addr), { signal: AbortSignal.timeout(10_000) }).then(() => {
      log('connected to relay %s', e.peer)
      e.backoff = min
    }, (err: Error) => {
      log('relay %s dial failed: %s; retry in %d ms', e.peer, err.message, e.backoff)
      schedule(e, e.backoff)
      e.backoff = Math.min(max, e.backoff * 2)
    }).finally(() => { e.dialing = false })
  }

  const onClose = (evt: CustomEvent<{ remotePeer: { toString(): string } }>): void => {
    const peer = evt.detail.remotePeer.toString()
    for (const e of entries.values()) {
      if (e.peer === peer && !connected(peer)) schedule(e, e.backoff)
    }
  }
  const onUpdate = (): void => {
    for (const e of entries.values()) {
      const now = reservedOn(e.peer)
      if (now && !held.has(e.peer)) {
        held.add(e.peer)
        log('reservation held on relay %s', e.peer)
        for (const fn of [...reservedListeners]) fn(e.peer)
      } else if (!now) {
        held.delete(e.peer)
      }
    }
    if (!anyReserved()) return
    for (const w of [...waiters]) w()
  }
  const onOnline = (): void => { keeper.kick() }

  libp2p.addEventListener('connection:close', onClose as unknown as EventListener)
  libp2p.addEventListener('self:peer:update', onUpdate)
  globalThis.addEventListener?.('online', onOnline)

  const keeper: RelayKeeper = {
    kick() {
      for (const e of entries.values()) {
        e.backoff = min
        clearTimeout(e.timer)
        dial(e)
      }
    },
    add(addrs) {
      for (const addr of addrs) {
        if (entries.has(addr)) continue
        const e = { addr, peer: peerOf(addr), backoff: min, dialing: false }
        entries.set(addr, e)
        dial(e)
      }
    },
    states() {
      return [...entries.values()].map((e) => ({ addr: e.addr, peer: e.peer, connected: connected(e.peer), reserved: reservedOn(e.peer) }))
    },
    async reserved(options = {}) {
      if (anyReserved()) return
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => { if (anyReserved()) done() }, 100)
        const done = (): void => {
          clearInterval(timer)
          waiters.delete(done)
          options.signal?.removeEventListener('abort', abort)
          resolve()
        }
        const abort = (): void => {
          clearInterval(timer)
          waiters.delete(done)
          reject(options.signal?.reason as Error)
        }
        waiters.add(done)
        options.signal?.addEventListener('abort', abort, { once: true })
      })
    },
    onReserved(fn) {
      reservedListeners.add(fn)
      return () => { reservedListeners.delete(fn) }
    },
    stop() {
      stopped = true
      reservedListeners.clear()
      for (const e of entries.values()) clearTimeout(e.timer)
      libp2p.removeEventListener('connection:close', onClose as unknown as EventListener)
      libp2p.removeEventListener('self:peer:update', onUpdate)
      globalThis.removeEventListener?.('online', onOnline)
    }
  }
  keeper.add(relays)
  return keeper
}

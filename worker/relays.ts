/**
 * Keeps the peer connected to its relays: dials each at start, re-dials with exponential backoff
 * (1 s doubling to 30 s) when the connection drops or a dial fails, and at once when the platform
 * says the network is back (`online`) or a tab asks (`kick`). The reservation itself is taken by
 * the circuit-relay transport (we listen on /p2p-circuit) once the relay is connected.
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
  stop(): void
}

export interface RelayKeeperInit {
  minBackoffMs?: number
  maxBackoffMs?: number
}

function peerOf(addr: string): string {
  const at = addr.lastIndexOf('/p2p/')
  return at >= 0 ? addr.slice(at + 5) : ''
}

export function keepRelays(libp2p: Libp2p, relays: string[], init: RelayKeeperInit = {}): RelayKeeper {
  const min = init.minBackoffMs ?? 1000
  const max = init.maxBackoffMs ?? 30_000
  const entries = new Map<string, { addr: string; peer: string; backoff: number; timer?: ReturnType<typeof setTimeout>; dialing: boolean }>()
  const waiters = new Set<() => void>()
  let stopped = false

  const connected = (peer: string): boolean => libp2p.getConnections().some((c) => c.remotePeer.toString() === peer && c.status === 'open')
  const reservedOn = (peer: string): boolean => libp2p.getMultiaddrs().some((a) => a.toString().includes(`/p2p/${peer}/p2p-circuit`))
  const anyReserved = (): boolean => [...entries.values()].some((e) => reservedOn(e.peer))

  function schedule(e: { addr: string; peer: string; backoff: number; timer?: ReturnType<typeof setTimeout>; dialing: boolean }, delay: number): void {
    if (stopped) return
    clearTimeout(e.timer)
    e.timer = setTimeout(() => { dial(e) }, delay)
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
    stop() {
      stopped = true
      for (const e of entries.values()) clearTimeout(e.timer)
      libp2p.removeEventListener('connection:close', onClose as unknown as EventListener)
      libp2p.removeEventListener('self:peer:update', onUpdate)
      globalThis.removeEventListener?.('online', onOnline)
    }
  }
  keeper.add(relays)
  return keeper
}

/**
 * Finds the thread peers again as soon as they can be found, so that browsers that met once meet
 * again within seconds of a reload, a worker restart or the network coming back — without
 * waiting for a write or for the sync interval, and without depending on the addresses their
 * logs recorded when they were created.
 *
 * Every browser holds a reservation on the same relays, so a peer is reachable at
 * `<relay>/p2p-circuit/p2p/<peer>` whatever addresses its logs carry. This component dials the
 * thread peers (relays aside) that are not connected through that address:
 *
 * - all of them, each time a reservation on a relay is (again) held — after our start, after the
 *   relay or the network came back — and when the platform says the network is back;
 * - one of them, when its last connection closes: it may be reloading, so it is re-dialled after
 *   `minDelayMs`, then with a doubling delay up to `maxDelayMs`, for `giveUpMs` at most (a peer
 *   that went away for good is left to the net's own schedule and to the next "all").
 *
 * Once a relayed connection is up, the net syncs the pair (it syncs on connect) and the WebRTC
 * upgrader (rtc/upgrade.ts) goes direct; the remote, seeing us arrive through the relay, drops a
 * stale WebRTC connection to our previous self (see there).
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { logger } from '../src/core/logger.js'
import type { ThreadID } from '../src/core/index.js'
import type { Net } from '../src/net/index.js'
import type { RelayKeeper } from './relays.js'

const log = logger('weft:worker:remeet')

export interface RemeetInit {
  /** First re-dial of a peer whose last connection closed (ms). @default 500 */
  minDelayMs?: number
  /** Longest delay between re-dials of one peer (ms). @default 15000 */
  maxDelayMs?: number
  /** Stop re-dialling a peer this long after it went away (ms). @default 120000 */
  giveUpMs?: number
  /** Deadline of one dial through a relay (ms). @default 10000 */
  dialTimeoutMs?: number
  /** Dials in flight at once. @default 4 */
  concurrency?: number
  /** Most peers dialled by one "all" round (the most recently seen first). @default 64 */
  maxPeers?: number
}

export interface Remeeter {
  /** Dial every thread peer that is not connected, now. */
  meetAll(reason: string): void
  stop(): void
  readonly stats: { rounds: number; dials: number; connected: number; failed: number }
}

export interface RemeetComponents {
  libp2p: Libp2p
  net: Pick<Net, 'listThreads' | 'syncStatus'>
  relays: RelayKeeper
  relayPeers: () => ReadonlySet<string>
}

interface Chase { since: number; delay: number; timer?: ReturnType<typeof setTimeout> }

export function keepMeeting(components: RemeetComponents, init: RemeetInit = {}): Remeeter {
  const { libp2p, net, relays } = components
  const minDelay = init.minDelayMs ?? 500
  const maxDelay = init.maxDelayMs ?? 15_000
  const giveUp = init.giveUpMs ?? 120_000
  const concurrency = init.concurrency ?? 4
  const self = libp2p.peerId.toString()
  /** Thread peers, most recently seen last (a Map keeps insertion order). */
  const known = new Map<string, number>()
  const chasing = new Map<string, Chase>()
  const dialling = new Set<string>()
  const queue: string[] = []
  let active = 0
  let stopped = false
  let refreshing: Promise<void> | undefined
  const stats = { rounds: 0, dials: 0, connected: 0, failed: 0 }

  const connected = (peer: string): boolean =>
    libp2p.getConnections().some((c) => c.status === 'open' && c.remotePeer.toString() === peer)

  function seen(peer: string): void {
    known.delete(peer)
    known.set(peer, Date.now())
  }

  /** The peers of every thread we hold, relays aside. */
  async function refresh(): Promise<void> {
    const relayPeers = components.relayPeers()
    const threads: ThreadID[] = await net.listThreads()
    for (const id of threads) {
      if (stopped) return
      const status = await net.syncStatus(id).catch(() => undefined)
      for (const p of status?.peers ?? []) {
        if (p.peer !== self && !relayPeers.has(p.peer) && !known.has(p.peer)) known.set(p.peer, 0)
      }
    }
  }

  /** Refresh the list of thread peers (one refresh at a time; callers share it). */
  async function listPeers(): Promise<void> {
    refreshing ??= refresh().catch((err: Error) => { log('listing thread peers failed: %s', err.message) }).finally(() => { refreshing = undefined })
    await refreshing
  }

  function pump(): void {
    while (!stopped && active < concurrency && queue.length > 0) {
      const peer = queue.shift()!
      if (dialling.has(peer) || connected(peer)) continue
      const addrs = relays.states().filter((r) => r.connected).map((r) => `${r.addr}/p2p-circuit/p2p/${peer}`)
      if (addrs.length === 0) continue
      active++
      dialling.add(peer)
      stats.dials++
      void dialThrough(peer, addrs).finally(() => {
        active--
        dialling.delete(peer)
        pump()
      })
    }
  }

  async function dialThrough(peer: string, addrs: string[]): Promise<void> {
    for (const addr of addrs) {
      if (stopped || connected(peer)) return
      try {
        await libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(init.dialTimeoutMs ?? 10_000) })
        stats.connected++
        log('met %s again through %s', peer, addr)
        return
      } catch (err) {
        log('could not meet %s through %s: %s', peer, addr, (err as Error).message)
      }
    }
    stats.failed++
  }

  function enqueue(peers: string[]): void {
    for (const p of peers) if (!queue.includes(p)) queue.push(p)
    pump()
  }

  const remeeter: Remeeter = {
    stats,
    meetAll(reason) {
      if (stopped) return
      stats.rounds++
      void listPeers().then(() => {
        const peers = [...known.keys()].reverse().filter((p) => !connected(p)).slice(0, init.maxPeers ?? 64)
        if (peers.length > 0) log('meeting %d thread peers (%s)', peers.length, reason)
        enqueue(peers)
      })
    },
    stop() {
      stopped = true
      queue.length = 0
      for (const c of chasing.values()) clearTimeout(c.timer)
      chasing.clear()
      unReserved()
      libp2p.removeEventListener('peer:connect', onConnect)
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      globalThis.removeEventListener?.('online', onOnline)
    }
  }

  /** Re-dial a peer that went away, with a growing delay, until it is back or we give up. */
  function chase(peer: string): void {
    const c = chasing.get(peer)
    if (c == null || stopped) return
    clearTimeout(c.timer)
    c.timer = setTimeout(() => {
      if (stopped || connected(peer)) { chasing.delete(peer); return }
      if (Date.now() - c.since > giveUp) { chasing.delete(peer); return }
      enqueue([peer])
      c.delay = Math.min(maxDelay, c.delay * 2)
      chase(peer)
    }, c.delay)
  }

  const onConnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    const c = chasing.get(peer)
    if (c != null) { clearTimeout(c.timer); chasing.delete(peer) }
    if (known.has(peer)) seen(peer)
  }
  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    if (stopped || chasing.has(peer) || components.relayPeers().has(peer)) return
    const start = (): void => {
      if (stopped || chasing.has(peer) || !known.has(peer) || connected(peer)) return
      chasing.set(peer, { since: Date.now(), delay: minDelay })
      chase(peer)
    }
    if (known.has(peer)) { start(); return }
    // A peer we have not listed yet (it joined since): look it up among the thread peers.
    void listPeers().then(start)
  }
  const onOnline = (): void => { remeeter.meetAll('the network is back') }
  const unReserved = relays.onReserved(() => { remeeter.meetAll('relay reservation held') })
  libp2p.addEventListener('peer:connect', onConnect)
  libp2p.addEventListener('peer:disconnect', onDisconnect)
  globalThis.addEventListener?.('online', onOnline)
  return remeeter
}

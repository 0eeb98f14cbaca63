/**
 * Sessions by peer: one long-lived session per peer pair carries every request both ways. Either
 * side may open one; when both do (or a better path appears) each side keeps the same one by one
 * rule — a direct session before a relayed one, then the one opened by the peer whose ID sorts
 * first (as text), then the newer — and stops sending new requests on the others ("draining").
 * The side that opened a draining session closes it once it has been idle for `drainIdleMs`.
 * A request that needs a session and finds none opens one (dialling the peer); sessions from
 * banned peers and throttled IPs are refused before any frame is read.
 *
 * Dials wait in a queue of their own, at most `maxDials` at once, peers we reached before (and
 * explicit calls) ahead of peers never reached: addresses anyone may announce cannot keep us from
 * dialling the peers we know.
 */
import type { Logger } from '../core/logger.js'
import { describeError, PeerBannedError, PeerUnreachableError, SessionClosedError } from './errors.js'
import type { InvalidMessageError } from './errors.js'
import type { Request } from './messages.js'
import type { Penalties } from './penalties.js'
import { createSession, type Responder, type Session, type SessionLimits } from './session.js'
import { deadline, onAbort, type Timers, type TimerHandle } from './timers.js'
import type { Channel, Transport } from './transport.js'

export interface SessionManagerInit {
  transport: Transport
  timers: Timers
  penalties: Penalties
  log: Logger
  limits: SessionLimits
  /** Deadline to open a session (dial included). */
  openTimeoutMs: number
  /** A draining session we opened is closed after this long without traffic. @default 2000 */
  drainIdleMs?: number
  /** Sessions one peer may hold open with us at once; more are refused. @default 4 */
  maxSessionsPerPeer?: number
  /** The wait before dialling a peer again after `failures` failed dials in a row. */
  dialBackoff(failures: number): number
  /** Dials in flight at once. @default 8 */
  maxDials?: number
  serve(session: Session, req: Request, responder: Responder): Promise<void>
  /** The peer sent provably malformed data on a session. */
  onViolation(session: Session, err: InvalidMessageError): void
  /** A session opened (either side). */
  onOpen?(session: Session): void
}

export interface SessionManager {
  /**
   * The session to send to `peer` on: the preferred open one, or a new one (dialling). While the
   * peer's dial backoff runs this fails at once with the last dial's `PeerUnreachableError`,
   * unless `force` (an explicit call by the application) asks to dial anyway.
   */
  get(peer: string, options?: { signal?: AbortSignal; force?: boolean }): Promise<Session>
  /** When a dial to `peer` may be tried again (0: now). */
  nextDialAt(peer: string): number
  /** Whether we had a session with `peer` (since this process started). */
  reached(peer: string): boolean
  /** Forget every dial backoff (we are back online, or starting). */
  resetDials(): void
  /** The preferred open session to `peer`, if any (no dialling). */
  current(peer: string): Session | undefined
  /** Take a channel the peer opened. */
  accept(channel: Channel): void
  /** A connection to the peer opened: move to it if it is better than the session's path. */
  connected(peer: string): void
  /** Abort every session (stop). */
  closeAll(err: Error): void
  readonly opened: number
}

function rank(s: Session, self: string): [number, number, number] {
  const opener = s.direction === 'outbound' ? self : s.peer
  const other = s.direction === 'outbound' ? s.peer : self
  return [s.via === 'direct' ? 0 : 1, opener < other ? 0 : 1, -s.openedAt]
}

function better(a: Session, b: Session, self: string): boolean {
  const ra = rank(a, self)
  const rb = rank(b, self)
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return ra[i]! < rb[i]!
  return false
}

export function createSessionManager(init: SessionManagerInit): SessionManager {
  const { transport, timers, penalties, log } = init
  const self = transport.peerId
  const drainIdleMs = init.drainIdleMs ?? 2000
  const maxPerPeer = init.maxSessionsPerPeer ?? 4
  const byPeer = new Map<string, Session[]>()
  const opening = new Map<string, Promise<Session>>()
  const drainTimers = new Map<Session, TimerHandle>()
  /** Dials that failed, per peer: one dead peer shared by many threads is dialled once per backoff. */
  const dials = new Map<string, { failures: number; nextAt: number; error: PeerUnreachableError }>()
  /** Peers we had a session with (the most recent 10,000). */
  const reached = new Set<string>()
  const maxDials = init.maxDials ?? 8
  let dialling = 0
  /** Dials waiting for a slot: peers we know first. */
  const waiting: { known: Array<() => void>; fresh: Array<() => void> } = { known: [], fresh: [] }
  let opened = 0

  function remember(peer: string): void {
    reached.delete(peer)
    reached.add(peer)
    if (reached.size > 10_000) reached.delete(reached.values().next().value!)
  }

  /** Wait for a dial slot (unless connected already: no dial then); returns its release. */
  async function dialSlot(peer: string, known: boolean, signal?: AbortSignal): Promise<() => void> {
    if (transport.connection(peer).connected) return () => {}
    if (dialling >= maxDials) {
      await new Promise<void>((resolve, reject) => {
        const queue = known ? waiting.known : waiting.fresh
        let unwatch = (): void => {}
        const go = (): void => { unwatch(); resolve() }
        queue.push(go)
        if (signal != null) {
          unwatch = onAbort(signal, () => {
            const i = queue.indexOf(go)
            if (i >= 0) queue.splice(i, 1)
            reject(signal.reason as Error)
          })
        }
      })
    } else {
      dialling++
    }
    let released = false
    return () => {
      if (released) return
      released = true
      const next = waiting.known.shift() ?? waiting.fresh.shift()
      if (next != null) next()
      else dialling--
    }
  }

  function preferred(peer: string): Session | undefined {
    let best: Session | undefined
    for (const s of byPeer.get(peer) ?? []) {
      if (s.closed) continue
      if (best == null || better(s, best, self)) best = s
    }
    return best
  }

  function rebalance(peer: string): void {
    const best = preferred(peer)
    for (const s of byPeer.get(peer) ?? []) {
      const draining = s !== best
      if (draining && !s.draining && s.direction === 'outbound') watchDrain(s)
      s.draining = draining
    }
  }

  /** Close a draining session of ours once it has been idle long enough. */
  function watchDrain(s: Session): void {
    const check = (): void => {
      drainTimers.delete(s)
      if (s.closed || !s.draining) return
      const idle = timers.now() - s.lastActivity
      if (s.busy === 0 && idle >= drainIdleMs) {
        log('closing drained session with %s', s.peer)
        s.close()
        return
      }
      drainTimers.set(s, timers.setTimeout(check, Math.max(50, drainIdleMs - idle)))
    }
    drainTimers.set(s, timers.setTimeout(check, drainIdleMs))
  }

  function add(channel: Channel): Session {
    const peer = channel.peer
    const session: Session = createSession({
      channel,
      timers,
      log,
      limits: init.limits,
      serve: async (req, responder) => { await init.serve(session, req, responder) },
      onViolation: (err) => { init.onViolation(session, err) },
      onClose: (err) => {
        const list = (byPeer.get(peer) ?? []).filter((s) => s !== session)
        if (list.length === 0) byPeer.delete(peer)
        else byPeer.set(peer, list)
        const t = drainTimers.get(session)
        if (t !== undefined) timers.clearTimeout(t)
        drainTimers.delete(session)
        if (err != null) log('session with %s ended: %s', peer, describeError(err))
        rebalance(peer)
      }
    })
    byPeer.set(peer, [...(byPeer.get(peer) ?? []), session])
    remember(peer)
    opened++
    rebalance(peer)
    init.onOpen?.(session)
    return session
  }

  async function open(peer: string, signal?: AbortSignal, force = false): Promise<Session> {
    if (penalties.isBanned(peer)) throw new PeerBannedError(`${peer} is banned for a while after sending forged or malformed data`)
    const release = await dialSlot(peer, force || reached.has(peer), signal)
    const limit = deadline(timers, init.openTimeoutMs, `opening a session with ${peer}`, signal)
    try {
      const channel = await transport.open(peer, { signal: limit.signal })
      if (limit.signal.aborted) {
        channel.abort(limit.signal.reason as Error)
        throw limit.signal.reason as Error
      }
      dials.delete(peer)
      return add(channel)
    } catch (err) {
      release()
      if ((err as Error).name === 'AbortError' || err instanceof PeerBannedError) throw err
      const unreachable = err instanceof PeerUnreachableError
        ? err
        : new PeerUnreachableError(`could not open a session with ${peer}: ${describeError(err)}`, { cause: err })
      const d = dials.get(peer) ?? { failures: 0, nextAt: 0, error: unreachable }
      d.failures++
      d.nextAt = timers.now() + init.dialBackoff(d.failures)
      d.error = unreachable
      dials.set(peer, d)
      throw unreachable
    } finally {
      release()
      limit.clear()
    }
  }

  return {
    get opened() { return opened },

    async get(peer, options = {}) {
      const current = preferred(peer)
      if (current != null) return current
      const backoff = dials.get(peer)
      if (options.force !== true && backoff != null && backoff.nextAt > timers.now() && !opening.has(peer)) {
        throw new PeerUnreachableError(`${backoff.error.message} (next try in ${Math.ceil((backoff.nextAt - timers.now()) / 1000)} s)`, { cause: backoff.error })
      }
      let pending = opening.get(peer)
      if (pending == null) {
        pending = open(peer, undefined, options.force === true)
        opening.set(peer, pending)
        const done = (): void => { if (opening.get(peer) === pending) opening.delete(peer) }
        pending.then(done, done)
      }
      if (options.signal == null) return await pending
      const signal = options.signal
      signal.throwIfAborted()
      return await new Promise<Session>((resolve, reject) => {
        // Many requests may wait on one dial with the net's long-lived signal: one listener for all.
        const unwatch = onAbort(signal, () => { reject(signal.reason as Error) })
        pending.then(resolve, reject).finally(unwatch)
      })
    },

    current: preferred,

    nextDialAt: (peer) => dials.get(peer)?.nextAt ?? 0,

    reached: (peer) => reached.has(peer),

    resetDials() { dials.clear() },

    accept(channel) {
      const verdict = penalties.admit(channel.peer, channel.remoteAddr)
      if (!verdict.ok) {
        log('refusing a session from %s: %s', channel.peer, verdict.reason)
        channel.abort(new PeerBannedError(verdict.reason))
        return
      }
      if ((byPeer.get(channel.peer)?.length ?? 0) >= maxPerPeer) {
        log('refusing a session from %s: it holds %d already', channel.peer, maxPerPeer)
        channel.abort(new SessionClosedError(`${channel.peer} holds ${maxPerPeer} sessions already`))
        return
      }
      add(channel)
    },

    connected(peer) {
      dials.delete(peer)
      const current = preferred(peer)
      if (current == null || current.via === 'direct' || transport.connection(peer).via !== 'direct') return
      if (opening.has(peer)) return
      const p = open(peer)
      opening.set(peer, p)
      p.then(() => undefined, (err: Error) => { log('moving %s to a direct session failed: %s', peer, err.message) })
        .finally(() => { if (opening.get(peer) === p) opening.delete(peer) })
    },

    closeAll(err) {
      for (const list of [...byPeer.values()]) for (const s of list) s.abort(err)
      byPeer.clear()
      for (const t of drainTimers.values()) timers.clearTimeout(t)
      drainTimers.clear()
    }
  }
}

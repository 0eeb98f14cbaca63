/**
 * An in-memory network on virtual time implementing the net layer's transport seam. Nodes are
 * online or not; a partition splits them into groups that cannot reach each other. Connections
 * carry channels whose frames arrive in order after a random latency; on a lossy network a frame
 * may vanish silently (the protocol must recover by its deadlines); a connection may be cut at
 * any moment, failing everything on it at both ends. A partition blackholes frames between groups
 * and cuts their connections after a while, as TCP would. Dialling needs an address the node has
 * been told (like libp2p's address book, lost when the node restarts) and fails after a round trip
 * (refused) or a connect timeout (partitioned).
 */
import { PeerUnreachableError, SessionClosedError } from '../../src/net/errors.js'
import type { Channel, ChannelHandlers, ConnectionFacts, Transport, TransportEvents } from '../../src/net/transport.js'
import type { VirtualClock } from './virtual-time.js'

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  int(min: number, max: number): number
  pick<T>(list: readonly T[]): T
  chance(p: number): boolean
}

/** A small seeded PRNG (sfc32 seeded through splitmix32): the same seed, the same sequence. */
export function createRng(seed: number): Rng {
  let s = seed >>> 0
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = split(); let b = split(); let c = split(); let d = split()
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t / 4294967296
  }
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)]!,
    chance: (p) => next() < p
  }
}

export interface SimNetworkInit {
  clock: VirtualClock
  rng: Rng
  /** One-way latency of a frame, ms. @default [5, 60] */
  latencyMs?: [number, number]
  /** How long a dial into a partition hangs before it fails. @default 5000 */
  connectTimeoutMs?: number
  /** How long a connection across a new partition lives on (frames lost) before it is cut. @default [1000, 20000] */
  partitionCutMs?: [number, number]
}

interface End {
  node: SimNode
  peer: string
  direction: 'inbound' | 'outbound'
  handlers: ChannelHandlers | undefined
  buffered: Uint8Array[]
  closed: boolean
  /** Time the last frame towards this end is due (frames stay in order). */
  lastDue: number
  other: End
  conn: Connection
}

interface Connection {
  a: SimNode
  b: SimNode
  alive: boolean
  ends: Set<End>
}

export interface SimNode {
  readonly id: string
  readonly addr: string
  online: boolean
  /** The transport of the node's current process (replaced on restart). */
  transport: SimTransport | undefined
}

export interface SimTransport extends Transport {
  readonly node: SimNode
  /** Remembered addresses (the process's address book). */
  readonly book: Map<string, Set<string>>
}

type Internal = SimTransport & { emit(kind: 'connect' | 'disconnect', peer: string): void; events: TransportEvents | undefined }

export interface SimNetwork {
  readonly nodes: Map<string, SimNode>
  addNode(id: string, addr: string): SimNode
  /** A new process's transport for a node (the old one's connections are gone). */
  transport(node: SimNode): SimTransport
  setOnline(node: SimNode, online: boolean): void
  /** Split the nodes: nodes in different groups cannot reach each other. */
  partition(groups: string[][]): void
  heal(): void
  /** Fraction of frames lost silently. */
  loss: number
  /** Cut every connection between `a` and `b` (or every connection of `a`). */
  cut(a: SimNode, b?: SimNode): void
  connections(): number
  frames: { sent: number; lost: number }
}

export function createSimNetwork(init: SimNetworkInit): SimNetwork {
  const { clock, rng } = init
  const [latMin, latMax] = init.latencyMs ?? [5, 60]
  const connectTimeoutMs = init.connectTimeoutMs ?? 5000
  const [cutMin, cutMax] = init.partitionCutMs ?? [1000, 20_000]
  const nodes = new Map<string, SimNode>()
  const conns = new Set<Connection>()
  const procs = new Map<SimNode, Internal>()
  let groups: Map<string, number> | undefined
  const frames = { sent: 0, lost: 0 }

  const latency = (): number => rng.int(latMin, latMax)
  const separated = (a: SimNode, b: SimNode): boolean => groups != null && groups.get(a.id) !== groups.get(b.id)
  const reachable = (a: SimNode, b: SimNode): boolean => a.online && b.online && !separated(a, b)

  function closeEnd(end: End, err?: Error): void {
    if (end.closed) return
    end.closed = true
    end.conn.ends.delete(end)
    end.handlers?.onClose(err)
  }

  function dropConnection(c: Connection, why: string): void {
    if (!c.alive) return
    c.alive = false
    conns.delete(c)
    for (const end of [...c.ends]) closeEnd(end, new SessionClosedError(`connection reset: ${why}`))
    const ta = procs.get(c.a)
    const tb = procs.get(c.b)
    if (!hasConnection(c.a, c.b)) {
      ta?.emit('disconnect', c.b.id)
      tb?.emit('disconnect', c.a.id)
    }
  }

  function hasConnection(a: SimNode, b: SimNode): boolean {
    for (const c of conns) if (c.alive && ((c.a === a && c.b === b) || (c.a === b && c.b === a))) return true
    return false
  }

  function connectionOf(a: SimNode, b: SimNode): Connection | undefined {
    for (const c of conns) if (c.alive && ((c.a === a && c.b === b) || (c.a === b && c.b === a))) return c
    return undefined
  }

  /** Deliver a frame (or the close) to `to` after the latency, in order. */
  function deliver(to: End, what: { frame: Uint8Array } | { close: true; err?: Error }): void {
    const conn = to.conn
    const due = Math.max(to.lastDue, clock.now() + latency())
    to.lastDue = due
    clock.setTimeout(() => {
      if (!conn.alive || to.closed) return
      if ('frame' in what) {
        if (separated(conn.a, conn.b)) { frames.lost++; return }
        if (to.handlers == null) to.buffered.push(what.frame)
        else to.handlers.onFrame(what.frame)
      } else {
        closeEnd(to, what.err)
      }
    }, due - clock.now())
  }

  function endChannel(end: End, remoteAddr: string): Channel {
    return {
      peer: end.peer,
      direction: end.direction,
      remoteAddr,
      via: 'direct',
      start(handlers) {
        end.handlers = handlers
        for (const f of end.buffered.splice(0)) handlers.onFrame(f)
        if (end.closed) handlers.onClose(new SessionClosedError('closed before it started'))
      },
      async send(frame) {
        if (end.closed || !end.conn.alive) throw new SessionClosedError('the channel is closed')
        frames.sent++
        if (network.loss > 0 && rng.chance(network.loss)) { frames.lost++; return }
        deliver(end.other, { frame })
      },
      close() {
        if (end.closed) return
        deliver(end.other, { close: true })
        // Our end finishes once the peer has seen the close and closed back.
        clock.setTimeout(() => { closeEnd(end) }, 2 * latMax)
      },
      abort(err) {
        if (end.closed) return
        closeEnd(end, err)
        deliver(end.other, { close: true, err: new SessionClosedError('the peer reset the stream') })
      }
    }
  }

  function makeTransport(node: SimNode): Internal {
    const book = new Map<string, Set<string>>()
    const t = {
      node,
      book,
      events: undefined as TransportEvents | undefined,
      emit(kind: 'connect' | 'disconnect', peer: string) {
        if (kind === 'connect') t.events?.onConnect(peer)
        else t.events?.onDisconnect(peer)
      },
      get peerId() { return node.id },
      async start(events: TransportEvents) { t.events = events },
      async stop() { t.events = undefined },
      async open(peer: string, { signal }: { signal: AbortSignal }): Promise<Channel> {
        const target = nodes.get(peer)
        signal.throwIfAborted()
        let conn = target != null ? connectionOf(node, target) : undefined
        if (conn == null) {
          if ((book.get(peer)?.size ?? 0) === 0) throw new PeerUnreachableError(`no address known for ${peer}`)
          await wait(signal, target != null && separated(node, target) ? connectTimeoutMs : 2 * latency())
          if (target == null || !reachable(node, target) || procs.get(target) == null) {
            throw new PeerUnreachableError(`could not reach ${peer}: connection refused or timed out`)
          }
          conn = connectionOf(node, target)
          if (conn == null) {
            conn = { a: node, b: target, alive: true, ends: new Set() }
            conns.add(conn)
            procs.get(target)!.emit('connect', node.id)
            t.emit('connect', peer)
          }
        }
        // Protocol negotiation: one round trip; the peer must be accepting sessions.
        await wait(signal, 2 * latency())
        const remote = procs.get(target!)
        if (!conn.alive) throw new PeerUnreachableError(`the connection to ${peer} dropped while opening a session`)
        if (remote?.events == null) throw new PeerUnreachableError(`${peer} does not accept sessions`)
        const mine: End = { node, peer, direction: 'outbound', handlers: undefined, buffered: [], closed: false, lastDue: 0, other: undefined as unknown as End, conn }
        const theirs: End = { node: target!, peer: node.id, direction: 'inbound', handlers: undefined, buffered: [], closed: false, lastDue: 0, other: mine, conn }
        mine.other = theirs
        conn.ends.add(mine)
        conn.ends.add(theirs)
        remote.events.onChannel(endChannel(theirs, node.addr))
        return endChannel(mine, target!.addr)
      },
      addresses: () => [node.addr],
      async rememberAddrs(peer: string, addrs: readonly string[]) {
        if (peer === node.id) return
        let set = book.get(peer)
        if (set == null) book.set(peer, (set = new Set()))
        for (const a of addrs) set.add(a)
      },
      connection(peer: string): ConnectionFacts {
        const target = nodes.get(peer)
        const c = target != null ? connectionOf(node, target) : undefined
        return c == null ? { connected: false, via: 'none' } : { connected: true, via: 'direct', remoteAddr: target!.addr }
      },
      async hangUp(peer: string) {
        const target = nodes.get(peer)
        if (target == null) return
        for (const c of [...conns]) if ((c.a === node && c.b === target) || (c.b === node && c.a === target)) dropConnection(c, 'hang up')
      }
    }
    return t
  }

  async function wait(signal: AbortSignal, ms: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { clock.clearTimeout(h); reject(signal.reason as Error) }
      const h = clock.setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  const network: SimNetwork = {
    nodes,
    loss: 0,
    frames,
    addNode(id, addr) {
      const node: SimNode = { id, addr, online: true, transport: undefined }
      nodes.set(id, node)
      return node
    },
    transport(node) {
      for (const c of [...conns]) if (c.a === node || c.b === node) dropConnection(c, 'process restarted')
      const t = makeTransport(node)
      node.transport = t
      procs.set(node, t)
      return t
    },
    setOnline(node, online) {
      node.online = online
      if (!online) for (const c of [...conns]) if (c.a === node || c.b === node) dropConnection(c, 'node went offline')
    },
    partition(list) {
      groups = new Map()
      list.forEach((g, i) => { for (const id of g) groups!.set(id, i) })
      for (const c of [...conns]) {
        if (!separated(c.a, c.b)) continue
        clock.setTimeout(() => { if (separated(c.a, c.b)) dropConnection(c, 'partition') }, rng.int(cutMin, cutMax))
      }
    },
    heal() { groups = undefined },
    cut(a, b) {
      for (const c of [...conns]) {
        if (b == null ? (c.a === a || c.b === a) : ((c.a === a && c.b === b) || (c.a === b && c.b === a))) dropConnection(c, 'cut')
      }
    },
    connections: () => conns.size
  }
  return network
}

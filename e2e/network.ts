/**
 * A device's network path to the relay, which a test can unplug in the middle of anything: a TCP
 * proxy on a free loopback port that forwards every connection to the relay's WebSocket port.
 * A browser given `relayVia(proxy)` as its relay reaches the relay only through it.
 *
 * `unplug()` destroys every connection it carries at once (the browser and the relay both see
 * their socket die, whatever was in flight: a sync, a push, a reservation) and refuses new ones
 * until `plug()`. Bytes are forwarded as they come, so an unplug can fall inside a frame.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface NetworkPath {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number
  /** Whether the path is up. */
  readonly plugged: boolean
  /** Connections carried since the start (a reconnect is a new one). */
  readonly accepted: number
  /** Cut: every open connection is destroyed, new ones are refused. */
  unplug(): void
  plug(): void
  close(): Promise<void>
}

/** A proxy to `127.0.0.1:<targetPort>`. */
export async function networkPath(targetPort: number): Promise<NetworkPath> {
  const sockets = new Set<Socket>()
  let plugged = true
  let accepted = 0
  const track = (s: Socket): void => {
    sockets.add(s)
    s.once('close', () => { sockets.delete(s) })
  }
  const server: Server = createServer((client) => {
    if (!plugged) { client.destroy(); return }
    accepted++
    track(client)
    const upstream = connect(targetPort, '127.0.0.1')
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    upstream.on('error', () => { client.destroy() })
    client.on('error', () => { upstream.destroy() })
    upstream.on('close', () => { client.destroy() })
    client.on('close', () => { upstream.destroy() })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  if (address == null || typeof address === 'string') throw new Error('the proxy did not bind a TCP port')
  return {
    port: address.port,
    get plugged() { return plugged },
    get accepted() { return accepted },
    unplug() {
      plugged = false
      for (const s of sockets) s.destroy()
    },
    plug() { plugged = true },
    async close() {
      plugged = false
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

/** The relay's WebSocket multiaddr rewritten to go through `path`. */
export function relayVia(relayWsAddr: string, path: NetworkPath): string {
  return relayWsAddr.replace(/\/tcp\/\d+\/ws\//, `/tcp/${path.port}/ws/`)
}

/** The TCP port of a `/ip4/…/tcp/<port>/ws/…` multiaddr. */
export function wsPort(relayWsAddr: string): number {
  const m = /\/tcp\/(\d+)\/ws/.exec(relayWsAddr)
  if (m == null) throw new Error(`not a WebSocket multiaddr: ${relayWsAddr}`)
  return Number(m[1])
}

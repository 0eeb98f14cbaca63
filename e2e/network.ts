/**
 * A device's network, which a test can unplug in the middle of anything: a forward HTTP proxy
 * (plain requests, and CONNECT tunnels, which carry the worker's WebSockets) on a free loopback
 * port, given to a browser context as its proxy with loopback included
 * (`browser.newContext(network.contextOptions())`). Every connection the context makes — the
 * page's, the SharedWorker's to the relay, whatever address it learnt — goes through it.
 * (Chromium's offline emulation alone leaves open WebSockets, and a SharedWorker's, alone.)
 *
 * `unplug()` destroys every connection it carries at once — both ends see their socket die,
 * whatever was in flight: a sync, a push, a reservation, a frame half sent — and refuses new ones
 * until `plug()`. Bytes are forwarded as they come.
 */
import { createServer, request, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'

export interface Network {
  /** The proxy's address (`http://127.0.0.1:<port>`). */
  readonly server: string
  /**
   * Options for `browser.newContext()`: every request of the context, loopback included, through
   * this proxy — except to the origins in `bypass` (`127.0.0.1:<port>`: the test's page server,
   * whose dev client reloads the page when it loses its connection).
   */
  contextOptions(bypass?: string[]): { proxy: { server: string; bypass: string } }
  readonly plugged: boolean
  /** Tunnels opened since the start (each reconnect is a new one). */
  readonly tunnels: number
  /** Cut: every open connection is destroyed, new ones are refused. */
  unplug(): void
  plug(): void
  close(): Promise<void>
}

/** The test page server's origin as a proxy bypass rule (the Vite dev server of the global setup). */
export function pageServer(): string[] {
  const url = process.env.WEFT_VITE_URL
  return url == null ? [] : [new URL(url).host]
}

export async function unpluggableNetwork(): Promise<Network> {
  const sockets = new Set<Socket>()
  let plugged = true
  let tunnels = 0
  const track = (socket: Socket): void => {
    if (sockets.has(socket)) return
    sockets.add(socket)
    socket.once('close', () => { sockets.delete(socket) })
  }
  const server: Server = createServer((req, res) => {
    if (!plugged) { req.socket.destroy(); return }
    const target = new URL(req.url ?? '')
    const upstream = request({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('socket', track).on('error', () => { res.destroy() })
    req.pipe(upstream)
  })
  server.on('connection', track)
  server.on('connect', (req, client: Socket, head: Buffer) => {
    if (!plugged) { client.destroy(); return }
    tunnels++
    const [host, port] = (req.url ?? '').split(':')
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    track(upstream)
    upstream.on('error', () => { client.destroy() })
    client.on('error', () => { upstream.destroy() })
    upstream.on('close', () => { client.destroy() })
    client.on('close', () => { upstream.destroy() })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  if (address == null || typeof address === 'string') throw new Error('the proxy did not bind a TCP port')
  const url = `http://127.0.0.1:${address.port}`
  return {
    server: url,
    contextOptions: (bypass = []) => ({ proxy: { server: url, bypass: ['<-loopback>', ...bypass].join(',') } }),
    get plugged() { return plugged },
    get tunnels() { return tunnels },
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

/**
 * A TCP proxy on loopback that can cut every connection through it — now, after some bytes, or
 * at random intervals — to play a flaky link in front of a real libp2p peer.
 */
import { createConnection, createServer, type Socket } from 'node:net'

export interface TcpProxy {
  readonly port: number
  /** The proxy's multiaddr (without /p2p/). */
  readonly addr: string
  /** Connections made through the proxy so far. */
  readonly accepted: number
  /** Connections the proxy cut (by `cutAll`, `cutAfterBytes` or `flaky`) so far. */
  readonly cut: number
  /** Destroy every connection through the proxy now. */
  cutAll(): void
  /** Cut each connection once this many bytes have gone from the target to the client (0: never). */
  cutAfterBytes(bytes: number): void
  /** Cut all connections every `[min, max]` ms until `stop()`. */
  flaky(minMs: number, maxMs: number): { stop(): void }
  close(): Promise<void>
}

export async function startProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>()
  let accepted = 0
  let cut = 0
  let cutAfter = 0
  const server = createServer((client) => {
    accepted++
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    let down = 0
    const end = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (d: Buffer) => { upstream.write(d) })
    upstream.on('data', (d: Buffer) => {
      down += d.byteLength
      if (cutAfter > 0 && down >= cutAfter) {
        // deliver part of it, then the line goes dead: the reader is in the middle of a frame
        cut++
        client.write(d.subarray(0, Math.floor(d.byteLength / 2)), () => { end() })
        return
      }
      client.write(d)
    })
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const cutAll = (): void => {
    cut += pairs.size
    for (const [a, b] of [...pairs]) { a.destroy(); b.destroy() }
    pairs.clear()
  }
  return {
    port,
    addr: `/ip4/127.0.0.1/tcp/${port}`,
    get accepted() { return accepted },
    get cut() { return cut },
    cutAll,
    cutAfterBytes(bytes) { cutAfter = bytes },
    flaky(minMs, maxMs) {
      let timer: ReturnType<typeof setTimeout> | undefined
      let stopped = false
      const next = (): void => {
        timer = setTimeout(() => {
          if (stopped) return
          cutAll()
          next()
        }, minMs + Math.random() * (maxMs - minMs))
      }
      next()
      return { stop() { stopped = true; clearTimeout(timer) } }
    },
    async close() {
      cutAll()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

/**
 * The libp2p transport coalesces the frames a session sends in one turn into few writes, but in
 * writes of bounded size: a connection that drops in the middle of a transfer still delivers the
 * frames written before the drop (a catch-up over a link that keeps dropping makes progress).
 * Two real libp2p nodes on loopback, a TCP proxy that cuts the line after some bytes.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { libp2pTransport } from '../../src/net/libp2p-transport.js'
import type { Transport, TransportEvents } from '../../src/net/transport.js'
import { freePort } from './helpers.js'
import { startProxy, type TcpProxy } from './proxy.js'

const nodes: Libp2p[] = []
const transports: Transport[] = []
const proxies: TcpProxy[] = []
afterEach(async () => {
  await Promise.all(transports.splice(0).map(async (t) => { await t.stop() }))
  await Promise.all(nodes.splice(0).map(async (n) => { await n.stop() }))
  await Promise.all(proxies.splice(0).map(async (p) => { await p.close() }))
})

async function node(listen: string[] = []): Promise<Libp2p> {
  const n = await createLibp2p({ addresses: { listen }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
  nodes.push(n)
  return n
}

const quiet = (onChannel: TransportEvents['onChannel']): TransportEvents => ({ onConnect () {}, onDisconnect () {}, onAddressesChanged () {}, onChannel })

describe('libp2p transport writes', () => {
  it('a channel whose connection drops mid-transfer delivers the frames written before the drop', async () => {
    const port = await freePort()
    const proxy = await startProxy(port)
    proxies.push(proxy)
    const server = libp2pTransport(await node([`/ip4/127.0.0.1/tcp/${port}`]))
    const client = libp2pTransport(await node())
    transports.push(server, client)
    // The server answers a channel's first frame with 40 frames of 2 KiB, all sent in one turn (80 KiB).
    await server.start(quiet((channel) => {
      channel.start({
        onFrame () {
          for (let i = 0; i < 40; i++) void channel.send(new Uint8Array(2048).fill(i)).catch(() => undefined)
        },
        onClose () {}
      })
    }))
    await client.start(quiet(() => {}))
    await client.rememberAddrs(server.peerId, [`${proxy.addr}/p2p/${server.peerId}`])
    const channel = await client.open(server.peerId, { signal: AbortSignal.timeout(10_000) })
    // The line dies after 40 KiB more from the server: halfway through those frames.
    proxy.cutAfterBytes(40 * 1024)
    const got: number[] = []
    const closed = new Promise<void>((resolve) => {
      channel.start({ onFrame (f) { got.push(f[0]!) }, onClose () { resolve() } })
    })
    await channel.send(Uint8Array.of(1))
    await closed
    expect(proxy.cut).toBeGreaterThan(0)
    // What was written before the cut arrived, in order (a write of all 80 KiB at once loses all).
    expect(got.length).toBeGreaterThanOrEqual(8)
    expect(got.length).toBeLessThan(40)
    expect(got).toEqual(got.map((_, i) => i))
  })
})

/**
 * The relay's HTTP server against slow and hostile clients, as a process: sockets that dribble
 * their headers are cut off at the header deadline, a crowd of them from one IP is capped, and
 * health probes keep answering throughout.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { cleanupRelays, metricValue, probe, scrape, startRelayProcess } from './harness.js'

afterEach(async () => {
  await cleanupRelays()
})


/** A client that sends a request line and then one header byte a second, never finishing. */
function slowClient(port: number): { socket: Socket; closed: Promise<number> } {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => undefined)
  const t0 = Date.now()
  const timer = setInterval(() => { if (!socket.destroyed) socket.write('a') }, 1_000)
  socket.once('connect', () => { socket.write('GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ') })
  // (events.once would reject on the 'error' a reset socket emits first.)
  const closed = new Promise<number>((resolve) => {
    socket.once('close', () => {
      clearInterval(timer)
      resolve(Date.now() - t0)
    })
  })
  return { socket, closed }
}

describe('relay HTTP server', () => {
  it('a slow HTTP client is cut off and health probes keep answering', async () => {
    const relay = await startRelayProcess()
    const port = Number(new URL(relay.http).port)

    const slow = Array.from({ length: 64 }, () => slowClient(port))
    await Promise.all(slow.map(async (c) => { if (c.socket.connecting) await once(c.socket, 'connect') }))

    // Probes while the slow clients hold (or have just been evicted from) their sockets.
    const statuses: number[] = []
    for (let round = 0; round < 10; round++) {
      statuses.push(...await Promise.all([1, 2, 3, 4].map(async () => await probe(`${relay.http}/healthz`))))
    }
    expect(statuses).toEqual(Array(40).fill(200))

    // Every slow client is cut off: evicted to make room, or at the 5 s header deadline.
    const lifetimes = await Promise.all(slow.map(async (c) => await c.closed))
    expect(Math.max(...lifetimes)).toBeLessThan(9_000)

    const text = await scrape(relay)
    expect(metricValue(text, 'weft_relay_http_sockets_evicted_total')).toBeGreaterThanOrEqual(64 - 16)
    expect(await probe(`${relay.http}/healthz`)).toBe(200)
  }, 60_000)
})

/**
 * Whether one connection still carries data: a ping (`/ipfs/ping/1.0.0`, which every Weft peer
 * serves) on that very connection, not on whichever connection libp2p would pick for the peer.
 *
 * Used on a WebRTC connection that may be stale: when a peer's browser reloads or its worker
 * restarts, its side of the connection is gone, but ours may stay `connected` for seconds (the
 * data channels close, the peer connection does not fail until ICE consent runs out), and a dial
 * by peer ID would reuse it. A stale connection cannot open a stream, so the probe fails by its
 * deadline.
 */
import type { Connection } from '@libp2p/interface'

const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_LENGTH = 32

type Chunk = Uint8Array | { subarray(): Uint8Array }

/** Resolves true when `conn` echoes a ping within `timeoutMs`, false otherwise (never throws). */
export async function probeConnection(conn: Connection, timeoutMs: number): Promise<boolean> {
  if (conn.status !== 'open') return false
  const signal = AbortSignal.timeout(timeoutMs)
  let stream: Awaited<ReturnType<Connection['newStream']>> | undefined
  try {
    stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
    const s = stream
    const data = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
    const echoed = await new Promise<boolean>((resolve) => {
      const received: Uint8Array[] = []
      let length = 0
      const done = (ok: boolean): void => {
        s.removeEventListener('message', onMessage)
        s.removeEventListener('close', onClose)
        signal.removeEventListener('abort', onAbort)
        resolve(ok)
      }
      const onMessage = (evt: Event): void => {
        const chunk = (evt as Event & { data: Chunk }).data
        const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
        received.push(bytes)
        length += bytes.byteLength
        if (length < PING_LENGTH) return
        const all = new Uint8Array(length)
        let at = 0
        for (const b of received) { all.set(b, at); at += b.byteLength }
        done(all.subarray(0, PING_LENGTH).every((b, i) => b === data[i]))
      }
      const onClose = (): void => { done(false) }
      const onAbort = (): void => { done(false) }
      s.addEventListener('message', onMessage)
      s.addEventListener('close', onClose)
      signal.addEventListener('abort', onAbort, { once: true })
      s.send(data)
    })
    return echoed
  } catch {
    return false
  } finally {
    if (stream != null) {
      const s = stream
      void s.close({ signal: AbortSignal.timeout(1000) }).catch(() => { s.abort(new Error('probe finished')) })
    }
  }
}

/**
 * A free loopback TCP port, for peers that must come back on the same address after a restart.
 */
import { createServer } from 'node:net'

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => { resolve(port) })
    })
  })
}

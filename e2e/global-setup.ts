/**
 * Starts what the browser tests need on free loopback ports and hands their addresses to the
 * tests through the environment:
 * - a Vite dev server at the repository root (WEFT_VITE_URL);
 * - the real relay daemon as a process (test/relay/harness.ts) with a temporary repo:
 *   WEFT_RELAY_WS (its WebSocket multiaddr, with /p2p/<id>), WEFT_RELAY_PEER_ID, WEFT_RELAY_HTTP.
 * Returns the teardown that stops them.
 */
import { createServer } from 'vite'
import { cleanupRelays, startRelayProcess } from '../test/relay/harness.js'

export default async function globalSetup(): Promise<() => Promise<void>> {
  const server = await createServer({
    configFile: new URL('../vite.config.ts', import.meta.url).pathname,
    // No hot reload and no file watching: a test page must never be reloaded under a test.
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    // The workers are reached through `new URL(..., import.meta.url)`, which the dependency scan
    // does not follow: name them, so their dependencies are pre-bundled before the first page
    // loads (a late discovery reloads the page in the middle of a test).
    optimizeDeps: { entries: ['test/browser/*.html', 'worker/*-worker.ts'] },
    logLevel: 'warn'
  })
  await server.listen()
  const address = server.httpServer?.address()
  if (address == null || typeof address === 'string') throw new Error('vite did not bind a TCP port')
  process.env.WEFT_VITE_URL = `http://127.0.0.1:${address.port}`

  let relayStarted = false
  try {
    const relay = await startRelayProcess({ env: { WEFT_RELAY_SYNC_INTERVAL_MS: '2000' } })
    relayStarted = true
    process.env.WEFT_RELAY_WS = relay.wsAddr
    process.env.WEFT_RELAY_PEER_ID = relay.peerId
    process.env.WEFT_RELAY_HTTP = relay.http
  } catch (err) {
    await server.close()
    throw err
  }

  return async () => {
    if (relayStarted) await cleanupRelays()
    await server.close()
  }
}

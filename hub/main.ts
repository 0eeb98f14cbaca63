/**
 * The hub daemon: `npm run hub` (or `node --import tsx hub/main.ts`).
 *
 * Reads the configuration from the environment (hub/config.ts; bad values: exit 2), starts the
 * hub, prints the configuration, a banner and one machine-readable line
 * `WEFT_HUB_READY {"peerId":…,"addrs":[…],"grpc":"http://…","web":"http://…","http":"http://…"}`
 * on stdout. SIGTERM/SIGINT shut it down gracefully (exit 0; exit 1 past
 * WEFT_HUB_SHUTDOWN_TIMEOUT_MS); a second signal forces exit 1. Uncaught errors are logged and
 * exit 1.
 */
import '../src/platform/node-polyfills.js'
import { describeHubConfig, loadHubConfig, type HubConfig } from './config.js'
import { HubConfigError } from './errors.js'
import { startHub, type Hub } from './hub.js'

const EXIT_OK = 0
const EXIT_FAILURE = 1
const EXIT_CONFIG = 2

const out = (line: string): void => { process.stdout.write(`${line}\n`) }
const err = (line: string): void => { process.stderr.write(`${line}\n`) }

function fail(what: string, e: unknown): never {
  err(`weft-hub: ${what}: ${(e as Error)?.stack ?? String(e)}`)
  process.exit(EXIT_FAILURE)
}

process.on('uncaughtException', (e) => { fail('uncaught exception', e) })
process.on('unhandledRejection', (reason) => { fail('unhandled promise rejection', reason) })

let config: HubConfig
try {
  config = loadHubConfig(process.env)
} catch (e) {
  if (!(e instanceof HubConfigError)) throw e
  err(`weft-hub: ${e.message}`)
  err('weft-hub: see docs/HUB.md for every variable and its default')
  process.exit(EXIT_CONFIG)
}

out('weft-hub: configuration')
out(describeHubConfig(config).replace(/^/gm, '  '))

// The signal handlers are installed in the same tick as the start begins, so a signal always has a start to wait for.
const starting = startHub(config)
let hub: Hub | undefined
let signalled: NodeJS.Signals | undefined

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  const timer = setTimeout(() => {
    err(`weft-hub: shutdown did not finish within ${config.shutdownTimeoutMs} ms; exiting`)
    process.exit(EXIT_FAILURE)
  }, config.shutdownTimeoutMs)
  timer.unref()
  out(`weft-hub: ${signal} received, shutting down`)
  const h = hub ?? (await starting.catch(() => undefined))
  await h?.stop()
  out('weft-hub: stopped')
  process.exit(EXIT_OK)
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (signalled != null) {
      err(`weft-hub: ${sig} during shutdown; forcing exit`)
      process.exit(EXIT_FAILURE)
    }
    signalled = sig
    shutdown(sig).catch((e: unknown) => { fail('shutdown failed', e) })
  })
}

try {
  hub = await starting
} catch (e) {
  fail('could not start', e)
}

if (signalled == null) {
  const addrs = hub.addrs()
  out([
    '',
    `Weft hub ${hub.peerId}`,
    `  repo     ${config.repo}`,
    `  grpc     ${hub.grpcUrl}   (gRPC over HTTP/2, h2c)`,
    `  web      ${hub.webUrl}   (gRPC-Web and WebSocket: new Client(new Context('${hub.webUrl}')))`,
    `  http     ${hub.httpUrl}/healthz  ${hub.httpUrl}/metrics`,
    '  addresses:',
    ...addrs.map((a) => `    ${a}`),
    ''
  ].join('\n'))
  out(`WEFT_HUB_READY ${JSON.stringify({ peerId: hub.peerId, addrs, grpc: hub.grpcUrl, web: hub.webUrl, http: hub.httpUrl })}`)
}

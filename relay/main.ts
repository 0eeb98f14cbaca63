/**
 * The relay daemon: `npm run relay` (or `node --import tsx relay/main.ts`).
 *
 * Reads the configuration from the environment (relay/config.ts; bad values: exit 2), starts the
 * relay, prints a banner with the peer ID and addresses and one machine-readable line
 * `WEFT_RELAY_READY {"peerId":…,"addrs":[…],"http":"http://host:port"}` on stdout.
 * SIGTERM/SIGINT shut it down gracefully (exit 0; exit 1 past WEFT_RELAY_SHUTDOWN_TIMEOUT_MS);
 * a second signal forces exit 1. Uncaught errors are logged and exit 1.
 */
import '../src/platform/node-polyfills.js'
import { describeConfig, loadConfig, type RelayConfig } from './config.js'
import { startRelay, type Relay } from './relay.js'
import { explainAddressInUse } from './instance.js'

const EXIT_OK = 0
const EXIT_FAILURE = 1
const EXIT_CONFIG = 2

function fail(what: string, err: unknown): never {
  const e = err as Error
  console.error(`weft-relay: ${what}: ${e?.stack ?? String(err)}`)
  process.exit(EXIT_FAILURE)
}

process.on('uncaughtException', (err) => { fail('uncaught exception', err) })
process.on('unhandledRejection', (reason) => { fail('unhandled promise rejection', reason) })

let config: RelayConfig
try {
  config = loadConfig(process.env)
} catch (err) {
  if ((err as Error).name !== 'RelayConfigError') throw err
  console.error(`weft-relay: ${(err as Error).message}`)
  console.error('weft-relay: see docs/RELAY.md for every variable and its default')
  process.exit(EXIT_CONFIG)
}

console.log('weft-relay: configuration')
console.log(describeConfig(config).replace(/^/gm, '  '))
for (const name of ['WEFT_RELAY_CONN_LOW', 'WEFT_RELAY_CONN_GRACE_MS']) {
  if (config.explicit.includes(name)) console.log(`weft-relay: note: ${name} is accepted but libp2p 3 does not use it (it prunes to WEFT_RELAY_CONN_HIGH)`)
}

// The signal handlers are installed in the same tick as the start begins, so a signal always has a start to wait for.
const starting = startRelay(config)
let relay: Relay | undefined
let signalled: NodeJS.Signals | undefined

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  const timer = setTimeout(() => {
    console.error(`weft-relay: shutdown did not finish within ${config.shutdownTimeoutMs} ms; exiting`)
    process.exit(EXIT_FAILURE)
  }, config.shutdownTimeoutMs)
  timer.unref()
  console.log(`weft-relay: ${signal} received, shutting down`)
  // A signal during start-up waits for the start to finish (or fail) and then stops.
  const r = relay ?? (await starting.catch(() => undefined))
  await r?.stop()
  console.log('weft-relay: stopped')
  process.exit(EXIT_OK)
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (signalled != null) {
      console.error(`weft-relay: ${sig} during shutdown; forcing exit`)
      process.exit(EXIT_FAILURE)
    }
    signalled = sig
    shutdown(sig).catch((err: unknown) => { fail('shutdown failed', err) })
  })
}

try {
  relay = await starting
} catch (err) {
  const why = await explainAddressInUse(err, config)
  if (why != null) console.error(`weft-relay: ${why}`)
  fail('could not start', err)
}

if (signalled == null) {
  const addrs = relay.addrs()
  console.log([
    '',
    `Weft relay ${relay.peerId}`,
    `  repo     ${config.repo}`,
    `  http     ${relay.httpUrl}/healthz  ${relay.httpUrl}/metrics`,
    '  addresses:',
    ...addrs.map((a) => `    ${a}`),
    ''
  ].join('\n'))
  console.log(`WEFT_RELAY_READY ${JSON.stringify({ peerId: relay.peerId, addrs, http: relay.httpUrl })}`)
}

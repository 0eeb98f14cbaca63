// `npm start`: the one-command quickstart. It
//   1. builds the demo app with Vite (index.html + src/app → dist/),
//   2. starts the relay daemon (relay/main.ts, configured as in docs/RELAY.md) and waits for its
//      `WEFT_RELAY_READY {json}` line,
//   3. serves dist/ on http://127.0.0.1:8080 (scripts/serve.mjs), with `/config.json` telling the
//      app the relay's WebSocket address,
//   4. prints the one URL to open.
// Ctrl-C, or SIGTERM/SIGINT sent to this process (or to npm, which runs it with `exec`), stops
// everything cleanly, the relay included. Before building, it checks that its ports are free, and
// says so when another Weft instance (another `npm start`, or `npm run relay`) holds them.
//
// Environment: WEFT_APP_PORT (default 8080; 0 picks a free port), WEFT_APP_HOST (default
// 127.0.0.1: browsers give WebCrypto only to https pages and to localhost), WEFT_APP_BUILD (default
// true; false serves the dist/ already built), and the relay's own
// variables (docs/RELAY.md). For a local demo, four relay defaults differ from the daemon's: it
// listens on loopback only (WEFT_RELAY_TCP=/ip4/127.0.0.1/tcp/4006,
// WEFT_RELAY_WS=/ip4/127.0.0.1/tcp/4007/ws), hands out loopback addresses in thread addresses
// (WEFT_RELAY_ALLOW_PRIVATE=true), and accepts more than 5 new connections a second from
// 127.0.0.1, where every browser comes from (WEFT_RELAY_CONN_RATE=100). Set them to override.
//
// The relay runs in its own process group, so a terminal's Ctrl-C (sent to the whole foreground
// group, and often forwarded by npm too) reaches it exactly once, through us. A second Ctrl-C more
// than a second later is passed on as well: the relay then stops at once.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createStaticServer } from './serve.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const log = (line = '') => { console.log(line) }
const fail = (message) => { console.error(`npm start: ${message}`); process.exitCode = 1 }

/** @type {import('node:child_process').ChildProcess | undefined} */
let relay
/** @type {import('node:http').Server | undefined} */
let server
let stopping = false
let firstSignalAt = 0

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    const now = Date.now()
    const first = firstSignalAt === 0
    if (first) firstSignalAt = now
    if (relay == null) {
      // Still building: nothing of ours runs yet (Vite builds in this process).
      log('\nStopped.')
      process.exit(130)
    }
    if (first || now - firstSignalAt > 1000) relay.kill(sig)
    if (first) stop()
  })
}

function stop() {
  stopping = true
  server?.close()
  server?.closeAllConnections()
}

function parseAppPort() {
  const raw = process.env.WEFT_APP_PORT ?? ''
  if (raw === '') return 8080
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`WEFT_APP_PORT must be a port number (0 for any free port), got "${raw}"`)
  return port
}

/** True when something already listens on host:port (we cannot bind it). */
async function portInUse(host, port) {
  return await new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', (err) => { resolve(err.code === 'EADDRINUSE') })
    probe.listen({ host, port, exclusive: true }, () => { probe.close(() => { resolve(false) }) })
  })
}

/** The JSON at `url`, or undefined when nothing answers in time or it is not JSON. */
async function jsonAt(url) {
  try {
    const res = await globalThis.fetch(url, { signal: globalThis.AbortSignal.timeout(1000) })
    return await res.json()
  } catch {
    return undefined
  }
}

/** The host and port of a listen multiaddr such as /ip4/127.0.0.1/tcp/4006/ws (undefined when off). */
function hostPortOf(ma) {
  const m = /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d+)/.exec(ma ?? '')
  return m == null ? undefined : { host: m[2], port: Number(m[3]) }
}

/**
 * Refuse to start (before building anything) when a port we need is taken, naming the Weft
 * instance that holds it when it is one.
 */
async function checkPorts(env, appHost, appPort) {
  const http = /^\[?([^\]]+?)\]?:(\d+)$/.exec(env.WEFT_RELAY_HTTP || '127.0.0.1:4008')
  const wanted = [
    { what: 'the app', host: appHost, port: appPort },
    { what: 'the relay (TCP)', ...hostPortOf(env.WEFT_RELAY_TCP) },
    { what: 'the relay (WebSocket)', ...hostPortOf(env.WEFT_RELAY_WS) },
    { what: 'the relay (HTTP)', host: http?.[1], port: Number(http?.[2]) }
  ].filter((w) => w.host != null && Number.isInteger(w.port) && w.port > 0)
  const taken = []
  for (const w of wanted) if (await portInUse(w.host, w.port)) taken.push(w)
  if (taken.length === 0) return true
  const url = (h, p, path) => `http://${h === '0.0.0.0' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h}:${p}${path}`
  const relayHealth = http != null ? await jsonAt(url(http[1], http[2], '/healthz')) : undefined
  const appConfig = await jsonAt(url(appHost, appPort, '/config.json'))
  for (const t of taken) console.error(`npm start: port ${t.port} on ${t.host} (${t.what}) is in use`)
  if (typeof relayHealth?.peerId === 'string' || Array.isArray(appConfig?.relays)) {
    const who = typeof relayHealth?.peerId === 'string'
      ? `a Weft relay (peer ${relayHealth.peerId}${typeof relayHealth.pid === 'number' ? `, pid ${relayHealth.pid}` : ''})`
      : 'a Weft app server'
    console.error(`npm start: another Weft instance is running: ${who} answers on these ports (another \`npm start\` or \`npm run relay\`).`)
    console.error(`npm start: stop it first (Ctrl-C in its terminal${typeof relayHealth?.pid === 'number' ? `, or kill -TERM ${relayHealth.pid}` : ''}), or run this one on other ports:`)
  } else {
    console.error('npm start: another program holds them; free them, or run on other ports:')
  }
  console.error('npm start:   WEFT_APP_PORT=0 WEFT_RELAY_TCP=/ip4/127.0.0.1/tcp/0 WEFT_RELAY_WS=/ip4/127.0.0.1/tcp/0/ws WEFT_RELAY_HTTP=127.0.0.1:0 npm start')
  return false
}

/** WEFT_APP_BUILD: build the app first (default), or serve the dist/ already there. */
function shouldBuild() {
  const raw = (process.env.WEFT_APP_BUILD ?? '').trim().toLowerCase()
  return !['0', 'false', 'no', 'off'].includes(raw)
}

async function buildApp() {
  const started = Date.now()
  process.stdout.write('Building the app (vite build → dist/)… ')
  // A production build whatever the shell says (with NODE_ENV=development, Vite would build a
  // development bundle, without the service worker).
  const nodeEnv = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  const { build } = await import('vite')
  await build({ root, mode: 'production', logLevel: 'warn', build: { rolldownOptions: { checks: { pluginTimings: false } } } })
  if (nodeEnv === undefined) delete process.env.NODE_ENV
  else process.env.NODE_ENV = nodeEnv
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

/** The relay's environment: the caller's, with the local demo's defaults where unset. */
function relayEnv() {
  const env = { ...process.env }
  // A local demo: loopback only (an empty listen address means "none", so only unset ones change).
  env.WEFT_RELAY_TCP ??= '/ip4/127.0.0.1/tcp/4006'
  env.WEFT_RELAY_WS ??= '/ip4/127.0.0.1/tcp/4007/ws'
  env.WEFT_RELAY_ALLOW_PRIVATE ||= 'true'
  env.WEFT_RELAY_CONN_RATE ||= '100'
  return env
}

/** Starts the relay and resolves to its READY info. Its configuration dump is shown only on failure. */
async function startRelay(env) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'relay/main.ts'], {
    cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true
  })
  relay = child
  child.stderr.pipe(process.stderr)
  const early = []
  return await new Promise((resolve, reject) => {
    let ready = false
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (ready) return log(line)
      if (line.startsWith('WEFT_RELAY_READY ')) {
        ready = true
        resolve(JSON.parse(line.slice('WEFT_RELAY_READY '.length)))
      } else {
        early.push(line)
      }
    })
    child.on('exit', (code, signal) => {
      if (!ready) {
        if (!stopping) log(early.join('\n'))
        reject(new Error(`the relay exited before it was ready (code ${code}, signal ${signal})`))
      }
    })
  })
}

/**
 * The relay addresses a browser on this machine dials: WebSocket ones, one per relay peer,
 * loopback first (the page is served on loopback too).
 */
function browserRelays(addrs) {
  const ws = addrs.filter((a) => /\/wss?\/p2p\//.test(a) || /\/tls\/ws\/p2p\//.test(a))
  const isLoopback = (a) => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/') || a.startsWith('/dns4/localhost/') || a.startsWith('/dns/localhost/')
  const ordered = [...ws.filter(isLoopback), ...ws.filter((a) => !isLoopback(a))]
  const byPeer = new Map()
  for (const a of ordered) {
    const peer = a.split('/p2p/').pop()
    if (!byPeer.has(peer)) byPeer.set(peer, a)
  }
  const relays = [...byPeer.values()]
  const isPrivate = (a) => isLoopback(a) || /^\/ip4\/(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(a) || /^\/ip6\/f[cd]/i.test(a)
  return { relays, allowPrivate: relays.some(isPrivate) }
}

async function serve(config, host, port) {
  const body = `${JSON.stringify(config, null, 2)}\n`
  const s = createStaticServer({
    root: `${root}dist`,
    routes: { '/config.json': () => ({ type: 'application/json; charset=utf-8', body }) }
  })
  server = s
  await new Promise((resolve, reject) => {
    s.once('error', reject)
    s.listen(port, host, () => { s.off('error', reject); resolve() })
  })
  const address = s.address()
  return typeof address === 'object' && address != null ? address.port : port
}

async function main() {
  const host = process.env.WEFT_APP_HOST || '127.0.0.1'
  const port = parseAppPort()
  const env = relayEnv()
  if (!(await checkPorts(env, host, port))) {
    process.exitCode = 1
    return
  }
  if (shouldBuild()) await buildApp()
  else log('Serving the app already built in dist/ (WEFT_APP_BUILD=false).')

  const ready = await startRelay(env)
  relay.on('exit', (code, signal) => {
    if (!stopping) console.error(`npm start: the relay stopped unexpectedly (code ${code}, signal ${signal})`)
    else if (process.exitCode == null) log(code === 0 ? 'Stopped.' : `Stopped; the relay exited with code ${code}, signal ${signal}.`)
    stop()
    // A failure of ours (process.exitCode set) wins over the relay's clean exit.
    process.exit(process.exitCode ?? code ?? (signal != null ? 0 : 1))
  })
  if (stopping) return
  const config = browserRelays(ready.addrs)
  if (config.relays.length === 0) {
    console.error('npm start: the relay has no WebSocket address (is WEFT_RELAY_WS empty?): browsers cannot reach it')
  }
  log(`Relay ${ready.peerId} is up; browsers reach it at ${config.relays.join(', ') || '(nowhere)'}`)

  let bound
  try {
    bound = await serve(config, host, port)
  } catch (err) {
    const hint = err.code === 'EADDRINUSE' ? ` (set WEFT_APP_PORT to another port, or 0 for any free port)` : ''
    fail(`cannot serve the app on ${host}:${port}: ${err.message}${hint}`)
    stop()
    relay.kill('SIGTERM')
    return
  }
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  log('')
  log('  Weft demo: a shared task board, offline-first, synced peer to peer.')
  log('')
  log(`  Open  http://${shownHost}:${bound}/`)
  log('')
  log('  To see sync, open the same address in a second browser profile (or a private window),')
  log('  press "Invite" in the first and open its link in the second.')
  log('  Ctrl-C stops the app server and the relay.')
  log('')
}

main().catch((err) => {
  // Ctrl-C while the relay was starting: it stopped as asked.
  if (stopping && relay?.exitCode != null) {
    log('Stopped.')
    process.exitCode = relay.exitCode
    return
  }
  fail(err?.message ?? String(err))
  stop()
  if (relay != null && relay.exitCode == null) relay.kill('SIGTERM')
})

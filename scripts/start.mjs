// `npm start`: runs Weft's main job with its defaults — today the relay daemon (relay/main.ts),
// which serves circuit-relay reservations and replicates threads handed to it. Ctrl-C stops it
// cleanly. Configuration: environment variables, see docs/RELAY.md.
//
// The relay runs in its own process group, so a terminal's Ctrl-C (sent to the whole foreground
// group, and often forwarded by npm too) reaches it exactly once, through us. A second Ctrl-C more
// than a second later is passed on as well: the relay then stops at once.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const child = spawn(process.execPath, ['--import', 'tsx', 'relay/main.ts'], { cwd: root, stdio: 'inherit', detached: true })
let firstSignalAt = 0
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    const now = Date.now()
    if (firstSignalAt === 0 || now - firstSignalAt > 1000) child.kill(sig)
    if (firstSignalAt === 0) firstSignalAt = now
  })
}
child.on('exit', (code, signal) => process.exit(code ?? (signal != null ? 0 : 1)))

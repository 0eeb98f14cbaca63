// Makes sure Debian's Chromium is there for the browser tests: uses CHROMIUM_PATH or
// /usr/bin/chromium; when missing and running as root, installs it with apt-get; otherwise
// stops with a message that says how. Exports the path for the caller.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

function works(path) {
  if (!existsSync(path)) return false
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 })
  return r.status === 0 && /chrom/i.test(r.stdout)
}

export function ensureChromium() {
  const wanted = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
  if (works(wanted)) return wanted
  if (process.env.CHROMIUM_PATH != null) {
    throw new Error(`CHROMIUM_PATH=${wanted} does not run. Point it at a working Chromium, or unset it to use /usr/bin/chromium.`)
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (!isRoot) {
    throw new Error('Chromium is needed for the browser tests and is not installed. Install it with:\n' +
      '  sudo apt-get update && sudo apt-get install -y chromium\n' +
      'or set CHROMIUM_PATH to a Chromium binary.')
  }
  console.log('[test] Chromium is missing: installing Debian\'s package (apt-get install -y chromium)…')
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' })
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  if (!works(wanted)) throw new Error('apt-get installed chromium but /usr/bin/chromium does not run')
  return wanted
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(ensureChromium())
}

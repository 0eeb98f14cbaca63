/**
 * The one piece of real asynchrony under the simulated net: Ed25519 verification runs on libuv's
 * thread pool (`crypto.verify` with a callback, src/core/crypto.node.ts), so it completes in real
 * time, not as a microtask. To keep a seed's run deterministic, the virtual clock must not move
 * while a verification is in flight: this wraps `node:crypto`'s `verify` (and updates the live
 * ES module bindings) to count callbacks still to come. Import it before anything that verifies.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module'

type Verify = (...args: unknown[]) => unknown

const crypto = createRequire(import.meta.url)('node:crypto') as { verify: Verify & { weftCounted?: true } }
let inFlight = 0

if (crypto.verify.weftCounted !== true) {
  const original = crypto.verify
  const counted = ((...args: unknown[]) => {
    const callback = args[4]
    if (typeof callback !== 'function') return original(...args)
    inFlight++
    return original(...args.slice(0, 4), (err: unknown, ok: unknown) => {
      inFlight--
      ;(callback as (e: unknown, o: unknown) => void)(err, ok)
    })
  }) as Verify & { weftCounted?: true }
  counted.weftCounted = true
  crypto.verify = counted
  syncBuiltinESMExports()
}

/** Verifications started and not yet called back. */
export function realWorkInFlight(): number {
  return inFlight
}

/**
 * A relay that cannot bind a port says why in words an operator can act on: when the port is held
 * by another Weft relay (its /healthz answers on the HTTP address we were given), it names that
 * relay's peer ID and PID and how to stop it or move this one; otherwise it names the variables
 * that choose the ports.
 */
import type { RelayConfig } from './config.js'

/** What answers `/healthz` at `url` when it is a Weft relay, or undefined. */
export async function weftRelayAt(url: string, timeoutMs = 1_000): Promise<{ peerId: string; pid?: number } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    const body = await res.json() as { peerId?: unknown; pid?: unknown }
    if (typeof body.peerId !== 'string') return undefined
    return { peerId: body.peerId, ...(typeof body.pid === 'number' ? { pid: body.pid } : {}) }
  } catch {
    return undefined
  }
}

/** An explanation of a start that failed on a port in use, or undefined for any other failure. */
export async function explainAddressInUse(err: unknown, config: RelayConfig): Promise<string | undefined> {
  const e = err as { code?: unknown; message?: unknown } | null
  if (e?.code !== 'EADDRINUSE' && !String(e?.message ?? '').includes('EADDRINUSE')) return undefined
  const { host, port } = config.http
  const shown = host.includes(':') ? `[${host}]` : host
  const other = port === 0 ? undefined : await weftRelayAt(`http://${shown}:${port}/healthz`)
  const ports = 'WEFT_RELAY_TCP, WEFT_RELAY_WS and WEFT_RELAY_HTTP'
  if (other != null) {
    const stop = other.pid != null ? `stop it first (kill -TERM ${other.pid}, or Ctrl-C in its terminal)` : 'stop it first'
    return `another Weft relay (peer ${other.peerId}${other.pid != null ? `, pid ${other.pid}` : ''}) is already running on these ports (HTTP ${shown}:${port}): ${stop}, or give this one other ports with ${ports}`
  }
  return `a port this relay needs is held by another program: free it, or choose other ports with ${ports} (port 0 picks a free one)`
}

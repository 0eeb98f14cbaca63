/**
 * Where the app finds its relays: `config.json` next to index.html (scripts/start.mjs serves it
 * with the local relay's WebSocket address; a deployment writes its own, e.g.
 * `{ "relays": ["/dns4/relay.example.com/tcp/443/wss/p2p/12D3KooW…"] }`). The last good copy is
 * kept in localStorage, and the service worker keeps one too, so the app starts offline. Without
 * either (the Vite dev server), the relays given at build time are used.
 */
export interface AppConfig {
  /** Relay multiaddrs (ending in /p2p/<peer ID>) the browser peer dials. */
  relays: string[]
  /** Dial loopback/private addresses and plain ws:// (a relay on this machine or LAN). */
  allowPrivate: boolean
}

const STORAGE_KEY = 'weft-board:config'

function parse(value: unknown): AppConfig | undefined {
  const v = value as { relays?: unknown; allowPrivate?: unknown } | null
  if (v == null || typeof v !== 'object' || !Array.isArray(v.relays) || !v.relays.every((r) => typeof r === 'string')) return undefined
  return { relays: v.relays as string[], allowPrivate: v.allowPrivate === true }
}

/**
 * Relays given at build time, for a development server without config.json:
 * `VITE_WEFT_RELAYS=/ip4/127.0.0.1/tcp/4007/ws/p2p/12D3KooW… VITE_WEFT_ALLOW_PRIVATE=true npx vite`.
 */
function fromBuild(): AppConfig | undefined {
  const relays = (import.meta.env.VITE_WEFT_RELAYS as string | undefined)?.split(',').map((r) => r.trim()).filter((r) => r !== '') ?? []
  return relays.length > 0 ? { relays, allowPrivate: import.meta.env.VITE_WEFT_ALLOW_PRIVATE === 'true' } : undefined
}

export async function loadConfig(url = new URL('config.json', document.baseURI)): Promise<AppConfig> {
  try {
    const res = await fetch(url, { cache: 'no-cache' })
    const config = res.ok ? parse(await res.json()) : undefined
    if (config !== undefined) {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(config))
      return config
    }
  } catch {
    // Offline without a cached copy from the service worker: fall back to our own copy.
  }
  let saved: AppConfig | undefined
  try {
    saved = parse(JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null'))
  } catch {
    saved = undefined
  }
  return saved ?? fromBuild() ?? { relays: [], allowPrivate: false }
}

/* global self, caches, fetch, Request */
// The Weft board's service worker: it keeps the app shell (the page, its scripts, the Weft worker
// bundles, the validator sandbox's wasm, manifest and icons) in the Cache Storage, so the app opens
// and works with the network off. Data does not go through here: the database lives in IndexedDB,
// and sync runs in the Weft worker over libp2p.
//
// `vite build` prepends the list of files to precache and a version hashed from their contents
// (scripts/vite-app-shell.ts): `self.WEFT_SHELL = { version, files }`. Under the dev server there is
// no list, and src/app/pwa.ts does not register this worker.
//
// Strategy:
// - the shell: cache first (its files are immutable per version; a new build is a new sw.js);
// - config.json (the relay addresses): network first, the last good copy when offline;
// - anything else: the network, untouched.
// A new version installs next to the running one and waits until the page asks it to take over
// (the app offers a reload), so a running page never loses the files of its own version.

const SHELL = self.WEFT_SHELL ?? { version: 'dev', files: [] }
const SHELL_CACHE = `weft-board-shell-${SHELL.version}`
const CONFIG_CACHE = 'weft-board-config'
const scope = new URL(self.registration.scope)
const indexUrl = new URL('./', scope).href
const configUrl = new URL('config.json', scope).href
const shellUrls = new Set(SHELL.files.map((f) => new URL(f, scope).href))

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE)
    // `reload`: straight from the server, never a stale copy from the HTTP cache.
    await cache.addAll([...shellUrls].map((url) => new Request(url, { cache: 'reload' })))
    // The page that registered us fetched config.json before we could keep a copy: keep one now.
    await caches.open(CONFIG_CACHE).then((c) => c.add(new Request(configUrl, { cache: 'no-cache' }))).catch(() => undefined)
  })())
})

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('weft-board-shell-') && key !== SHELL_CACHE) await caches.delete(key)
    }
    // Control the pages already open (the first install), so they work offline from now on.
    await self.clients.claim()
  })())
})

self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') void self.skipWaiting()
})

self.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== scope.origin) return
  url.search = ''
  url.hash = ''
  if (url.href === configUrl) {
    event.respondWith(networkFirst(request))
  } else if (request.mode === 'navigate' && (url.href === indexUrl || url.href === `${indexUrl}index.html`)) {
    event.respondWith(cacheFirst(indexUrl, request))
  } else if (shellUrls.has(url.href)) {
    event.respondWith(cacheFirst(url.href, request))
  }
})

async function cacheFirst(key, request) {
  const hit = await caches.match(key, { cacheName: SHELL_CACHE })
  return hit ?? await fetch(request)
}

async function networkFirst(request) {
  const cache = await caches.open(CONFIG_CACHE)
  try {
    const response = await fetch(request, { cache: 'no-cache' })
    if (response.ok) await cache.put(configUrl, response.clone())
    return response
  } catch (err) {
    const hit = await cache.match(configUrl)
    if (hit != null) return hit
    throw err
  }
}

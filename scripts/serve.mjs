// A small static file server for the built app (dist/), on node:http with no dependencies.
// It serves GET and HEAD only, never leaves its root, answers with the MIME types a PWA needs
// (`application/manifest+json`, `text/javascript` for modules and workers, `application/wasm` for
// streaming compilation) and cache headers suited to a service-worker app shell: hashed files
// under assets/ are immutable, everything else is revalidated on every load.
import { Buffer } from 'node:buffer'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'

export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2'
}

const IMMUTABLE = 'public, max-age=31536000, immutable'
const REVALIDATE = 'no-cache'

/**
 * @param {{
 *   root: string,
 *   routes?: Record<string, () => { type: string, body: string }>,
 *   headers?: Record<string, string>
 * }} options `root`: the directory served; `routes`: dynamic answers by exact path (e.g.
 *   `/config.json`), evaluated per request; `headers`: added to every answer.
 * @returns {import('node:http').Server}
 */
export function createStaticServer({ root, routes = {}, headers = {} }) {
  const base = resolve(root)

  /** @param {import('node:http').ServerResponse} res @param {number} status @param {string} text */
  function plain(res, status, text, extra = {}) {
    res.writeHead(status, { ...headers, ...extra, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) })
    res.end(text)
  }

  return createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' })
      const head = req.method === 'HEAD'
      let pathname
      try {
        pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
      } catch {
        return plain(res, 400, 'bad request\n')
      }
      if (pathname.includes('\0')) return plain(res, 400, 'bad request\n')

      const route = routes[pathname]
      if (route != null) {
        const { type, body } = route()
        res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': REVALIDATE })
        return res.end(head ? undefined : body)
      }

      let file = join(base, normalize(pathname))
      if (file !== base && !file.startsWith(base + sep)) return plain(res, 403, 'forbidden\n')
      let info = await stat(file).catch(() => undefined)
      if (info?.isDirectory() === true) {
        file = join(file, 'index.html')
        info = await stat(file).catch(() => undefined)
      }
      if (info == null || !info.isFile()) return plain(res, 404, 'not found\n')

      const type = MIME_TYPES[/** @type {keyof typeof MIME_TYPES} */ (extname(file).toLowerCase())] ?? 'application/octet-stream'
      const immutable = pathname.startsWith('/assets/')
      res.writeHead(200, {
        ...headers,
        'Content-Type': type,
        'Content-Length': info.size,
        'Cache-Control': immutable ? IMMUTABLE : REVALIDATE,
        'Last-Modified': info.mtime.toUTCString(),
        'X-Content-Type-Options': 'nosniff'
      })
      if (head) return res.end()
      createReadStream(file)
        .on('error', () => { res.destroy() })
        .pipe(res)
    })().catch((err) => {
      if (!res.headersSent) plain(res, 500, 'internal error\n')
      else res.destroy(err)
    })
  })
}

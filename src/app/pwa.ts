/**
 * The installable, offline part: registers the service worker (public/sw.js, which precaches the
 * app shell listed at build time), and offers a reload when a new version has been installed.
 * Only in production builds: under the Vite dev server modules change on every edit.
 */
import type { Notices } from './notices.js'

export function registerServiceWorker(notices: Notices): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return
  const offerUpdate = (worker: ServiceWorker): void => {
    notices.show('info', 'A new version of the app is ready.', {
      label: 'Reload',
      run: () => { worker.postMessage({ type: 'skip-waiting' }) }
    })
  }
  // The first install takes control silently; a later change of controller is an update the user
  // accepted (here or in another tab): reload so page and cache are the same version.
  const hadController = navigator.serviceWorker.controller != null
  let reloading = false
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController || reloading) return
    reloading = true
    location.reload()
  })
  void navigator.serviceWorker.register(new URL('sw.js', document.baseURI), { scope: './' }).then((reg) => {
    if (reg.waiting != null && navigator.serviceWorker.controller != null) offerUpdate(reg.waiting)
    reg.addEventListener('updatefound', () => {
      const installing = reg.installing
      installing?.addEventListener('statechange', () => {
        // Installed while another version controls the page: it waits until asked.
        if (installing.state === 'installed' && navigator.serviceWorker.controller != null) offerUpdate(installing)
      })
    })
  }).catch((err: unknown) => { notices.show('error', `Offline support is unavailable: ${(err as Error).message}`) })
}

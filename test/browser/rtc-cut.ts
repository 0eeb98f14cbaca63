/**
 * Cutting this device's direct (WebRTC) paths, for tests that take a device off the network.
 *
 * Chromium cannot be told to drop one context's UDP (offline emulation leaves WebRTC alone, and
 * tests may not touch the machine's firewall), so this stands in for the network, not for Weft:
 * the page's `RTCPeerConnection` is the real one, counted; `cut()` closes every real peer
 * connection this tab hosts (the remote sees a real close, our host tab sees `closed`) and closes
 * any new one while the cut lasts. The relay path is cut for real, by the test's TCP proxy; with
 * both cut, no connection can be signalled either.
 *
 * Installed before the client loads the WebRTC host (which constructs `RTCPeerConnection` through
 * the global at call time).
 */
const Real = globalThis.RTCPeerConnection as typeof RTCPeerConnection | undefined
const live = new Set<RTCPeerConnection>()
let cutting = false

function shut(pc: RTCPeerConnection): void {
  live.delete(pc)
  if (pc.connectionState === 'closed') return
  pc.close()
  // A local close() fires no event; the host listens for one, as it would for a remote failure.
  pc.dispatchEvent(new Event('connectionstatechange'))
}

if (typeof Real === 'function') {
  class CountedPeerConnection extends Real {
    constructor(config?: RTCConfiguration) {
      super(config)
      live.add(this)
      this.addEventListener('connectionstatechange', () => { if (this.connectionState === 'closed' || this.connectionState === 'failed') live.delete(this) })
      if (cutting) queueMicrotask(() => { shut(this) })
    }
  }
  globalThis.RTCPeerConnection = CountedPeerConnection
}

export const rtcCut = {
  /** Close every peer connection this tab hosts, and every new one until `heal()`. */
  cut(): number {
    cutting = true
    const n = live.size
    for (const pc of [...live]) shut(pc)
    return n
  },
  heal(): void {
    cutting = false
  },
  /** Peer connections this tab hosts that are not closed. */
  get live(): number {
    return live.size
  }
}

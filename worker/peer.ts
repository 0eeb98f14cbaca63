/**
 * The browser peer composed: libp2p (WebSockets and circuit-relay transports, WebRTC through a
 * host tab, noise, yamux, identify, ping), the IndexedDB log store and the Net API, with the peer
 * key and user identity kept in IndexedDB. `startBrowserPeer(config)` works in a SharedWorker and
 * in a dedicated Worker alike; serving tabs is worker/host.ts's job.
 *
 * Order matters for WebRTC: @libp2p/webrtc binds `globalThis.RTCPeerConnection` when its module is
 * evaluated, so the stand-ins are installed first and the module is imported dynamically after.
 */
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { logger } from '../src/core/logger.js'
import type { PrivateKey } from '../src/core/identity.js'
import { createNet } from '../src/net/index.js'
import { libp2pTransport } from '../src/net/index.js'
import type { Net } from '../src/net/types.js'
import { idbStore } from '../src/store/idb.js'
import type { KVStore } from '../src/store/kv.js'
import { createLogStore, type LogStore } from '../src/store/index.js'
import type { PeerConfig } from '../src/contract/index.js'
import { createRtcBridge, installRtcStandIns, type RtcBridge } from '../src/platform/rtc-standin.browser.js'
import { browserGater } from './gater.js'
import { loadSecrets } from './keys.js'
import { keepRelays, type RelayKeeper } from './relays.js'
import { upgradeToWebRTC, type Upgrader } from './rtc/upgrade.js'

const log = logger('weft:worker:peer')

export interface BrowserPeerInit {
  /** Stand-ins throw on members they do not implement (tests). @default false */
  rtcStrict?: boolean
  /** How the worker runs (reported to tabs). */
  kind: 'shared-worker' | 'dedicated-worker'
}

export interface BrowserPeer {
  readonly config: PeerConfig
  readonly kind: 'shared-worker' | 'dedicated-worker'
  readonly libp2p: Libp2p
  readonly net: Net
  readonly logStore: LogStore
  /** The document store's KV (the db layer opens its own namespace on it). */
  readonly kv: KVStore
  readonly identity: PrivateKey
  /** Signs tokens: the libp2p peer key. */
  sign(data: Uint8Array): Promise<Uint8Array>
  verify(data: Uint8Array, signature: Uint8Array): Promise<boolean>
  readonly rtc: RtcBridge | undefined
  readonly relays: RelayKeeper
  readonly upgrader: Upgrader | undefined
  relayPeers(): ReadonlySet<string>
  readonly timings: { startedAt: number; startMs: number; reservationMs?: number }
  stop(): Promise<void>
}

function peerOf(addr: string): string {
  const at = addr.lastIndexOf('/p2p/')
  return at >= 0 ? addr.slice(at + 5) : ''
}

/** Start the browser peer. A failed start undoes what it started. */
export async function startBrowserPeer(config: PeerConfig, init: BrowserPeerInit): Promise<BrowserPeer> {
  const t0 = performance.now()
  const startedAt = Date.now()
  const useWebRTC = config.webrtc !== false
  const rtc = useWebRTC ? createRtcBridge({ strict: init.rtcStrict ?? false }) : undefined
  if (rtc != null && !installRtcStandIns(rtc)) log('a real RTCPeerConnection exists here; stand-ins not installed')
  // Imported only now: the module reads globalThis.RTCPeerConnection when it is evaluated.
  const webRTC = useWebRTC ? (await import('@libp2p/webrtc')).webRTC : undefined

  const secrets = await loadSecrets(config.name)
  const kv = await idbStore({ name: `${config.name}-store` })
  let libp2p: Libp2p | undefined
  let relays: RelayKeeper | undefined
  try {
    const logStore = await createLogStore(kv, { verifyBlocks: false })
    const relayPeers = new Set(config.relays.map(peerOf).filter((p) => p !== ''))
    const hideWebRTC = (addrs: Multiaddr[]): Multiaddr[] =>
      rtc?.hasHost === true ? addrs : addrs.filter((a) => !a.toString().endsWith('/webrtc'))
    const options: Libp2pOptions = {
      privateKey: secrets.peerKey,
      addresses: {
        listen: useWebRTC ? ['/p2p-circuit', '/webrtc'] : ['/p2p-circuit'],
        announceFilter: hideWebRTC
      },
      transports: [
        webSockets(),
        circuitRelayTransport({ reservationCompletionTimeout: 10_000 }),
        ...(webRTC != null ? [webRTC({ rtcConfiguration: { iceServers: [] } })] : [])
      ],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: browserGater({ relays: config.relays, ...(config.allowPrivate != null ? { allowPrivate: config.allowPrivate } : {}) }),
      services: { identify: identify(), identifyPush: identifyPush(), ping: ping() }
    }
    libp2p = await createLibp2p(options)
    const node = libp2p
    const net = createNet({ transport: libp2pTransport(node), logStore }, {
      ...(config.syncIntervalMs != null ? { syncIntervalMs: config.syncIntervalMs } : {}),
      allowPrivateAddrs: config.allowPrivate ?? false,
      logPrefix: node.peerId.toString().slice(-6)
    })
    await net.start()
    const startMs = performance.now() - t0
    const timings: BrowserPeer['timings'] = { startedAt, startMs }
    relays = keepRelays(node, config.relays)
    const keeper = relays
    void keeper.reserved().then(() => {
      timings.reservationMs = performance.now() - t0
      log('relay reservation held after %d ms', Math.round(timings.reservationMs))
    }).catch(() => undefined)
    const upgrader = rtc != null ? upgradeToWebRTC(node, rtc, { relayPeers: () => relayPeers }) : undefined
    // Advertise /webrtc only while a tab hosts WebRTC: refresh our record (identify push sends it).
    const unwatch = rtc?.onHostChange(() => {
      void node.peerStore.patch(node.peerId, {
        multiaddrs: node.getMultiaddrs().map((a) => a.decapsulate(`/p2p/${node.peerId.toString()}`))
      }).catch((err: Error) => { log.error('address update failed: %s', err.message) })
    })
    log('peer %s started in %d ms', node.peerId.toString(), Math.round(startMs))

    let stopping: Promise<void> | undefined
    return {
      config,
      kind: init.kind,
      libp2p: node,
      net,
      logStore,
      kv,
      identity: secrets.identity,
      sign: async (data) => await secrets.peerKey.sign(data),
      verify: async (data, sig) => await secrets.peerKey.publicKey.verify(data, sig),
      rtc,
      relays: keeper,
      upgrader,
      relayPeers: () => relayPeers,
      timings,
      stop() {
        stopping ??= (async () => {
          unwatch?.()
          upgrader?.stop()
          keeper.stop()
          await net.stop()
          await node.stop()
          await kv.close()
        })()
        return stopping
      }
    }
  } catch (err) {
    relays?.stop()
    if (libp2p != null) await Promise.resolve(libp2p.stop()).catch(() => undefined)
    await kv.close().catch(() => undefined)
    throw err
  }
}

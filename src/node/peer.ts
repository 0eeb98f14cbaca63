/**
 * Node embedding: `createPeer()` composes a libp2p node (TCP, WebSockets, circuit relay, noise,
 * yamux, identify, ping), a log store (LevelDB under `repo`, memory without one) and the Net API,
 * as Go programs import go-threads' `net`. The relay daemon is built on it.
 */
import '../platform/node-polyfills.js'
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { ConnectionGater, Libp2p, PrivateKey } from '@libp2p/interface'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { createNet } from '../net/index.js'
import type { NetInit } from '../net/options.js'
import { libp2pTransport } from '../net/index.js'
import type { Net } from '../net/types.js'
import { createLogStore, type LogStore } from '../store/index.js'
import { memoryStore } from '../store/index.js'
import { levelStore } from '../store/level.js'
import type { KVStore } from '../store/kv.js'

export interface RelayServerInit {
  /** Most reservations held at once. @default 128 */
  maxReservations?: number
  /** Reservation lifetime in ms. @default 7_200_000 (2 h) */
  reservationTtlMs?: number
  /** Most bytes relayed per relayed connection (both directions together). @default 16 MiB */
  dataLimitBytes?: number
  /** Longest life of a relayed connection, ms. @default 600_000 (10 min) */
  durationLimitMs?: number
}

export interface PeerInit extends NetInit {
  /** Directory for the LevelDB store and the peer key; memory and a fresh key when absent. */
  repo?: string
  /** Listen multiaddrs. @default ['/ip4/127.0.0.1/tcp/0'] */
  listen?: string[]
  /** Multiaddrs to announce instead of the listen addresses (e.g. a public IP). */
  announce?: string[]
  /** Relays to dial and keep reservations on (multiaddrs ending in /p2p/<id>). */
  relays?: string[]
  /** Serve circuit-relay-v2 reservations, with these limits. */
  relayServer?: RelayServerInit | boolean
  /** Connection manager: most connections before pruning. @default 400 */
  maxConnections?: number
  /** Connection manager: inbound connections accepted per second from one IP. @default 5 (libp2p's) */
  inboundConnectionThreshold?: number
  /** Connection manager: inbound connections being upgraded at once. @default 10 (libp2p's) */
  maxIncomingPendingConnections?: number
  /** Peer key (libp2p protobuf bytes); read from or written to `repo` when absent. */
  peerKey?: Uint8Array
  /** libp2p connection gater (a relay caps reservations per IP with it). @default allow everything */
  connectionGater?: ConnectionGater
  /**
   * LevelDB point reads of at most this many keys are answered on the calling thread (fast from
   * LevelDB's cache; a read from disk blocks the event loop meanwhile), larger ones on the thread
   * pool. 0 sends every read to the pool: for a relay, whose store is mostly cold and whose event
   * loop serves many peers. See `levelStore`'s `syncReadMax`.
   * @default 16
   */
  syncReadMax?: number
}

export interface Peer {
  readonly libp2p: Libp2p
  readonly net: Net
  readonly logStore: LogStore
  /** The key-value store under the log store (LevelDB or memory), for layers above net (the DB). */
  readonly kv: KVStore
  readonly peerId: string
  /** Multiaddrs others can dial us on (with /p2p/<id>). */
  addrs(): string[]
  /** Circuit-relay reservations held by our relay server right now (0 when `relayServer` is off). */
  relayReservations(): number
  stop(): Promise<void>
}

async function loadPeerKey(repo: string | undefined, given: Uint8Array | undefined): Promise<PrivateKey> {
  if (given != null) return privateKeyFromProtobuf(given)
  if (repo == null) return await generateKeyPair('Ed25519')
  const path = join(repo, 'peer.key')
  try {
    return privateKeyFromProtobuf(await readFile(path))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const key = await generateKeyPair('Ed25519')
  await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  await chmod(path, 0o400)
  return key
}

/** Start a Weft peer in Node. Undoes what it started when a step fails. */
export async function createPeer(init: PeerInit = {}): Promise<Peer> {
  if (init.repo != null) await mkdir(init.repo, { recursive: true })
  const privateKey = await loadPeerKey(init.repo, init.peerKey)
  const kv: KVStore = init.repo != null ? await levelStore({ path: join(init.repo, 'store'), ...(init.syncReadMax !== undefined ? { syncReadMax: init.syncReadMax } : {}) }) : memoryStore()
  let libp2p: Libp2p | undefined
  try {
    // Blocks are verified before they reach the store: openRecord checks every CID of a received
    // record, and sealRecord computes the CIDs of the blocks it makes.
    const logStore = await createLogStore(kv, { verifyBlocks: false })
    const relay = init.relayServer === true ? {} : init.relayServer === false ? undefined : init.relayServer
    const services: Record<string, unknown> = { identify: identify(), ping: ping() }
    if (relay != null) {
      services.relay = circuitRelayServer({
        reservations: {
          maxReservations: relay.maxReservations ?? 128,
          reservationTtl: relay.reservationTtlMs ?? 2 * 60 * 60_000,
          defaultDataLimit: BigInt(relay.dataLimitBytes ?? 16 * 1024 * 1024),
          defaultDurationLimit: relay.durationLimitMs ?? 10 * 60_000
        }
      })
    }
    const options: Libp2pOptions = {
      privateKey,
      addresses: {
        listen: [...(init.listen ?? ['/ip4/127.0.0.1/tcp/0']), ...((init.relays?.length ?? 0) > 0 ? ['/p2p-circuit'] : [])],
        ...(init.announce != null && init.announce.length > 0 ? { announce: init.announce } : {})
      },
      transports: [tcp(), webSockets(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: {
        maxConnections: init.maxConnections ?? 400,
        ...(init.inboundConnectionThreshold != null ? { inboundConnectionThreshold: init.inboundConnectionThreshold } : {}),
        ...(init.maxIncomingPendingConnections != null ? { maxIncomingPendingConnections: init.maxIncomingPendingConnections } : {})
      },
      services: services as NonNullable<Libp2pOptions['services']>,
      ...(init.connectionGater != null ? { connectionGater: init.connectionGater } : {})
    }
    libp2p = await createLibp2p(options)
    const net = createNet({ transport: libp2pTransport(libp2p), logStore }, init)
    await net.start()
    for (const r of init.relays ?? []) {
      try {
        await libp2p.dial(multiaddr(r))
      } catch {
        // the relay may come up later; the circuit transport keeps trying
      }
    }
    const node = libp2p
    let stopping: Promise<void> | undefined
    return {
      libp2p: node,
      net,
      logStore,
      kv,
      peerId: node.peerId.toString(),
      addrs: () => node.getMultiaddrs().map((a) => a.toString()),
      relayReservations: () => (node.services as { relay?: CircuitRelayService }).relay?.reservations.size ?? 0,
      async stop() {
        stopping ??= (async () => {
          await net.stop()
          await node.stop()
          await kv.close()
        })()
        await stopping
      }
    }
  } catch (err) {
    if (libp2p != null) await Promise.resolve(libp2p.stop()).catch(() => undefined)
    await kv.close().catch(() => undefined)
    throw err
  }
}

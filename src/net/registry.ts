/**
 * The thread registry: the threads this peer holds, with their keys, key IDs, our own log and the
 * public keys of their logs, and the peers each thread names in its log addresses. It is the one
 * component that changes logs and addresses in the log store, so it alone invalidates what it
 * caches.
 *
 * A thread is held per (thread ID, key ID). A member holds one key per thread, stored under the
 * thread ID. A replicator may be handed one thread ID under several service keys (its owner's and
 * a stranger's): the first is stored under the thread ID, each further one under
 * `<thread ID>:<key ID hex>`, so no hand-over blocks another and none reveals the others.
 */
import { equalBytes, toHex } from '../core/bytes.js'
import { privateKeyFromBytes, privateKeyToBytes, publicKeyFromBytes, publicKeyToBytes, type PrivateKey, type PublicKey } from '../core/identity.js'
import { logIDFromBytes, logIDFromPublicKey, logIDToPublicKey } from '../core/log-id.js'
import type { Logger } from '../core/logger.js'
import { threadIDFromBytes, threadIDToBytes } from '../core/thread-id.js'
import { serviceKeyOnly, threadKeyFromBytes, threadKeyToBytes, type ThreadKey } from '../core/thread-key.js'
import type { LogID, ThreadID } from '../core/types.js'
import type { Head, LogInfo, LogStore } from '../store/logstore-types.js'
import { headsDigest, keyID } from './auth.js'
import { InvalidMessageError, ThreadAlreadyExistsError, ThreadUnknownError } from './errors.js'
import type { WireHead, WireLog } from './messages.js'
import { toWireHeads } from './wire.js'

export interface ThreadState {
  /** The thread ID peers know. */
  readonly id: ThreadID
  /** Where the log store keeps it: the thread ID, or `<id>:<kid hex>` for a further key. */
  readonly storeId: ThreadID
  readonly idBytes: Uint8Array
  readonly key: ThreadKey
  /** Key ID of the service key (docs/PROTOCOL.md). */
  readonly kid: Uint8Array
  /** Our own log in the thread, when we hold its private key. */
  own?: { id: LogID; key: PrivateKey }
  /** Public keys of the thread's logs, by log ID. */
  readonly logKeys: Map<LogID, PublicKey>
}

export interface HeadsView {
  heads: Array<{ id: LogID; head: Head }>
  wire: WireHead[]
  digest: Uint8Array
}

export interface RegistryInit {
  store: LogStore
  /** Our peer ID (never listed among a thread's peers). */
  self: string
  /** Addresses of a peer were loaded or learned: the transport should know them. */
  onAddrs(peer: string, addrs: string[]): void
  log: Logger
}

export interface ThreadRegistry {
  /** The thread under its own ID; ThreadUnknownError when absent. */
  get(id: ThreadID): Promise<ThreadState>
  /** The thread a request names (binary ID and key ID), if we hold it under that key. */
  find(idBytes: Uint8Array, kid: Uint8Array): Promise<ThreadState | undefined>
  /** Add a thread under its ID; ThreadAlreadyExistsError when present. */
  create(id: ThreadID, key: ThreadKey): Promise<ThreadState>
  /** The thread under `id` as held, or a new one with `key`. */
  join(id: ThreadID, key: ThreadKey): Promise<{ state: ThreadState; existed: boolean }>
  /** The thread under (id, kid of `serviceKey`), added with the service key only when absent. */
  adopt(id: ThreadID, serviceKey: Uint8Array, admit: () => Promise<void>): Promise<ThreadState>
  remove(id: ThreadID): Promise<void>
  /** Every thread held, further keys included. */
  list(): Promise<ThreadState[]>
  addOwnLog(state: ThreadState, key: PrivateKey, addrs: string[]): Promise<void>
  /** Add a log a peer told us about, or merge its addresses. True when the log was new. */
  learnLog(state: ThreadState, wire: WireLog): Promise<boolean>
  /** Merge addresses into a log's; true when something was added. */
  addAddrs(state: ThreadState, log: LogID, addrs: string[]): Promise<boolean>
  logs(state: ThreadState): Promise<LogInfo[]>
  /** The head of every log (cheaper than `logs`). */
  heads(state: ThreadState): Promise<Array<{ id: LogID; head: Head }>>
  /** The heads as sent on the wire and their digest, cached until the thread changes. */
  headsView(state: ThreadState): Promise<HeadsView>
  /** Records were appended to the thread (its heads changed). */
  appended(state: ThreadState): void
  /** The peers named by the thread's log addresses, without us, with their addresses. */
  peers(state: ThreadState): Promise<Map<string, string[]>>
  /** Tell `onAddrs` every peer address the store holds (at start). */
  reseed(): Promise<void>
}

/** The peer ID an address names (its last `/p2p/` part), if any. */
export function peerOfAddr(addr: string): string | undefined {
  const at = addr.lastIndexOf('/p2p/')
  if (at < 0) return undefined
  const id = addr.slice(at + 5)
  return id === '' || id.includes('/') ? undefined : id
}

export function createThreadRegistry(init: RegistryInit): ThreadRegistry {
  const { store, self } = init
  const states = new Map<ThreadID, Promise<ThreadState | undefined>>()
  const peerCache = new Map<ThreadID, Map<string, string[]>>()
  const headsCache = new Map<ThreadID, Promise<HeadsView>>()
  /** Bumped on every change of a thread's heads, so a view computed across a change is not kept. */
  const versions = new Map<ThreadID, number>()
  const changed = (storeId: ThreadID): void => {
    versions.set(storeId, (versions.get(storeId) ?? 0) + 1)
    headsCache.delete(storeId)
  }

  const storeIdOf = (id: ThreadID, kid: Uint8Array): ThreadID => `${id}:${toHex(kid)}` as ThreadID
  const realIdOf = (storeId: ThreadID): ThreadID => (storeId.includes(':') ? storeId.slice(0, storeId.indexOf(':')) : storeId) as ThreadID

  async function load(storeId: ThreadID): Promise<ThreadState | undefined> {
    let stored
    try {
      stored = await store.getThread(storeId)
    } catch (err) {
      if ((err as Error).name === 'ThreadNotFoundError') return undefined
      throw err
    }
    const id = realIdOf(storeId)
    const key = threadKeyFromBytes(stored.key)
    const state: ThreadState = { id, storeId, idBytes: threadIDToBytes(id), key, kid: keyID(key.service), logKeys: new Map() }
    for (const l of await store.listLogs(storeId)) {
      state.logKeys.set(l.id, logIDToPublicKey(l.id))
      if (l.privateKey != null && state.own == null) state.own = { id: l.id, key: await privateKeyFromBytes(l.privateKey) }
    }
    return state
  }

  /** The state of a stored thread, loaded once; absent threads are not remembered. */
  async function cached(storeId: ThreadID): Promise<ThreadState | undefined> {
    const hit = states.get(storeId)
    if (hit != null) return await hit
    const p = load(storeId)
    states.set(storeId, p)
    const drop = (): void => { if (states.get(storeId) === p) states.delete(storeId) }
    p.then((s) => { if (s == null) drop() }, drop)
    return await p
  }

  function forget(storeId: ThreadID): void {
    states.delete(storeId)
    peerCache.delete(storeId)
    changed(storeId)
  }

  async function addStored(storeId: ThreadID, key: ThreadKey): Promise<ThreadState> {
    await store.addThread(storeId, { key: threadKeyToBytes(key) })
    forget(storeId)
    const state = await cached(storeId)
    if (state == null) throw new ThreadUnknownError(`thread ${storeId} vanished while being added`)
    return state
  }

  function announceAddrs(addrs: string[]): void {
    const byPeer = new Map<string, string[]>()
    for (const a of addrs) {
      const p = peerOfAddr(a)
      if (p == null || p === self) continue
      byPeer.set(p, [...(byPeer.get(p) ?? []), a])
    }
    for (const [p, list] of byPeer) init.onAddrs(p, list)
  }

  const registry: ThreadRegistry = {
    async get(id) {
      const state = await cached(id)
      if (state == null) {
        // Keep the store's own error as the cause (callers may look at it).
        const cause: unknown = await store.getThread(id).then(() => undefined, (err: unknown) => err)
        throw new ThreadUnknownError(`thread ${id} not found`, cause == null ? undefined : { cause })
      }
      return state
    },

    async find(idBytes, kid) {
      let id: ThreadID
      try { id = threadIDFromBytes(idBytes) } catch { return undefined }
      const natural = await cached(id)
      if (natural != null && equalBytes(natural.kid, kid)) return natural
      const further = await cached(storeIdOf(id, kid))
      return further != null && equalBytes(further.kid, kid) ? further : undefined
    },

    async create(id, key) {
      try {
        return await addStored(id, key)
      } catch (err) {
        if ((err as Error).name === 'ThreadExistsError') throw new ThreadAlreadyExistsError(`thread ${id} exists`, { cause: err })
        throw err
      }
    },

    async join(id, key) {
      const held = await cached(id)
      if (held != null) return { state: held, existed: true }
      try {
        return { state: await addStored(id, key), existed: false }
      } catch (err) {
        if ((err as Error).name !== 'ThreadExistsError') throw err
        return { state: await registry.get(id), existed: true }
      }
    },

    async adopt(id, serviceKey, admit) {
      const kid = keyID(serviceKey)
      const held = await registry.find(threadIDToBytes(id), kid)
      if (held != null) return held
      await admit()
      const key = serviceKeyOnly({ service: serviceKey })
      const natural = await cached(id)
      const storeId = natural == null ? id : storeIdOf(id, kid)
      try {
        return await addStored(storeId, key)
      } catch (err) {
        if ((err as Error).name !== 'ThreadExistsError') throw err
        const raced = await registry.find(threadIDToBytes(id), kid)
        if (raced == null) throw err
        return raced
      }
    },

    async remove(id) {
      await registry.get(id)
      await store.deleteThread(id)
      forget(id)
    },

    async list() {
      const out: ThreadState[] = []
      for (const t of await store.listThreads()) {
        const s = await cached(t.id)
        if (s != null) out.push(s)
      }
      return out
    },

    async addOwnLog(state, key, addrs) {
      const id = logIDFromPublicKey(key.publicKey)
      await store.addLog(state.storeId, { id, publicKey: publicKeyToBytes(key.publicKey), privateKey: privateKeyToBytes(key), addrs })
      peerCache.delete(state.storeId)
      changed(state.storeId)
      state.own = { id, key }
      state.logKeys.set(id, key.publicKey)
    },

    async learnLog(state, wire) {
      let id: LogID
      try {
        id = logIDFromBytes(wire.id)
        const fromId = publicKeyToBytes(logIDToPublicKey(id))
        if (!equalBytes(fromId, publicKeyToBytes(publicKeyFromBytes(wire.pubKey)))) throw new InvalidMessageError('the public key does not match the log ID')
      } catch (err) {
        throw new InvalidMessageError('log announcement with a bad ID or key', { cause: err })
      }
      if (state.logKeys.has(id)) {
        if (wire.addrs.length > 0) await registry.addAddrs(state, id, wire.addrs)
        return false
      }
      try {
        await store.addLog(state.storeId, { id, publicKey: wire.pubKey, addrs: wire.addrs })
      } catch (err) {
        if ((err as Error).name !== 'LogExistsError') throw err
      } finally {
        peerCache.delete(state.storeId)
        changed(state.storeId)
      }
      state.logKeys.set(id, logIDToPublicKey(id))
      announceAddrs(wire.addrs)
      return true
    },

    async addAddrs(state, log, addrs) {
      const before = await store.getLog(state.storeId, log)
      const fresh = addrs.filter((a) => !before.addrs.includes(a))
      if (fresh.length === 0) return false
      await store.addAddrs(state.storeId, log, fresh)
      peerCache.delete(state.storeId)
      announceAddrs(fresh)
      return true
    },

    async logs(state) {
      return await store.listLogs(state.storeId)
    },

    async heads(state) {
      return (await registry.headsView(state)).heads
    },

    async headsView(state) {
      const hit = headsCache.get(state.storeId)
      if (hit != null) return await hit
      const version = versions.get(state.storeId) ?? 0
      const p = store.getHeads(state.storeId).then((heads) => {
        const wire = toWireHeads(heads)
        return { heads, wire, digest: headsDigest(wire) }
      })
      headsCache.set(state.storeId, p)
      p.then(() => {
        if ((versions.get(state.storeId) ?? 0) !== version && headsCache.get(state.storeId) === p) headsCache.delete(state.storeId)
      }, () => { if (headsCache.get(state.storeId) === p) headsCache.delete(state.storeId) })
      return await p
    },

    appended(state) {
      changed(state.storeId)
    },

    async peers(state) {
      const hit = peerCache.get(state.storeId)
      if (hit != null) return hit
      const peers = new Map<string, string[]>()
      for (const log of await store.listLogs(state.storeId)) {
        for (const a of log.addrs) {
          const p = peerOfAddr(a)
          if (p == null || p === self) continue
          const list = peers.get(p)
          if (list == null) peers.set(p, [a])
          else if (!list.includes(a)) list.push(a)
        }
      }
      peerCache.set(state.storeId, peers)
      return peers
    },

    async reseed() {
      for (const state of await registry.list()) {
        for (const [p, addrs] of await registry.peers(state)) init.onAddrs(p, addrs)
      }
    }
  }
  return registry
}

/**
 * The thread registry: the threads this peer holds, with their keys, key IDs, our own logs, the
 * public keys of their logs and where they are frozen, and the peers each thread names in its
 * logs' address lists (and the peers that proved its key to us). It is the one component that
 * changes logs and addresses in the log store, so it alone invalidates what it caches.
 *
 * Address lists are taken only when the log's key signed them, and only when newer than the one
 * held (docs/PROTOCOL.md, "Logs and their addresses"); a log is learnt without addresses otherwise.
 *
 * A thread is held per (thread ID, key ID). A member holds one key per thread, stored under the
 * thread ID. A replicator may be handed one thread ID under several service keys (its owner's and
 * a stranger's): the first is stored under the thread ID, each further one under
 * `<thread ID>:<key ID hex>`, so no hand-over blocks another and none reveals the others.
 */
import type { CID } from 'multiformats/cid'
import { equalBytes, toHex } from '../core/index.js'
import { privateKeyFromBytes, privateKeyToBytes, publicKeyFromBytes, publicKeyToBytes, type PrivateKey, type PublicKey } from '../core/index.js'
import { logIDFromBytes, logIDFromPublicKey, logIDToPublicKey } from '../core/index.js'
import type { Logger } from '../core/logger.js'
import { threadIDFromBytes, threadIDToBytes } from '../core/index.js'
import { serviceKeyOnly, threadKeyFromBytes, threadKeyToBytes, type ThreadKey } from '../core/index.js'
import type { LogID, ThreadID } from '../core/types.js'
import type { Head, LogFork, LogInfo, LogStore, SignedAddrs } from '../store/logstore-types.js'
import type { AuthorCertificate } from '../core/index.js'
import { headsDigest, keyID } from './auth.js'
import { InvalidMessageError, ThreadAlreadyExistsError, ThreadUnknownError } from './errors.js'
import { ownAddrList, peerOfAddr, sameList, signAddrs, verifyAddrs } from './log-addrs.js'
import type { WireHead, WireLog } from './messages.js'
import { logIdBytes, toWireHeads } from './wire.js'

export { peerOfAddr } from './log-addrs.js'

/** A log this peer writes in a thread. */
export interface OwnLog {
  id: LogID
  key: PrivateKey
  /** The identity its records are written as, when it is not the log key. */
  author?: PublicKey
  /** The author's certificate for the log key, with `author`. */
  certificate?: AuthorCertificate
  /** Its place among our logs in the thread (0: the first, the default). */
  index: number
}

/** Peers that proved a thread's key to us, kept per thread (the latest to join the set). */
const MAX_PROVEN_PEERS = 64
/** Addresses of one peer taken from a thread's logs. */
const MAX_ADDRS_PER_PEER = 32

export interface ThreadState {
  /** The thread ID peers know. */
  readonly id: ThreadID
  /** Where the log store keeps it: the thread ID, or `<id>:<kid hex>` for a further key. */
  readonly storeId: ThreadID
  readonly idBytes: Uint8Array
  readonly key: ThreadKey
  /** Key ID of the service key (docs/PROTOCOL.md). */
  readonly kid: Uint8Array
  /** Our first own log in the thread (the default for writes), when we hold one. */
  own?: OwnLog
  /** Every log of ours in the thread, by log ID. */
  readonly owns: Map<LogID, OwnLog>
  /** Public keys of the thread's logs, by log ID. */
  readonly logKeys: Map<LogID, PublicKey>
  /** Logs frozen at a fork: the counter, by log ID. */
  readonly frozen: Map<LogID, number>
}

/** What learning a log announcement changed. */
export interface Learnt {
  /** The log was new to us. */
  added: boolean
  /** A newer signed address list was taken. */
  addrs: boolean
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
  /** The time, in ms (for the sequence numbers of our address lists). @default Date.now */
  now?: () => number
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
  /**
   * The thread under (id, kid of `serviceKey`), added with the service key only when absent and
   * `admit` agrees (it is told where the thread will be held: the account of the admission policy).
   */
  adopt(id: ThreadID, serviceKey: Uint8Array, admit: (storeId: ThreadID) => Promise<void>): Promise<ThreadState>
  remove(id: ThreadID): Promise<void>
  /** Every thread held, further keys included. */
  list(): Promise<ThreadState[]>
  /** Add a log of ours (its address list signed with `addrs`); LimitExceededError past 4,096 logs. */
  addOwnLog(state: ThreadState, key: PrivateKey, addrs: string[], author?: { key: PublicKey; certificate: AuthorCertificate }): Promise<OwnLog>
  /**
   * Add a log a peer told us about, or take its newer signed address list. InvalidMessageError
   * for a bad ID or key, or an address list the log's key did not sign (forged); LimitExceededError
   * when the thread holds 4,096 logs.
   */
  learnLog(state: ThreadState, wire: WireLog): Promise<Learnt>
  /**
   * Sign our logs' address lists again: our addresses `ours`, the other peers the lists named,
   * and `add`. Returns the logs whose list changed.
   */
  signOwnAddrs(state: ThreadState, ours: string[], add?: string[]): Promise<LogID[]>
  /** Freeze a log at a fork (docs/PROTOCOL.md, "Forks"); returns the fork it is frozen at. */
  freeze(state: ThreadState, log: LogID, fork: LogFork): Promise<LogFork>
  /** Where a record of the thread is (log and counter), if we hold it. */
  findRecord(state: ThreadState, cid: CID): Promise<{ log: LogID; counter: number } | undefined>
  /** `peer` proved the thread's key to us: it is a thread peer. */
  proven(state: ThreadState, peer: string): void
  logs(state: ThreadState): Promise<LogInfo[]>
  /** The head of every log (cheaper than `logs`). */
  heads(state: ThreadState): Promise<Array<{ id: LogID; head: Head }>>
  /** The heads as sent on the wire and their digest, cached until the thread changes. */
  headsView(state: ThreadState): Promise<HeadsView>
  /** Records were appended to the thread (its heads changed). */
  appended(state: ThreadState): void
  /**
   * The thread's peers, without us, with their addresses: those the logs' address lists name
   * (logs with more records first) and those that proved the thread's key to us.
   */
  peers(state: ThreadState): Promise<Map<string, string[]>>
  /** Tell `onAddrs` every peer address the store holds (at start). */
  reseed(): Promise<void>
}

export function createThreadRegistry(init: RegistryInit): ThreadRegistry {
  const { store, self } = init
  const now = init.now ?? Date.now
  const states = new Map<ThreadID, Promise<ThreadState | undefined>>()
  const peerCache = new Map<ThreadID, Map<string, string[]>>()
  const provenPeers = new Map<ThreadID, Set<string>>()
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
    const state: ThreadState = { id, storeId, idBytes: threadIDToBytes(id), key, kid: keyID(key.service), owns: new Map(), logKeys: new Map(), frozen: new Map() }
    for (const l of await store.listLogs(storeId)) {
      state.logKeys.set(l.id, logIDToPublicKey(l.id))
      if (l.fork != null) state.frozen.set(l.id, l.fork.counter)
      if (l.privateKey == null) continue
      const own: OwnLog = { id: l.id, key: await privateKeyFromBytes(l.privateKey), index: l.own ?? 0 }
      if (l.author != null && l.certificate != null) {
        own.author = publicKeyFromBytes(l.author)
        own.certificate = { nonce: l.certificate.nonce, signature: l.certificate.signature }
      }
      state.owns.set(l.id, own)
      if (state.own == null || own.index < state.own.index) state.own = own
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
    provenPeers.delete(storeId)
    changed(storeId)
  }

  async function addStored(storeId: ThreadID, key: ThreadKey): Promise<ThreadState> {
    await store.addThread(storeId, { key: threadKeyToBytes(key) })
    forget(storeId)
    const state = await cached(storeId)
    if (state == null) throw new ThreadUnknownError(`thread ${storeId} vanished while being added`)
    return state
  }

  /** Add the peers `addrs` name to `peers`, after what it holds (a peer keeps its first addresses). */
  function addPeers(peers: Map<string, string[]>, addrs: readonly string[]): void {
    for (const a of addrs) {
      const p = peerOfAddr(a)
      if (p == null || p === self) continue
      const list = peers.get(p)
      if (list == null) peers.set(p, [a])
      else if (list.length < MAX_ADDRS_PER_PEER && !list.includes(a)) list.push(a)
    }
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
      const key = serviceKeyOnly({ service: serviceKey })
      const natural = await cached(id)
      const storeId = natural == null ? id : storeIdOf(id, kid)
      await admit(storeId)
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

    async addOwnLog(state, key, addrs, author) {
      const id = logIDFromPublicKey(key.publicKey)
      const held = state.owns.get(id)
      if (held != null) return held
      const index = state.owns.size === 0 ? 0 : Math.max(...[...state.owns.values()].map((o) => o.index)) + 1
      const list = ownAddrList(init.self, addrs, undefined)
      const signedAddrs = await signAddrs(key, state.idBytes, logIdBytes(id), now(), list)
      await store.addLog(state.storeId, {
        id,
        publicKey: publicKeyToBytes(key.publicKey),
        privateKey: privateKeyToBytes(key),
        signedAddrs,
        ...(index > 0 ? { own: index } : {}),
        ...(author != null ? { author: publicKeyToBytes(author.key), certificate: { nonce: author.certificate.nonce, signature: author.certificate.signature } } : {})
      })
      peerCache.delete(state.storeId)
      changed(state.storeId)
      const own: OwnLog = { id, key, index, ...(author != null ? { author: author.key, certificate: author.certificate } : {}) }
      state.owns.set(id, own)
      if (state.own == null || index < state.own.index) state.own = own
      state.logKeys.set(id, key.publicKey)
      return own
    },

    async learnLog(state, wire) {
      let id: LogID
      let publicKey: PublicKey
      try {
        id = logIDFromBytes(wire.id)
        publicKey = logIDToPublicKey(id)
        if (!equalBytes(publicKeyToBytes(publicKey), publicKeyToBytes(publicKeyFromBytes(wire.pubKey)))) throw new InvalidMessageError('the public key does not match the log ID')
      } catch (err) {
        throw new InvalidMessageError('log announcement with a bad ID or key', { cause: err })
      }
      const known = state.logKeys.has(id)
      let signed: SignedAddrs | undefined
      if (wire.addrSig != null && wire.addrSeq != null) {
        const held = known ? (await store.getLog(state.storeId, id)).signedAddrs : undefined
        if (held == null || held.seq < wire.addrSeq) {
          signed = { seq: wire.addrSeq, addrs: wire.addrs, sig: wire.addrSig }
          // Only the log's key makes a list: anything else is a forgery by whoever sent it.
          await verifyAddrs(publicKey, state.idBytes, wire.id, signed)
          // Our own logs' lists are ours to sign: one made elsewhere with our key is not taken.
          if (state.owns.has(id)) signed = undefined
        }
      }
      if (known) {
        if (signed == null || !await store.setSignedAddrs(state.storeId, id, signed)) return { added: false, addrs: false }
        peerCache.delete(state.storeId)
        announceAddrs(signed.addrs)
        return { added: false, addrs: true }
      }
      try {
        await store.addLog(state.storeId, { id, publicKey: wire.pubKey, ...(signed != null ? { signedAddrs: signed } : {}) })
      } catch (err) {
        if ((err as Error).name !== 'LogExistsError') throw err
      } finally {
        changed(state.storeId)
      }
      // A new log has no records, so its addresses rank last: they extend the cached peers as they
      // are (rebuilding from every log would make each announcement cost the whole thread).
      const cachedPeers = peerCache.get(state.storeId)
      if (cachedPeers != null && signed != null) addPeers(cachedPeers, signed.addrs)
      state.logKeys.set(id, publicKey)
      if (signed != null) announceAddrs(signed.addrs)
      return { added: true, addrs: signed != null }
    },

    async signOwnAddrs(state, ours, add = []) {
      const changedLogs: LogID[] = []
      for (const own of state.owns.values()) {
        const current = (await store.getLog(state.storeId, own.id)).signedAddrs
        const list = ownAddrList(init.self, ours, current?.addrs, add)
        if (sameList(current?.addrs, list)) continue
        const seq = Math.max((current?.seq ?? 0) + 1, now())
        await store.setSignedAddrs(state.storeId, own.id, await signAddrs(own.key, state.idBytes, logIdBytes(own.id), seq, list))
        changedLogs.push(own.id)
      }
      if (changedLogs.length > 0) {
        peerCache.delete(state.storeId)
        announceAddrs(add)
      }
      return changedLogs
    },

    async freeze(state, log, fork) {
      const held = await store.freezeLog(state.storeId, log, fork)
      state.frozen.set(log, held.counter)
      changed(state.storeId)
      return held
    },

    async findRecord(state, cid) {
      const found = await store.getRecordBlocks(state.storeId, cid)
      return found == null ? undefined : { log: found.logId, counter: found.counter }
    },

    proven(state, peer) {
      if (peer === self) return
      let set = provenPeers.get(state.storeId)
      if (set == null) provenPeers.set(state.storeId, (set = new Set()))
      if (set.has(peer)) return
      set.add(peer)
      if (set.size > MAX_PROVEN_PEERS) set.delete(set.values().next().value!)
      peerCache.delete(state.storeId)
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
        const wire = toWireHeads(heads, state.frozen)
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
      // Our logs' lists first (the replicators we use), then the logs with more records.
      const logs = (await store.listLogs(state.storeId)).sort((a, b) =>
        Number(b.privateKey != null) - Number(a.privateKey != null) || b.head.counter - a.head.counter)
      for (const log of logs) addPeers(peers, log.addrs)
      for (const p of provenPeers.get(state.storeId) ?? []) if (!peers.has(p)) peers.set(p, [])
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

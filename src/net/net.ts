/**
 * The thread network: the Net API over a libp2p node and a log store. Made by {@link createNet};
 * `start()` registers the protocol and the sync triggers (connect, interval), `stop()` undoes it.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { createBroadcast } from '../core/channel.js'
import { AbortError } from '../core/errors.js'
import { createClock } from '../core/hlc.js'
import { generateKeyPair, identityToString, privateKeyFromBytes, privateKeyToBytes, publicKeyToBytes } from '../core/identity.js'
import { logIDFromBytes, logIDFromPublicKey, logIDToPublicKey } from '../core/log-id.js'
import { logger } from '../core/logger.js'
import { openRecord, sealRecord, type RecordBlocks } from '../core/record.js'
import { threadIDToBytes } from '../core/thread-id.js'
import { canRead, newThreadKey, parseThreadKey, serviceKeyOnly, threadKeyFromBytes, threadKeyToBytes, threadKeyToString, type ThreadKey } from '../core/thread-key.js'
import type { ThreadID } from '../core/types.js'
import type { LogStore } from '../store/logstore.js'
import { formatThreadAddress, parseThreadAddress, shareableAddrs } from './address.js'
import type { NetContext, NetInit, ThreadState } from './context.js'
import { InvalidAddressError, LogUnknownError, NotStartedError, ReadOnlyThreadError, ThreadAlreadyExistsError, ThreadUnknownError } from './errors.js'
import { blocksFromWire, ingestRecords, toNetRecord } from './ingest.js'
import { openAdmission } from './admission.js'
import { createKeyedMutex, createLimiter } from './limiter.js'
import { PROTOCOL } from './messages.js'
import { createProtocolHandler } from './server.js'
import { announceLog, exchangeHeads, pullFrom, pushRecordTo, rememberAddrs, threadPeers, wireLogs } from './sync.js'
import type { AddThreadOptions, CreateThreadOptions, LogInfo, Net, NetRecord, PeerSyncState, ProgressOptions, SignalOptions, SubscribeOptions, SyncStatus, ThreadInfo } from './types.js'

export interface NetComponents {
  libp2p: Libp2p
  logStore: LogStore
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted === true) throw new AbortError()
}

function toThreadKey(key: ThreadKey | string | Uint8Array): ThreadKey {
  if (typeof key === 'string') return parseThreadKey(key)
  if (key instanceof Uint8Array) return threadKeyFromBytes(key)
  return threadKeyFromBytes(threadKeyToBytes(key))
}

export function createNet(components: NetComponents, init: NetInit = {}): Net {
  const { libp2p, logStore: store } = components
  const log = logger(`weft:net${init.logPrefix != null ? `:${init.logPrefix}` : ''}`)
  let controller = new AbortController()
  let started = false
  const threads = new Map<ThreadID, Promise<ThreadState>>()
  const syncing = new Map<string, { again: boolean }>()
  let interval: ReturnType<typeof setInterval> | undefined
  /** Background work (syncs, pushes, forwards) that stop() waits for after aborting it. */
  const tasks = new Set<Promise<unknown>>()
  function track(p: Promise<unknown>): void {
    tasks.add(p)
    void p.finally(() => tasks.delete(p)).catch(() => undefined)
  }

  const ctx: NetContext = {
    libp2p,
    store,
    self: libp2p.peerId,
    selfBytes: libp2p.peerId.toMultihash().bytes,
    clock: createClock(),
    log,
    init: {
      syncIntervalMs: init.syncIntervalMs ?? 10_000,
      requestTimeoutMs: init.requestTimeoutMs ?? 10_000,
      streamTimeoutMs: init.streamTimeoutMs ?? 10_000,
      pullBatchSize: init.pullBatchSize ?? 1000,
      ingestBatchSize: init.ingestBatchSize ?? 250,
      replicator: init.replicator ?? false,
      allowPrivateAddrs: init.allowPrivateAddrs ?? false,
      maxStrikes: init.maxStrikes ?? 3,
      maxConcurrent: init.maxConcurrent ?? 16,
      maxConcurrentPerPeer: init.maxConcurrentPerPeer ?? 4,
      maxInboundStreams: init.maxInboundStreams ?? 32
    },
    admission: init.admission ?? openAdmission,
    logLock: createKeyedMutex(),
    limiter: createLimiter({ total: init.maxConcurrent ?? 16, perKey: init.maxConcurrentPerPeer ?? 4 }),
    records: createBroadcast<NetRecord>(),
    stats: { recordsCreated: 0, recordsReceived: 0, recordsServed: 0, bytesReceived: 0, bytesServed: 0, headsAnswered: 0, rejected: 0 },
    pendingPush: new Map(),
    catchUp: new Map(),
    peerCache: new Map(),
    lastError: new Map(),
    get shutdown() { return controller.signal },
    getThreadState,
    forgetThread: (id) => { threads.delete(id) },
    delivered: (thread, log, counter) => {
      const pending = ctx.pendingPush.get(thread)
      if (pending == null) return
      void threads.get(thread)?.then((t) => {
        if (t.own?.id !== log) return
        for (const [cid, c] of pending) if (c <= counter) pending.delete(cid)
      }).catch(() => undefined)
    },
    gossip: (thread, from) => {
      track(connectedThreadPeers(thread, from).then((peers) => {
        for (const p of peers) scheduleSync(thread, p)
      }).catch((err: Error) => { log('gossip failed: %s', err.message) }))
    },
    forward: (thread, record, from) => {
      track(connectedThreadPeers(thread.id, from).then(async (peers) => {
        await Promise.all(peers.map(async (p) => {
          try {
            await pushRecordTo(ctx, thread, p, record.log, record.counter, record.blocks)
          } catch (err) {
            log('forward of %s to %s failed: %s', record.cid.toString(), p.toString(), (err as Error).message)
          }
        }))
      }).catch((err: Error) => { log('forward failed: %s', err.message) }))
    }
  }

  /** Thread peers we hold an open connection to, other than `except`. */
  async function connectedThreadPeers(thread: ThreadID, except?: PeerId): Promise<PeerId[]> {
    const connected = new Set(libp2p.getConnections().filter((c) => c.status === 'open').map((c) => c.remotePeer.toString()))
    const skip = except?.toString()
    return (await threadPeers(ctx, thread)).filter((p) => p !== skip && connected.has(p)).map((p) => peerIdFromString(p))
  }

  async function loadThreadState(id: ThreadID): Promise<ThreadState> {
    let stored
    try {
      stored = await store.getThread(id)
    } catch (err) {
      if ((err as Error).name === 'ThreadNotFoundError') throw new ThreadUnknownError(`thread ${id} not found`, { cause: err })
      throw err
    }
    const state: ThreadState = { id, idBytes: threadIDToBytes(id), key: threadKeyFromBytes(stored.key), logKeys: new Map() }
    for (const l of await store.listLogs(id)) {
      state.logKeys.set(l.id, logIDToPublicKey(l.id))
      if (l.privateKey != null && state.own == null) state.own = { id: l.id, key: await privateKeyFromBytes(l.privateKey) }
    }
    return state
  }

  async function getThreadState(id: ThreadID): Promise<ThreadState> {
    let p = threads.get(id)
    if (p == null) {
      p = loadThreadState(id)
      threads.set(id, p)
      p.catch(() => { if (threads.get(id) === p) threads.delete(id) })
    }
    return await p
  }

  function recordError(thread: ThreadID, err: unknown): void {
    const e = err as Error
    ctx.lastError.set(thread, { name: e.name ?? 'Error', message: e.message ?? String(err), at: Date.now() })
  }

  function ourAddrs(): string[] {
    const self = libp2p.peerId.toString()
    return shareableAddrs(libp2p.getMultiaddrs(), ctx.init.allowPrivateAddrs).map((a) => {
      const s = a.toString()
      return s.endsWith(`/p2p/${self}`) ? s : `${s}/p2p/${self}`
    })
  }

  /** Addresses other peers should use for our logs: dialable ones, or at least our peer ID. */
  function ourLogAddrs(): string[] {
    const addrs = ourAddrs()
    return addrs.length > 0 ? addrs : [`/p2p/${libp2p.peerId.toString()}`]
  }

  /** Sync a thread with a peer now, once at a time per pair; a request meanwhile runs it again. */
  function scheduleSync(thread: ThreadID, peer: PeerId, options: ProgressOptions = {}): void {
    if (!started) return
    const key = `${thread}|${peer.toString()}`
    const running = syncing.get(key)
    if (running != null) { running.again = true; return }
    const state = { again: false }
    syncing.set(key, state)
    track((async () => {
      try {
        do {
          state.again = false
          const t = await getThreadState(thread)
          await exchangeHeads(ctx, t, peer, options)
        } while (state.again && started)
      } catch (err) {
        if (started) {
          recordError(thread, err)
          log('sync of %s with %s failed: %s', thread, peer.toString(), (err as Error).message)
        }
      } finally {
        syncing.delete(key)
      }
    })())
  }

  async function syncConnectedPeers(onlyPeer?: string): Promise<void> {
    const connected = new Set(libp2p.getConnections().map((c) => c.remotePeer.toString()))
    for (const { id } of await store.listThreads()) {
      for (const p of await threadPeers(ctx, id)) {
        if (onlyPeer != null && p !== onlyPeer) continue
        if (!connected.has(p)) continue
        scheduleSync(id, peerIdFromString(p))
      }
    }
  }

  async function pushToPeers(thread: ThreadState, record: NetRecord): Promise<void> {
    const peers = await threadPeers(ctx, thread.id)
    if (peers.length === 0) return
    let pending = ctx.pendingPush.get(thread.id)
    if (pending == null) { pending = new Map(); ctx.pendingPush.set(thread.id, pending) }
    const key = record.cid.toString()
    pending.set(key, record.counter)
    await Promise.all(peers.map(async (p) => {
      try {
        await pushRecordTo(ctx, thread, peerIdFromString(p), record.log, record.counter, record.blocks)
        ctx.delivered(thread.id, record.log, record.counter)
      } catch (err) {
        log('push of %s to %s failed: %s', key, p, (err as Error).message)
      }
    }))
  }

  const handler = createProtocolHandler(ctx, {
    scheduleSync: (thread, peer) => { scheduleSync(thread, peer) },
    adoptThread: async (id, serviceKey) => {
      try {
        await store.addThread(id, { key: threadKeyToBytes(serviceKeyOnly({ service: serviceKey })) })
      } catch (err) {
        if ((err as Error).name !== 'ThreadExistsError') throw err
      }
      threads.delete(id)
      return await getThreadState(id)
    }
  })

  const onIdentify = (evt: CustomEvent<{ peerId: PeerId }>): void => {
    track(syncConnectedPeers(evt.detail.peerId.toString()).catch((err: Error) => { log.error('sync on connect failed: %s', err.message) }))
  }

  /**
   * Our addresses changed (a relay reservation, a new listener): add them to our own logs and
   * tell the connected thread peers, so they can reach us at them (e.g. through the relay).
   */
  async function refreshOwnAddrs(): Promise<void> {
    const addrs = ourLogAddrs()
    for (const { id } of await store.listThreads()) {
      const state = await getThreadState(id)
      if (state.own == null) continue
      const current = await store.getLog(id, state.own.id)
      if (addrs.every((a) => current.addrs.includes(a))) continue
      await store.addAddrs(id, state.own.id, addrs)
      ctx.peerCache.delete(id)
      const ownId = state.own.id
      const wire = (await wireLogs(ctx, id)).find((l) => logIDFromBytes(l.id) === ownId)
      if (wire == null) continue
      for (const p of await connectedThreadPeers(id)) {
        track(announceLog(ctx, state, p, wire).catch((err: Error) => { log('announce to %s failed: %s', p.toString(), err.message) }))
      }
    }
  }

  const onSelfUpdate = (): void => {
    if (!started) return
    track(refreshOwnAddrs().catch((err: Error) => { log.error('refreshing our addresses failed: %s', err.message) }))
  }

  function threadInfo(state: ThreadState, logs: Awaited<ReturnType<LogStore['listLogs']>>): ThreadInfo {
    return {
      id: state.id,
      key: threadKeyToString(state.key),
      readable: canRead(state.key),
      logs: logs.map((l): LogInfo => ({
        id: l.id,
        publicKey: l.publicKey,
        addrs: l.addrs,
        head: { cid: l.head.cid, counter: l.head.counter },
        managed: l.privateKey != null
      })),
      addrs: ourAddrs().map((a) => formatThreadAddress(a, state.id))
    }
  }

  function assertStarted(): void {
    if (!started) throw new NotStartedError()
  }

  async function createOwnLog(state: ThreadState, logKey?: Uint8Array): Promise<void> {
    const key = logKey != null ? await privateKeyFromBytes(logKey) : await generateKeyPair()
    const id = logIDFromPublicKey(key.publicKey)
    await store.addLog(state.id, { id, publicKey: publicKeyToBytes(key.publicKey), privateKey: privateKeyToBytes(key), addrs: ourLogAddrs() })
    ctx.peerCache.delete(state.id)
    state.own = { id, key }
    state.logKeys.set(id, key.publicKey)
  }

  const net: Net = {
    get peerId() { return libp2p.peerId.toString() },

    async start() {
      if (started) return
      controller = new AbortController()
      await libp2p.handle(PROTOCOL, async (stream, connection) => { await handler.handle(stream, connection) }, {
        runOnLimitedConnection: true,
        maxInboundStreams: ctx.init.maxInboundStreams,
        maxOutboundStreams: ctx.init.maxInboundStreams
      })
      libp2p.addEventListener('peer:identify', onIdentify as EventListener)
      libp2p.addEventListener('self:peer:update', onSelfUpdate)
      started = true
      onSelfUpdate()
      if (ctx.init.syncIntervalMs > 0) {
        interval = setInterval(() => {
          track(syncConnectedPeers().catch((err: Error) => { log.error('interval sync failed: %s', err.message) }))
        }, ctx.init.syncIntervalMs)
      }
      track(syncConnectedPeers().catch((err: Error) => { log.error('initial sync failed: %s', err.message) }))
    },

    async stop() {
      if (!started) return
      started = false
      if (interval != null) clearInterval(interval)
      interval = undefined
      libp2p.removeEventListener('peer:identify', onIdentify as EventListener)
      libp2p.removeEventListener('self:peer:update', onSelfUpdate)
      controller.abort(new AbortError('net stopped'))
      await libp2p.unhandle(PROTOCOL)
      // Requests being served finish (their appends included) before the store may close.
      await handler.drain()
      while (tasks.size > 0) await Promise.allSettled([...tasks])
      // Wait for appends in flight: acknowledged records must be on disk before the store closes.
      await Promise.all([...threads.keys()].map(async (id) => {
        const t = await threads.get(id)?.catch(() => undefined)
        if (t == null) return
        await Promise.all([...t.logKeys.keys()].map(async (l) => { await ctx.logLock.run(`${id}/${l}`, async () => {}) }))
      }))
      ctx.records.close()
    },

    async createThread(id, options: CreateThreadOptions = {}) {
      assertStarted()
      throwIfAborted(options.signal)
      const key = options.threadKey != null ? toThreadKey(options.threadKey) : newThreadKey()
      try {
        await store.addThread(id, { key: threadKeyToBytes(key) })
      } catch (err) {
        if ((err as Error).name === 'ThreadExistsError') throw new ThreadAlreadyExistsError(`thread ${id} exists`, { cause: err })
        throw err
      }
      threads.delete(id)
      const state = await getThreadState(id)
      if (canRead(key) || options.logKey != null) await createOwnLog(state, options.logKey)
      return threadInfo(state, await store.listLogs(id))
    },

    async addThread(address, options: AddThreadOptions) {
      assertStarted()
      throwIfAborted(options.signal)
      const addr = parseThreadAddress(address)
      if (addr.peerId === libp2p.peerId.toString()) throw new InvalidAddressError('cannot join a thread from ourselves')
      const key = toThreadKey(options.threadKey)
      let exists = false
      try {
        await store.addThread(addr.thread, { key: threadKeyToBytes(key) })
      } catch (err) {
        if ((err as Error).name !== 'ThreadExistsError') throw err
        exists = true
      }
      threads.delete(addr.thread)
      const state = await getThreadState(addr.thread)
      if (!exists && (canRead(key) || options.logKey != null)) await createOwnLog(state, options.logKey)
      const peer = peerIdFromString(addr.peerId)
      await libp2p.peerStore.merge(peer, { multiaddrs: [multiaddr(addr.peer.toString())] })
      await pullFrom(ctx, state, peer, options)
      // Tell the peer about our log so it pushes to us and pulls from us.
      if (state.own != null) {
        const ownId = state.own.id
        const mine = (await wireLogs(ctx, state.id)).find((l) => logIDFromBytes(l.id) === ownId)
        if (mine != null) await announceLog(ctx, state, peer, mine)
      }
      return threadInfo(state, await store.listLogs(state.id))
    },

    async getThread(id, options: SignalOptions = {}) {
      throwIfAborted(options.signal)
      const state = await getThreadState(id)
      return threadInfo(state, await store.listLogs(id))
    },

    async listThreads(options: SignalOptions = {}) {
      throwIfAborted(options.signal)
      return (await store.listThreads()).map((t) => t.id)
    },

    async pullThread(id, options: ProgressOptions = {}) {
      assertStarted()
      throwIfAborted(options.signal)
      const state = await getThreadState(id)
      const peers = await threadPeers(ctx, id)
      const errors: Error[] = []
      await Promise.all(peers.map(async (p) => {
        try {
          await pullFrom(ctx, state, peerIdFromString(p), options)
        } catch (err) {
          recordError(id, err)
          errors.push(err as Error)
        }
      }))
      if (errors.length > 0 && errors.length === peers.length) throw errors[0]!
    },

    async deleteThread(id, options: SignalOptions = {}) {
      throwIfAborted(options.signal)
      await getThreadState(id)
      await store.deleteThread(id)
      threads.delete(id)
      ctx.pendingPush.delete(id)
      ctx.catchUp.delete(id)
      ctx.lastError.delete(id)
      ctx.peerCache.delete(id)
    },

    async addReplicator(id, peerAddress, options: SignalOptions = {}) {
      assertStarted()
      throwIfAborted(options.signal)
      const state = await getThreadState(id)
      let ma
      try { ma = multiaddr(peerAddress) } catch (err) { throw new InvalidAddressError('replicator address is not a multiaddr', { cause: err }) }
      const peerStr = ma.getComponents().filter((c) => c.name === 'p2p').pop()?.value
      if (peerStr == null) throw new InvalidAddressError('replicator address must end in /p2p/<peerID>')
      const peer = peerIdFromString(peerStr)
      await libp2p.peerStore.merge(peer, { multiaddrs: [ma] })
      // Hand over every log with the service key only; never the read key.
      for (const l of await wireLogs(ctx, id)) {
        await announceLog(ctx, state, peer, l, state.key.service)
      }
      // Our logs now name the replicator, so members push to it and pull from it.
      const replicatorAddr = ma.toString()
      for (const l of await store.listLogs(id)) {
        if (l.privateKey != null) await store.addAddrs(id, l.id, [replicatorAddr])
      }
      ctx.peerCache.delete(id)
      const updated = (await wireLogs(ctx, id)).filter((w) => state.own != null && logIDFromBytes(w.id) === state.own.id)
      for (const p of await threadPeers(ctx, id)) {
        if (p === peerStr) continue
        for (const w of updated) {
          track(announceLog(ctx, state, peerIdFromString(p), w).catch((err: Error) => { log('announce to %s failed: %s', p, err.message) }))
        }
      }
      await rememberAddrs(ctx, [replicatorAddr])
      return peerStr
    },

    async createRecord(id, body, options: SignalOptions = {}) {
      assertStarted()
      throwIfAborted(options.signal)
      const state = await getThreadState(id)
      if (!canRead(state.key)) throw new ReadOnlyThreadError('the read key is needed to write events')
      const own = state.own
      if (own == null) throw new ReadOnlyThreadError('this peer has no log of its own in the thread')
      const record = await ctx.logLock.run(`${id}/${own.id}`, async () => {
        const current = await store.getLog(id, own.id)
        const time = ctx.clock.send()
        const blocks = await sealRecord({
          body,
          threadKey: state.key,
          logKey: own.key,
          ...(current.head.cid != null ? { prev: current.head.cid } : {}),
          time
        })
        await store.appendRecord(id, own.id, { cid: blocks.record.cid, prev: current.head.cid, blocks: [blocks.record, blocks.event, blocks.header, blocks.body] })
        ctx.stats.recordsCreated++
        const rec: NetRecord = {
          thread: id, log: own.id, cid: blocks.record.cid, counter: current.head.counter + 1, blocks, origin: 'local',
          time, body, author: identityToString(own.key.publicKey)
        }
        return rec
      })
      ctx.records.publish(record)
      track(pushToPeers(state, record).catch((err: Error) => { recordError(id, err) }))
      return record
    },

    async addRecord(id, logId, blocks, options: SignalOptions = {}) {
      assertStarted()
      throwIfAborted(options.signal)
      const state = await getThreadState(id)
      if (!state.logKeys.has(logId)) throw new LogUnknownError(`log ${logId} is not part of thread ${id}`)
      const checked = await blocksFromWire([blocks.record.bytes, blocks.event.bytes, blocks.header.bytes, blocks.body.bytes])
      const current = await store.getLog(id, logId)
      const result = await ingestRecords(ctx, state, logId, current.head.counter + 1, [checked])
      const rec = await net.getRecord(id, checked.record.cid)
      if (result.appended > 0) track(pushToPeers(state, rec).catch((err: Error) => { recordError(id, err) }))
      return rec
    },

    async getRecord(id, cid: CID, options: SignalOptions = {}) {
      throwIfAborted(options.signal)
      const state = await getThreadState(id)
      const found = await store.getRecordBlocks(id, cid)
      if (found == null) throw new LogUnknownError(`record ${cid.toString()} not found in thread ${id}`)
      const blocks: RecordBlocks = found.blocks
      const opened = await openRecord(blocks, {
        serviceKey: state.key.service,
        logPublicKey: logIDToPublicKey(found.logId),
        ...(canRead(state.key) ? { readKey: state.key.read } : {})
      })
      return toNetRecord(state, found.logId, found.counter, blocks, opened, 'local')
    },

    subscribe(options: SubscribeOptions = {}) {
      const only = options.threads != null ? new Set<string>(options.threads) : undefined
      return ctx.records.subscribe({
        ...(options.signal != null ? { signal: options.signal } : {}),
        ...(only != null ? { filter: (r: NetRecord) => only.has(r.thread) } : {})
      })
    },

    stats() {
      return { ...ctx.stats }
    },

    async syncStatus(id) {
      await getThreadState(id)
      const known = await threadPeers(ctx, id)
      const connections = libp2p.getConnections()
      const peersP: PeerSyncState[] = []
      const status: SyncStatus = { thread: id, peers: peersP, pendingPush: ctx.pendingPush.get(id)?.size ?? 0 }
      const cu = ctx.catchUp.get(id)
      if (cu != null) status.catchUp = { ...cu }
      const le = ctx.lastError.get(id)
      if (le != null) status.lastError = { ...le }
      for (const p of known) {
        const conns = connections.filter((c) => c.remotePeer.toString() === p && c.status === 'open')
        // A WebRTC connection's address keeps its /p2p-circuit prefix on the dialling side: it is direct.
        const direct = conns.some((c) => c.remoteAddr.toString().includes('/webrtc') || (c.limits == null && !c.remoteAddr.toString().includes('/p2p-circuit')))
        peersP.push({ peer: p, connected: conns.length > 0, via: conns.length === 0 ? 'none' : direct ? 'direct' : 'relayed' })
      }
      return status
    }
  }

  return net
}

/**
 * The thread network: the Net API over a transport and a log store. Made by {@link createNet}
 * from its parts — the thread registry, sessions, the protocol handler, the sync operations and
 * scheduler, penalties — each of which owns its own state. `start()` accepts sessions and starts
 * syncing with every thread peer; `stop()` undoes it and can be followed by `start()` again.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { createBroadcast } from '../core/index.js'
import { AbortError } from '../core/errors.js'
import { createClock } from '../core/index.js'
import { generateKeyPair, identityToString, privateKeyFromBytes } from '../core/index.js'
import { logger } from '../core/logger.js'
import { sealRecordEvent, sealRecordOver, type RecordBlocks } from '../core/index.js'
import { canRead, newThreadKey, parseThreadKey, threadKeyFromBytes, threadKeyToBytes, threadKeyToString, type ThreadKey } from '../core/index.js'
import type { ThreadID } from '../core/types.js'
import type { LogStore } from '../store/logstore-types.js'
import { openAdmission } from './admission.js'
import { formatThreadAddress, parseThreadAddress, shareableAddrs } from './address.js'
import { describeError, InvalidAddressError, LogUnknownError, NotStartedError, ReadOnlyThreadError } from './errors.js'
import { createForkSearch } from './fork-search.js'
import { createForkBook } from './forks.js'
import { createProtocolHandler } from './handler.js'
import { blocksFromWire, createIngest, readRecord, toNetRecord } from './ingest.js'
import { createKeyedMutex, createLimiter } from './limiter.js'
import type { WireLog } from './messages.js'
import { addLogTo } from './own-logs.js'
import { resolveNetInit, type NetInit } from './options.js'
import { createPenalties } from './penalties.js'
import { createThreadRegistry, peerOfAddr, type ThreadState } from './registry.js'
import { awaitReplica, handOver } from './replicate.js'
import { createScheduler } from './scheduler.js'
import { createSessionManager } from './sessions.js'
import { readStoredLog } from './stored.js'
import { createSyncOps } from './sync.js'
import { backoffDelay, systemTimers, type Timers } from './timers.js'
import type { Transport } from './transport.js'
import type {
  AddThreadOptions, CreateRecordOptions, CreateThreadOptions, LogInfo, Net, NetRecord, NetStats, PeerSyncState, ProgressOptions,
  SignalOptions, SubscribeOptions, SyncStatus, ThreadInfo
} from './types.js'
import { logIdOf, wireLog } from './wire.js'

export interface NetComponents {
  /** The network: `libp2pTransport(libp2p)` for real use. */
  transport: Transport
  logStore: LogStore
  /** Time, for everything that waits or stamps time. @default the system clock */
  timers?: Timers
  /** Uniform random numbers in [0, 1), for backoff jitter. @default Math.random */
  random?: () => number
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted === true) throw new AbortError()
}

function toThreadKey(key: ThreadKey | string | Uint8Array): ThreadKey {
  if (typeof key === 'string') return parseThreadKey(key)
  if (key instanceof Uint8Array) return threadKeyFromBytes(key)
  return threadKeyFromBytes(threadKeyToBytes(key))
}

export function createNet(components: NetComponents, netInit: NetInit = {}): Net {
  const { transport, logStore: store } = components
  const timers = components.timers ?? systemTimers
  const random = components.random ?? Math.random
  const init = resolveNetInit(netInit)
  const log = logger(`weft:net${netInit.logPrefix != null ? `:${netInit.logPrefix}` : ''}`)
  const self = transport.peerId
  const selfBytes = peerIdFromString(self).toMultihash().bytes
  const peerBytesCache = new Map<string, Uint8Array>()
  const peerBytes = (peer: string): Uint8Array => {
    let b = peerBytesCache.get(peer)
    if (b == null) {
      b = peerIdFromString(peer).toMultihash().bytes
      if (peerBytesCache.size > 10_000) peerBytesCache.clear()
      peerBytesCache.set(peer, b)
    }
    return b
  }

  let controller = new AbortController()
  let running = false
  let starting: Promise<void> | undefined
  let stopping: Promise<void> | undefined
  /** Background work (syncs, pushes, requests being served) that stop() waits for after aborting it. */
  const tasks = new Set<Promise<unknown>>()
  const track = (p: Promise<unknown>): void => {
    tasks.add(p)
    void p.catch(() => undefined).finally(() => tasks.delete(p))
  }

  const stats: NetStats = {
    recordsCreated: 0, recordsReceived: 0, recordsServed: 0, bytesReceived: 0, bytesServed: 0, headsAnswered: 0, rejected: 0,
    strikes: 0, bans: 0, refusedSessions: 0, throttledIps: 0, sessionsOpened: 0
  }
  const records = createBroadcast<NetRecord>()
  const clock = createClock({ now: () => timers.now() })
  const logLock = createKeyedMutex()
  const catchUp = new Map<ThreadID, NonNullable<SyncStatus['catchUp']>>()
  const admission = netInit.admission ?? openAdmission

  const registry = createThreadRegistry({
    store,
    self,
    log,
    now: () => timers.now(),
    onAddrs: (peer, addrs) => {
      track(transport.rememberAddrs(peer, addrs).catch((err) => { log('ignoring addresses of %s: %s', peer, describeError(err)) }))
    }
  })
  const penalties = createPenalties({
    timers, maxStrikes: init.maxStrikes, strikeDecayMs: init.strikeDecayMs, banMs: init.banMs, maxBanMs: init.maxBanMs
  })
  const forks = createForkBook({ registry, log, logLock, frozen: (t, l) => { scheduler.spread(t, l) } })
  const ingest = createIngest({ store, clock, admission, records, stats, forks, logLock, log, appended: (t) => { registry.appended(t) } })
  const limiter = createLimiter({ total: init.maxConcurrent, perKey: init.maxConcurrentPerPeer })

  /** Take a log a peer described: its newer signed address list (passed on), its fork proof. */
  async function learn(t: ThreadState, wire: WireLog, from: string): Promise<{ added: boolean }> {
    const learnt = await registry.learnLog(t, wire)
    if (wire.fork != null) await forks.receive(t, logIdOf(wire.id), wire.fork)
    if (learnt.addrs && !learnt.added) scheduler.spread(t, logIdOf(wire.id), from)
    return { added: learnt.added }
  }

  const handler = createProtocolHandler({
    registry, ingest, penalties, admission, stats, timers, log, selfBytes, peerBytes,
    replicator: init.replicator,
    pushOrder: createKeyedMutex(),
    ...(netInit.onStrike != null ? { onStrike: netInit.onStrike } : {}),
    hooks: {
      learn,
      passProof: (t, peer, l) => { scheduler.passProof(t, peer, l) },
      diverged: (t, peer, l, counter) => { search.search(t, peer, l, counter) },
      syncSoon: (t, peer) => { scheduler.syncSoon(t, peer) },
      forward: (t, record, from) => { scheduler.forward(t, record, from) },
      gossip: (t, from) => { scheduler.gossip(t, from) },
      delivered: (t, peer, l, counter) => { scheduler.delivered(t, peer, l, counter) },
      banned: (peer) => {
        sessions.current(peer)?.abort(new NotStartedError(`${peer} is banned`))
        track(transport.hangUp(peer).catch((err) => { log('hang up %s failed: %s', peer, describeError(err)) }))
      }
    }
  })

  const sessions = createSessionManager({
    transport, timers, penalties, log,
    limits: { maxInboundRequests: init.maxInboundRequests, maxInboundStreams: init.maxInboundStreams, stallTimeoutMs: init.streamTimeoutMs },
    openTimeoutMs: init.requestTimeoutMs,
    dialBackoff: (failures) => backoffDelay(failures, { baseMs: init.minBackoffMs, maxMs: init.maxBackoffMs, jitter: 0.2, random }),
    serve: async (session, req, responder) => {
      const p = handler.serve(session, req, responder)
      track(p)
      await p
    },
    onViolation: (session, err) => { handler.strike(session.peer, session.remoteAddr, err.message) },
    onOpen: () => { stats.sessionsOpened++ }
  })

  const ops = createSyncOps({
    registry, ingest, sessions, limiter, log, selfBytes, peerBytes, catchUp,
    requestTimeoutMs: init.requestTimeoutMs,
    pullBatchSize: init.pullBatchSize,
    ingestBatchSize: init.ingestBatchSize,
    windowBytes: init.windowBytes,
    shutdown: () => controller.signal,
    learn,
    strike: (peer, remoteAddr, reason) => { handler.strike(peer, remoteAddr, reason) },
    delivered: (t, peer, l, counter) => { scheduler.delivered(t, peer, l, counter) },
    gossip: (t, from) => { scheduler.gossip(t, from) },
    diverged: (t, peer, l, counter) => { search.search(t, peer, l, counter) }
  })

  const search = createForkSearch({
    ingest, forks, ops, timers, log, track,
    strike: (peer, reason) => { handler.strike(peer, sessions.current(peer)?.remoteAddr ?? '', reason) }
  })

  const scheduler = createScheduler({
    registry, ops, transport, sessions, timers, random, log, track,
    syncIntervalMs: init.syncIntervalMs,
    minBackoffMs: init.minBackoffMs,
    maxBackoffMs: init.maxBackoffMs,
    jitter: 0.2,
    running: () => running
  })

  const replicate = { registry, ops, ingest, timers, stallMs: init.requestTimeoutMs * 3 }

  function ourAddrs(): string[] {
    let addrs = transport.addresses()
    try {
      addrs = shareableAddrs(addrs.map((a) => multiaddr(a)), init.allowPrivateAddrs).map((a) => a.toString())
    } catch (err) {
      log('unparseable address of ours: %s', describeError(err))
    }
    return addrs.map((a) => (peerOfAddr(a) === self ? a : `${a}/p2p/${self}`))
  }

  /** Addresses other peers should use for our logs: dialable ones, or at least our peer ID. */
  function ourLogAddrs(): string[] {
    const addrs = ourAddrs()
    return addrs.length > 0 ? addrs : [`/p2p/${self}`]
  }

  /** Our addresses changed: sign our logs' address lists again and tell the connected thread peers. */
  async function refreshOwnAddrs(): Promise<void> {
    const addrs = ourLogAddrs()
    for (const state of await registry.list()) {
      if (state.owns.size === 0) continue
      for (const l of await registry.signOwnAddrs(state, addrs)) scheduler.spread(state, l)
    }
  }

  function logInfo(state: ThreadState, l: Awaited<ReturnType<LogStore['listLogs']>>[number]): LogInfo {
    const own = state.owns.get(l.id)
    const info: LogInfo = {
      id: l.id,
      publicKey: l.publicKey,
      addrs: l.addrs,
      head: { cid: l.head.cid, counter: l.head.counter },
      managed: l.privateKey != null
    }
    if (own != null) info.author = identityToString(own.author ?? own.key.publicKey)
    if (l.fork != null) info.frozenAt = l.fork.counter
    return info
  }

  function threadInfo(state: ThreadState, logs: Awaited<ReturnType<LogStore['listLogs']>>): ThreadInfo {
    return {
      id: state.id,
      key: threadKeyToString(state.key),
      readable: canRead(state.key),
      logs: logs.map((l) => logInfo(state, l)),
      addrs: ourAddrs().map((a) => formatThreadAddress(a, state.id))
    }
  }

  function assertStarted(): void {
    if (!running) throw new NotStartedError()
  }

  async function createOwnLog(state: ThreadState, logKey?: Uint8Array): Promise<void> {
    const key = logKey != null ? await privateKeyFromBytes(logKey) : await generateKeyPair()
    await registry.addOwnLog(state, key, ourLogAddrs())
  }

  function parsePeerAddress(address: string): string {
    let peer: string | undefined
    try { peer = peerOfAddr(multiaddr(address).toString()) } catch (err) { throw new InvalidAddressError('the address is not a multiaddr', { cause: err }) }
    if (peer == null) throw new InvalidAddressError('the address must end in /p2p/<peerID>')
    return peer
  }

  async function doStart(): Promise<void> {
    controller = new AbortController()
    try {
      await transport.start({
        onConnect: (peer) => {
          if (!running) return
          sessions.connected(peer)
          scheduler.peerConnected(peer)
        },
        onDisconnect: (peer) => { scheduler.peerDisconnected(peer) },
        onAddressesChanged: () => {
          if (running) track(refreshOwnAddrs().catch((err) => { log.error('refreshing our addresses failed: %s', describeError(err)) }))
        },
        onChannel: (channel) => {
          if (running) sessions.accept(channel)
          else channel.abort(new NotStartedError())
        }
      })
      running = true
      await registry.reseed()
      await refreshOwnAddrs()
      scheduler.start()
    } catch (err) {
      await doStop()
      throw err
    }
  }

  async function doStop(): Promise<void> {
    running = false
    scheduler.stop()
    controller.abort(new AbortError('net stopped'))
    sessions.closeAll(new NotStartedError('the net stopped'))
    await transport.stop()
    // Requests being served and background syncs finish (their appends included) before the store may close.
    while (tasks.size > 0) await Promise.allSettled([...tasks])
    // Acknowledged records must be on disk before the store closes: wait for appends in flight.
    for (const state of await registry.list().catch(() => [])) {
      for (const l of state.logKeys.keys()) await logLock.run(`${state.storeId}/${l}`, async () => {})
    }
  }

  const net: Net = {
    get peerId() { return self },

    async start() {
      if (stopping != null) await stopping
      if (running) return
      starting ??= doStart().finally(() => { starting = undefined })
      await starting
    },

    async stop() {
      if (starting != null) await starting.catch(() => undefined)
      if (!running) return
      stopping ??= doStop().finally(() => { stopping = undefined })
      await stopping
    },

    async createThread(id, options: CreateThreadOptions = {}) {
      assertStarted()
      throwIfAborted(options.signal)
      const key = options.threadKey != null ? toThreadKey(options.threadKey) : newThreadKey()
      const state = await registry.create(id, key)
      if (canRead(key) || options.logKey != null) await createOwnLog(state, options.logKey)
      return threadInfo(state, await registry.logs(state))
    },

    async addThread(address, options: AddThreadOptions) {
      assertStarted()
      throwIfAborted(options.signal)
      const addr = parseThreadAddress(address)
      if (addr.peerId === self) throw new InvalidAddressError('cannot join a thread from ourselves')
      const key = toThreadKey(options.threadKey)
      const { state, existed } = await registry.join(addr.thread, key)
      if (!existed && (canRead(key) || options.logKey != null)) await createOwnLog(state, options.logKey)
      await transport.rememberAddrs(addr.peerId, [addr.peer.toString()])
      await ops.pull(state, addr.peerId, { ...options, force: true })
      // Tell the peer about our log so it pushes to us and pulls from us.
      for (const own of state.owns.keys()) {
        const mine = await wireLog(registry, state, own)
        if (mine != null) await ops.announce(state, addr.peerId, mine, undefined, { ...options, force: true })
      }
      return threadInfo(state, await registry.logs(state))
    },

    async getThread(id, options: SignalOptions = {}) {
      throwIfAborted(options.signal)
      const state = await registry.get(id)
      return threadInfo(state, await registry.logs(state))
    },

    async listThreads(options: SignalOptions = {}) {
      throwIfAborted(options.signal)
      return [...new Set((await registry.list()).map((t) => t.id))]
    },

    async pullThread(id, options: ProgressOptions = {}) {
      assertStarted()
      throwIfAborted(options.signal)
      const state = await registry.get(id)
      const peers = [...(await registry.peers(state)).keys()]
      const errors: Error[] = []
      await Promise.all(peers.map(async (p) => {
        try {
          await ops.pull(state, p, { ...options, force: true })
        } catch (err) {
          scheduler.recordError(id, err)
          errors.push(err as Error)
        }
      }))
      if (errors.length > 0 && errors.length === peers.length) throw errors[0]!
    },

    async deleteThread(id, options: SignalOptions = {}) {
      throwIfAborted(options.signal)
      const state = await registry.get(id)
      await registry.remove(id)
      scheduler.forget(state)
      forks.forget(state)
      catchUp.delete(id)
    },

    async addReplicator(id, peerAddress, options: SignalOptions = {}) {
      assertStarted()
      throwIfAborted(options.signal)
      const state = await registry.get(id)
      const peer = parsePeerAddress(peerAddress)
      const replicatorAddr = multiaddr(peerAddress).toString()
      await transport.rememberAddrs(peer, [replicatorAddr])
      const snapshot = await handOver(replicate, state, peer, { ...options, force: true })
      // Our logs' signed address lists now name the replicator, so members push to it and pull from it.
      for (const l of await registry.signOwnAddrs(state, ourLogAddrs(), [replicatorAddr])) scheduler.spread(state, l, peer)
      await awaitReplica(replicate, state, peer, snapshot, { ...options, force: true })
      return peer
    },

    async addLog(id, options) {
      assertStarted()
      throwIfAborted(options.signal)
      const state = await registry.get(id)
      const own = await addLogTo(registry, state, options, ourLogAddrs())
      scheduler.spread(state, own.id)
      const l = (await registry.logs(state)).find((x) => x.id === own.id)
      if (l == null) throw new LogUnknownError(`log ${own.id} vanished while being added`)
      return logInfo(state, l)
    },

    async createRecord(id, body, options: CreateRecordOptions = {}) {
      return (await net.createRecords(id, [body], options))[0]!
    },

    async createRecords(id, bodies, options: CreateRecordOptions = {}) {
      assertStarted()
      throwIfAborted(options.signal)
      const state = await registry.get(id)
      if (!canRead(state.key)) throw new ReadOnlyThreadError('the read key is needed to write events')
      const own = options.log != null ? state.owns.get(options.log) : state.own
      if (own == null) {
        throw new ReadOnlyThreadError(options.log != null ? `log ${options.log} is not a log of ours in the thread` : 'this peer has no log of its own in the thread')
      }
      if (bodies.length === 0) return []
      const created = await logLock.run(`${state.storeId}/${own.id}`, async () => {
        // The head alone (the log store keeps it in memory): no store read per transaction.
        const current = { head: await store.getHead(state.storeId, own.id) }
        const author = identityToString(own.author ?? own.key.publicKey)
        const out: NetRecord[] = []
        let prev = current.head.cid
        // The events do not depend on their place in the log: sealed all at once (in parallel
        // where crypto is asynchronous, as WebCrypto is), then chained into records in order.
        const times = bodies.map((_, i) => clock.send(options.at?.[i]))
        const events = await Promise.all(bodies.map(async (body, i) => await sealRecordEvent({ body, threadKey: state.key, time: times[i]! })))
        for (const [i, body] of bodies.entries()) {
          const blocks = await sealRecordOver({
            threadKey: state.key,
            logKey: own.key,
            ...(own.author != null && own.certificate != null ? { author: own.author, certificate: own.certificate } : {}),
            ...(prev != null ? { prev } : {})
          }, events[i]!)
          const time = times[i]!
          out.push({ thread: id, log: own.id, cid: blocks.record.cid, counter: current.head.counter + out.length + 1, blocks, origin: 'local', time, body, author })
          prev = blocks.record.cid
        }
        // One atomic append for all of them, with the caller's writes (a DB's changes) if any.
        const append = async (): Promise<void> => {
          const also = options.with?.(out)
          await store.appendRecords(state.storeId, own.id, out.map((r, i) => ({
            cid: r.cid, prev: i === 0 ? current.head.cid : out[i - 1]!.cid, blocks: [r.blocks.record, r.blocks.event, r.blocks.header, r.blocks.body]
          })), also !== undefined && also.length > 0 ? { with: also } : {})
        }
        await (options.storing !== undefined ? options.storing(append) : append())
        registry.appended(state)
        stats.recordsCreated += out.length
        return out
      })
      for (const record of created) {
        records.publish(record)
        scheduler.recordCreated(state, record)
      }
      return created
    },

    writesTo(kv) {
      return store.writesTo(kv)
    },

    async addRecord(id, logId, blocks, options: SignalOptions = {}) {
      assertStarted()
      throwIfAborted(options.signal)
      const state = await registry.get(id)
      if (!state.logKeys.has(logId)) throw new LogUnknownError(`log ${logId} is not part of thread ${id}`)
      const checked = await blocksFromWire([blocks.record.bytes, blocks.event.bytes, blocks.header.bytes, blocks.body.bytes])
      const current = await store.getLog(state.storeId, logId)
      const result = await ingest.append(state, logId, current.head.counter + 1, [checked])
      const rec = await net.getRecord(id, checked.record.cid)
      if (result.appended > 0) scheduler.forward(state, rec, self)
      return rec
    },

    async getRecord(id, cid: CID, options: SignalOptions = {}) {
      throwIfAborted(options.signal)
      const state = await registry.get(id)
      const found = await store.getRecordBlocks(state.storeId, cid)
      if (found == null) throw new LogUnknownError(`record ${cid.toString()} not found in thread ${id}`)
      const blocks: RecordBlocks = found.blocks
      // Only records that verified are ever stored (ingest opens each one before appending it; our
      // own are signed here): decrypt it again, but do not verify its signatures a second time.
      return toNetRecord(state, found.logId, found.counter, blocks, await readRecord(state, found.logId, blocks, undefined, true), 'local')
    },

    async * readLog(id, logId, options = {}) {
      throwIfAborted(options.signal)
      const state = await registry.get(id)
      if (!state.logKeys.has(logId)) throw new LogUnknownError(`log ${logId} is not part of thread ${id}`)
      yield * readStoredLog(state, ingest, logId, options)
    },

    async forks(id, options: SignalOptions = {}) {
      throwIfAborted(options.signal)
      return forks.forks(await registry.get(id))
    },

    forkNotices(options: SubscribeOptions = {}) {
      return forks.subscribe(options)
    },

    subscribe(options: SubscribeOptions = {}) {
      const only = options.threads != null ? new Set<string>(options.threads) : undefined
      return records.subscribe({
        ...(options.signal != null ? { signal: options.signal } : {}),
        ...(only != null ? { filter: (r: NetRecord) => only.has(r.thread) } : {})
      })
    },

    stats() {
      return { ...stats, strikes: penalties.stats.strikes, bans: penalties.stats.bans, refusedSessions: penalties.stats.refusedSessions, throttledIps: penalties.stats.throttledIps }
    },

    async syncStatus(id) {
      const state = await registry.get(id)
      const peers: PeerSyncState[] = []
      const status: SyncStatus = { thread: id, peers, pendingPush: scheduler.pendingPush(state) }
      const cu = catchUp.get(id)
      if (cu != null) status.catchUp = { ...cu }
      const le = scheduler.lastError(id)
      if (le != null) status.lastError = le
      for (const peer of (await registry.peers(state)).keys()) {
        const facts = transport.connection(peer)
        const penalty = penalties.peer(peer)
        const schedule = scheduler.peer(state, peer)
        const p: PeerSyncState = {
          peer, connected: facts.connected, via: facts.via, strikes: penalty.strikes, failures: schedule.failures, holds: scheduler.heldBy(state, peer)
        }
        if (penalty.bannedUntil != null) p.bannedUntil = penalty.bannedUntil
        if (schedule.nextAttemptAt != null) p.nextAttemptAt = schedule.nextAttemptAt
        if (schedule.lastError != null) p.lastError = schedule.lastError
        peers.push(p)
      }
      return status
    }
  }

  return net
}

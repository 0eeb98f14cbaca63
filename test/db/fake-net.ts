/**
 * An in-process thread network for DB tests: each replica holds its own copies of the thread's
 * logs and its own hybrid logical clock; the test decides which records reach which replica and
 * when (each log's records in order), so delivery order, duplication and partitions are under a
 * seeded PRNG's control. Records carry real log IDs and author identities.
 */
import * as cbor from '@ipld/dag-cbor'
import { createBroadcast } from '../../src/core/channel.js'
import { OversizedInputError } from '../../src/core/errors.js'
import { createClock, type Clock } from '../../src/core/hlc.js'
import { generateKeyPair, identityToString, privateKeyFromBytes, publicKeyToBytes, type PrivateKey } from '../../src/core/identity.js'
import { logIDFromPublicKey, logIDToPublicKey } from '../../src/core/log-id.js'
import { MAX_BODY_BYTES } from '../../src/core/record-codec.js'
import { newThreadKey, threadKeyToString } from '../../src/core/thread-key.js'
import type { LogID, ThreadID } from '../../src/core/types.js'
import type { DBRecord } from '../../src/db/engine.js'
import type { Fork } from '../../src/db/engine.js'
import type { DBNet, DBThreadInfo, ForkNotice } from '../../src/db/net.js'

export interface FakeNet extends DBNet {
  readonly name: string
  readonly clock: Clock
  /** Every record this replica holds for the thread, each log in order. */
  held(thread: ThreadID): DBRecord[]
  /** Take in a record from elsewhere: 'new', 'duplicate' or 'gap' (not taken). */
  deliver(record: DBRecord, options?: { publishDuplicate?: boolean }): 'new' | 'duplicate' | 'gap'
  /** The next record counter this replica expects for a log. */
  head(thread: ThreadID, log: LogID): number
  /** The net found proof that `log` forked at `counter`: keep it and tell subscribers. */
  fork(thread: ThreadID, log: LogID, counter: number): void
}

interface ThreadState {
  key: string
  own?: { id: LogID; key: PrivateKey }
  logs: Map<LogID, DBRecord[]>
}

/** A registry of fake nets by name, so `addThread('fake://<name>/<thread>')` can copy a thread. */
export function createFakeWorld(): { nets: Map<string, FakeNet> } {
  return { nets: new Map() }
}

export interface FakeNetInit {
  now?: () => number
  /** Key every log of ours with this key, whatever `logKey` says (as the browser worker does). */
  identity?: PrivateKey
}

export function createFakeNet(world: { nets: Map<string, FakeNet> }, name: string, init: FakeNetInit = {}): FakeNet {
  const clock = createClock(init.now !== undefined ? { now: init.now } : {})
  const threads = new Map<ThreadID, ThreadState>()
  const channel = createBroadcast<DBRecord>()
  const forks = new Map<ThreadID, Fork[]>()
  const forkChannel = createBroadcast<ForkNotice>()

  const state = (id: ThreadID): ThreadState => {
    const t = threads.get(id)
    if (t === undefined) throw Object.assign(new Error(`thread ${id} not found`), { name: 'ThreadUnknownError' })
    return t
  }

  const info = (id: ThreadID): DBThreadInfo => {
    const t = state(id)
    return {
      id,
      key: t.key,
      readable: true,
      addrs: [`fake://${name}/${id}`],
      logs: [...t.logs].map(([logId, recs]) => ({
        id: logId,
        publicKey: publicKeyToBytes(logIDToPublicKey(logId)),
        managed: t.own?.id === logId,
        head: { counter: recs.length }
      }))
    }
  }

  const addOwnLog = async (t: ThreadState, logKey?: Uint8Array): Promise<void> => {
    const key = init.identity ?? (logKey !== undefined ? await privateKeyFromBytes(logKey) : await generateKeyPair())
    const id = logIDFromPublicKey(key.publicKey)
    t.own = { id, key }
    t.logs.set(id, [])
  }

  const net: FakeNet = {
    name,
    clock,
    async createThread(id, options = {}) {
      if (threads.has(id)) throw Object.assign(new Error('exists'), { name: 'ThreadAlreadyExistsError' })
      const t: ThreadState = { key: options.threadKey ?? threadKeyToString(newThreadKey()), logs: new Map() }
      threads.set(id, t)
      await addOwnLog(t, options.logKey)
      return info(id)
    },
    async addThread(address, options) {
      const m = /^fake:\/\/([^/]+)\/(.+)$/.exec(address)
      if (m === null) throw new Error(`bad fake address ${address}`)
      const id = m[2] as ThreadID
      if (!threads.has(id)) {
        const t: ThreadState = { key: options.threadKey, logs: new Map() }
        threads.set(id, t)
        await addOwnLog(t)
      }
      const source = world.nets.get(m[1]!)
      if (source !== undefined) for (const r of source.held(id)) net.deliver(r)
      return info(id)
    },
    async getThread(id) {
      return info(id)
    },
    async deleteThread(id) {
      state(id)
      threads.delete(id)
    },
    async createRecord(id, body) {
      const t = state(id)
      if (t.own === undefined) throw new Error('no own log')
      const bytes = cbor.encode(body)
      if (bytes.byteLength > MAX_BODY_BYTES) throw new OversizedInputError(`body of ${bytes.byteLength} bytes`)
      const recs = t.logs.get(t.own.id)!
      const record: DBRecord = {
        thread: id, log: t.own.id, counter: recs.length + 1, time: clock.send(),
        author: identityToString(t.own.key.publicKey), body: cbor.decode(bytes)
      }
      recs.push(record)
      channel.publish(record)
      return record
    },
    subscribe(options) {
      const only = new Set<string>(options.threads)
      return channel.subscribe({ ...(options.signal !== undefined ? { signal: options.signal } : {}), filter: (r) => only.has(r.thread) })
    },
    async * records(id, options = {}) {
      const t = threads.get(id)
      if (t === undefined) return
      for (const [logId, recs] of [...t.logs]) {
        if (options.logs !== undefined && !options.logs.includes(logId)) continue
        const after = options.after?.get(logId) ?? 0
        for (const r of recs.slice(after)) yield r
      }
    },
    async forks(id) {
      return [...(forks.get(id) ?? [])]
    },
    forkNotices(options) {
      const only = new Set<string>(options.threads)
      return forkChannel.subscribe({ ...(options.signal !== undefined ? { signal: options.signal } : {}), filter: (f) => only.has(f.thread) })
    },
    fork(thread, log, counter) {
      let list = forks.get(thread)
      if (list === undefined) forks.set(thread, list = [])
      if (list.some((f) => f.log === log && f.counter === counter)) return
      list.push({ log, counter })
      forkChannel.publish({ thread, log, counter })
    },
    held(id) {
      const t = threads.get(id)
      return t === undefined ? [] : [...t.logs.values()].flat()
    },
    head(id, logId) {
      return (threads.get(id)?.logs.get(logId)?.length ?? 0) + 1
    },
    deliver(record, options = {}) {
      const t = state(record.thread)
      let recs = t.logs.get(record.log)
      if (recs === undefined) t.logs.set(record.log, recs = [])
      if (record.counter <= recs.length) {
        if (options.publishDuplicate === true) channel.publish(record)
        return 'duplicate'
      }
      if (record.counter !== recs.length + 1) return 'gap'
      recs.push(record)
      if (record.time !== undefined) {
        try { clock.receive(record.time) } catch { /* far ahead: the clock does not move */ }
      }
      channel.publish(record)
      return 'new'
    }
  }
  world.nets.set(name, net)
  return net
}

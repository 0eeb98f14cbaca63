/**
 * The Net API (`threads.net.pb.API`): threads, logs and records of the hub's peer, for clients
 * that build on threads directly. Thread IDs, keys, addresses and log IDs travel as go-threads'
 * bytes; records as their four dag-cbor blocks. The hub never sends private log keys. A record a
 * caller creates goes to that caller's own log in the thread (made on first use), authored by the
 * identity of its token. A thread
 * that holds a DB cannot be deleted here (`thread is in use`): delete the DB instead.
 */
import type { ServiceImpl } from '@connectrpc/connect'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { cidOf, decodeBlock } from '../src/core/index.js'
import { logIDFromBytes, logIDToBytes } from '../src/core/index.js'
import { MAX_BODY_BYTES } from '../src/core/index.js'
import type { RecordBlocks } from '../src/core/record.js'
import type { Block, ThreadID } from '../src/core/types.js'
import type { NetRecord, ThreadInfo } from '../src/net/types.js'
import type { API } from './gen/threadsnet_pb.js'
import type { Keys, Record as PbRecord } from './gen/threadsnet_pb.js'
import { callerOf, type ApiContext } from './api.js'
import { counterToBytes, threadAddrFromBytes, threadAddrToBytes, threadIDOf, threadIDToBytes, threadKeyBytes, threadKeyOf } from './codec.js'
import { InvalidRequestError, ThreadInUseError } from './errors.js'
import { tokenExchange } from './streams.js'

/** Largest record block accepted from a client (the body limit plus envelope overhead). */
const MAX_BLOCK_BYTES = MAX_BODY_BYTES + 64 * 1024

function threadInfoToPb(info: ThreadInfo) {
  return {
    threadID: threadIDToBytes(info.id),
    threadKey: threadKeyBytes(info.key),
    addrs: info.addrs.map(threadAddrToBytes),
    logs: info.logs.map((l) => ({
      ID: logIDToBytes(l.id),
      pubKey: l.publicKey,
      addrs: l.addrs.map((a) => multiaddr(a).bytes),
      head: l.head.cid?.bytes ?? new Uint8Array(0),
      counter: counterToBytes(l.head.counter)
    }))
  }
}

function recordToPb(rec: NetRecord) {
  return {
    threadID: threadIDToBytes(rec.thread),
    logID: logIDToBytes(rec.log),
    record: { recordNode: rec.blocks.record.bytes, eventNode: rec.blocks.event.bytes, headerNode: rec.blocks.header.bytes, bodyNode: rec.blocks.body.bytes }
  }
}

function keysOf(keys: Keys | undefined): { threadKey?: string; logKey?: Uint8Array } {
  const threadKey = keys === undefined ? undefined : threadKeyOf(keys.threadKey, 'thread-key')
  return {
    ...(threadKey !== undefined ? { threadKey } : {}),
    ...(keys !== undefined && keys.logKey.byteLength > 0 ? { logKey: keys.logKey } : {})
  }
}

async function blockOf(bytes: Uint8Array, field: string): Promise<Block> {
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_BLOCK_BYTES) throw new InvalidRequestError(`record.${field}: expected 1 to ${MAX_BLOCK_BYTES} bytes`)
  return { cid: await cidOf(bytes), bytes }
}

async function blocksOf(record: PbRecord | undefined): Promise<RecordBlocks> {
  if (record === undefined) throw new InvalidRequestError('record is required')
  return {
    record: await blockOf(record.recordNode, 'recordNode'),
    event: await blockOf(record.eventNode, 'eventNode'),
    header: await blockOf(record.headerNode, 'headerNode'),
    body: await blockOf(record.bodyNode, 'bodyNode')
  }
}

function cidFrom(bytes: Uint8Array): CID {
  try {
    return CID.decode(bytes)
  } catch (err) {
    throw new InvalidRequestError(`recordID: not a CID (${(err as Error).message})`, { cause: err })
  }
}

export function netService(api: ApiContext): ServiceImpl<typeof API> {
  const { net } = api.peer
  const holdsDB = (id: ThreadID): boolean => {
    try {
      api.manager.getDB(id)
      return true
    } catch {
      return false
    }
  }
  const thread = async (ctx: Parameters<typeof callerOf>[1], bytes: Uint8Array): Promise<ThreadID> => {
    await callerOf(api, ctx)
    return threadIDOf(bytes, 'threadID')
  }

  return {
    async getHostID(_req, ctx) {
      await callerOf(api, ctx)
      return { peerID: peerIdFromString(api.peer.peerId).toMultihash().bytes }
    },

    getToken: (requests, ctx) => tokenExchange(api.auth, requests, ctx, api.idleTimeoutMs),

    async createThread(req, ctx) {
      const id = await thread(ctx, req.threadID)
      return threadInfoToPb(await net.createThread(id, { ...keysOf(req.keys), signal: ctx.signal }))
    },

    async addThread(req, ctx) {
      await callerOf(api, ctx)
      const address = threadAddrFromBytes(req.addr)
      const { threadKey, logKey } = keysOf(req.keys)
      if (threadKey === undefined) throw new InvalidRequestError('keys.threadKey is required')
      return threadInfoToPb(await net.addThread(address, { threadKey, ...(logKey !== undefined ? { logKey } : {}), signal: ctx.signal }))
    },

    async getThread(req, ctx) {
      return threadInfoToPb(await net.getThread(await thread(ctx, req.threadID), { signal: ctx.signal }))
    },

    async pullThread(req, ctx) {
      await net.pullThread(await thread(ctx, req.threadID), { signal: ctx.signal })
      return {}
    },

    async deleteThread(req, ctx) {
      const id = await thread(ctx, req.threadID)
      if (holdsDB(id)) throw new ThreadInUseError('thread is in use: it holds a DB (delete the DB instead)')
      await net.deleteThread(id, { signal: ctx.signal })
      return {}
    },

    async addReplicator(req, ctx) {
      const id = await thread(ctx, req.threadID)
      let addr: string
      try {
        addr = multiaddr(req.addr).toString()
      } catch (err) {
        throw new InvalidRequestError(`addr: not a multiaddr (${(err as Error).message})`, { cause: err })
      }
      const peer = await net.addReplicator(id, addr, { signal: ctx.signal })
      return { peerID: peerIdFromString(peer).toMultihash().bytes }
    },

    async createRecord(req, ctx) {
      // As go-threads does: the caller's records go to its own log in the thread (the hub's for a
      // call without a token), authored by its identity, never to a log another caller writes.
      const identity = await callerOf(api, ctx)
      const id = threadIDOf(req.threadID, 'threadID')
      let body: unknown
      try {
        body = decodeBlock(req.body, MAX_BODY_BYTES)
      } catch (err) {
        throw new InvalidRequestError(`body: not a dag-cbor value of at most ${MAX_BODY_BYTES} bytes (${(err as Error).message})`, { cause: err })
      }
      return recordToPb(await net.createRecord(id, body, { log: await api.logs.logFor(id, identity), signal: ctx.signal }))
    },

    async addRecord(req, ctx) {
      const id = await thread(ctx, req.threadID)
      let log
      try {
        log = logIDFromBytes(req.logID)
      } catch (err) {
        throw new InvalidRequestError(`logID: ${(err as Error).message}`, { cause: err })
      }
      await net.addRecord(id, log, await blocksOf(req.record), { signal: ctx.signal })
      return {}
    },

    async getRecord(req, ctx) {
      const id = await thread(ctx, req.threadID)
      return { record: recordToPb(await net.getRecord(id, cidFrom(req.recordID), { signal: ctx.signal })).record }
    },

    async * subscribe(req, ctx) {
      await callerOf(api, ctx)
      const threads = req.threadIDs.map((b) => threadIDOf(b, 'threadIDs'))
      try {
        for await (const rec of net.subscribe({ signal: ctx.signal, ...(threads.length > 0 ? { threads } : {}) })) yield recordToPb(rec)
      } catch (err) {
        if (!ctx.signal.aborted) throw err
      }
    }
  }
}

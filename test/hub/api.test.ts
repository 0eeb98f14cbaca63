/**
 * Every method of both APIs over each transport the hub serves: gRPC (HTTP/2), gRPC-Web
 * (HTTP/1.1) and grpc-websockets, with typed clients generated from proto/. Bidirectional calls
 * (GetToken, transactions) run where the transport carries them (gRPC, WebSocket); over HTTP/1.1
 * they answer `Unimplemented` with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Code } from '@connectrpc/connect'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { generateKeyPair, privateKeyToBytes } from '../../src/core/identity.js'
import { logIDFromBytes, logIDFromPublicKey, logIDToBytes } from '../../src/core/log-id.js'
import { sealRecord } from '../../src/core/record.js'
import { newThreadID, threadIDFromBytes, threadIDToBytes } from '../../src/core/thread-id.js'
import { newThreadKey, parseThreadKey, threadKeyToBytes } from '../../src/core/thread-key.js'
import type { DBManager } from '../../src/db/index.js'
import { createPeer, type Peer } from '../../src/node/peer.js'
import type { Hub } from '../../hub/hub.js'
import { threadAddrFromBytes, threadAddrToBytes } from '../../hub/codec.js'
import { ListenReply_Action, ListenRequest_Filter_Action, type WriteTransactionRequestSchema } from '../../hub/gen/threads_pb.js'
import type { MessageInitShape } from '@bufbuild/protobuf'
import { bearer, cleanupHubs, clientsFor, dec, enc, getToken, messages, rejection, startNodeDBPeer, startTestHub, TRANSPORTS, type Clients } from './harness.js'

type WriteRequest = MessageInitShape<typeof WriteTransactionRequestSchema>


const schema = {
  type: 'object',
  properties: { _id: { type: 'string' }, name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
  required: ['_id', 'name']
}


afterAll(async () => { await cleanupHubs() })

describe.each(TRANSPORTS)('over %s', (transport) => {
  let hub: Hub
  let c: Clients
  let grpc: Clients
  let auth: { headers: Record<string, string> }
  /** The identity `auth`'s token names. */
  let me: string
  const bidi = transport !== 'grpc-web'
  const newDB = async (): Promise<Uint8Array> => {
    const dbID = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID, name: 'people', collections: [{ name: 'Persons', schema: enc(schema), indexes: [{ path: 'name', unique: true }] }] }, auth)
    return dbID
  }

  beforeAll(async () => {
    hub = await startTestHub()
    c = clientsFor(transport, hub)
    grpc = clientsFor('grpc', hub)
    const token = await getToken(bidi ? c.db : grpc.db)
    auth = bearer(token.token)
    me = token.identity
  })

  it('GetToken answers a challenge, then a token naming the identity that signed it', async () => {
    if (!bidi) {
      const err = await rejection(getToken(c.db))
      expect(err.code).toBe(Code.Unimplemented)
      expect(err.rawMessage).toMatch(/bidirectional/)
      return
    }
    const { token, identity } = await getToken(c.db)
    const claims = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { sub: string; iss: string }
    expect(claims).toMatchObject({ sub: identity, iss: hub.peerId })
    const net = await getToken(c.net as never)
    expect(net.token.split('.')).toHaveLength(2)
  })

  it('creates a DB with collections, lists it and gives out its info', async () => {
    const dbID = await newDB()
    const { dbs } = await c.db.listDBs({}, auth)
    const listed = dbs.find((d) => threadIDFromBytes(d.dbID) === threadIDFromBytes(dbID))
    expect(listed?.info?.name).toBe('people')
    const info = await c.db.getDBInfo({ dbID }, auth)
    expect(info.name).toBe('people')
    expect(info.key.byteLength).toBe(64)
    expect(info.addrs.length).toBeGreaterThan(0)
    expect(threadAddrFromBytes(info.addrs[0]!)).toMatch(new RegExp(`/p2p/${hub.peerId}/thread/${threadIDFromBytes(dbID)}$`))
    const again = await rejection(c.db.newDB({ dbID }, auth))
    expect(again.code).toBe(Code.AlreadyExists)
    expect(again.rawMessage).toMatch(/^db already exists/)
  })

  it('manages collections: new, info, indexes, list, update and delete', async () => {
    const dbID = await newDB()
    const info = await c.db.getCollectionInfo({ dbID, name: 'Persons' }, auth)
    expect(info.name).toBe('Persons')
    expect(dec(info.schema)).toMatchObject(schema)
    expect(info.indexes).toEqual([expect.objectContaining({ path: 'name', unique: true })])
    await c.db.newCollection({ dbID, config: { name: 'Things', writeValidator: 'return true', readFilter: 'return instance' } }, auth)
    await c.db.updateCollection({ dbID, config: { name: 'Things', schema: enc({ type: 'object', properties: { _id: { type: 'string' }, n: { type: 'number' } } }), indexes: [{ path: 'n' }] } }, auth)
    expect((await c.db.getCollectionIndexes({ dbID, name: 'Things' }, auth)).indexes).toEqual([expect.objectContaining({ path: 'n', unique: false })])
    expect((await c.db.listCollections({ dbID }, auth)).collections.map((x) => x.name).sort()).toEqual(['Persons', 'Things'])
    await c.db.deleteCollection({ dbID, name: 'Things' }, auth)
    const gone = await rejection(c.db.getCollectionInfo({ dbID, name: 'Things' }, auth))
    expect(gone.code).toBe(Code.NotFound)
    expect(gone.rawMessage).toMatch(/^collection not found/)
  })

  it('creates, verifies, saves, finds, checks and deletes instances', async () => {
    const dbID = await newDB()
    const { instanceIDs } = await c.db.create({ dbID, collectionName: 'Persons', instances: [enc({ _id: '', name: 'Alice', age: 30 }), enc({ name: 'Bob', age: 40 }), enc({ _id: 'carol', name: 'Carol', age: 50 })] }, auth)
    expect(instanceIDs[0]).toMatch(/^[0-9a-z]{26}$/)
    expect(instanceIDs[2]).toBe('carol')
    await c.db.verify({ dbID, collectionName: 'Persons', instances: [enc({ _id: 'carol', name: 'Carol', age: 51 })] }, auth)
    await c.db.save({ dbID, collectionName: 'Persons', instances: [enc({ _id: 'carol', name: 'Carol', age: 51 })] }, auth)
    expect(dec((await c.db.findByID({ dbID, collectionName: 'Persons', instanceID: 'carol' }, auth)).instance)).toEqual({ _id: 'carol', name: 'Carol', age: 51 })
    const query = { ands: [{ fieldPath: 'age', operation: 4, value: { float: 40 } }], sort: { fieldPath: 'age', desc: true } }
    const found = await c.db.find({ dbID, collectionName: 'Persons', queryJSON: enc(query) }, auth)
    expect(found.instances.map((b) => dec(b).name)).toEqual(['Carol', 'Bob'])
    expect((await c.db.find({ dbID, collectionName: 'Persons' }, auth)).instances).toHaveLength(3)
    expect((await c.db.has({ dbID, collectionName: 'Persons', instanceIDs }, auth)).exists).toBe(true)
    await c.db.delete({ dbID, collectionName: 'Persons', instanceIDs: ['carol'] }, auth)
    expect((await c.db.has({ dbID, collectionName: 'Persons', instanceIDs }, auth)).exists).toBe(false)
    const missing = await rejection(c.db.findByID({ dbID, collectionName: 'Persons', instanceID: 'carol' }, auth))
    expect(missing.code).toBe(Code.NotFound)
    expect(missing.rawMessage).toMatch(/^instance not found/)
  })

  it('answers DB rule violations with their status and go-threads message', async () => {
    const dbID = await newDB()
    await c.db.create({ dbID, collectionName: 'Persons', instances: [enc({ name: 'Dora' })] }, auth)
    const dup = await rejection(c.db.create({ dbID, collectionName: 'Persons', instances: [enc({ name: 'Dora' })] }, auth))
    expect(dup.code).toBe(Code.AlreadyExists)
    expect(dup.rawMessage).toMatch(/unique constraint violation/)
    const bad = await rejection(c.db.create({ dbID, collectionName: 'Persons', instances: [enc({ name: 'Eve', age: -1 })] }, auth))
    expect(bad.code).toBe(Code.InvalidArgument)
    expect(bad.rawMessage).toMatch(/^instance doesn't correspond to schema/)
    const noID = await rejection(c.db.save({ dbID, collectionName: 'Persons', instances: [enc({ name: 'Eve' })] }, auth))
    expect(noID.rawMessage).toMatch(/missing _id attribute/)
    const noDB = await rejection(c.db.find({ dbID: threadIDToBytes(newThreadID()), collectionName: 'Persons' }, auth))
    expect(noDB.code).toBe(Code.NotFound)
    expect(noDB.rawMessage).toMatch(/^db not found/)
  })

  it('streams creates, saves and deletes to Listen with go-threads filters', async () => {
    const dbID = await newDB()
    const abort = new AbortController()
    const stream = c.db.listen({ dbID, filters: [{ collectionName: 'Persons', action: ListenRequest_Filter_Action.ALL }] }, { ...auth, signal: abort.signal })
    const it = stream[Symbol.asyncIterator]()
    // The listener is registered once the first event arrives; write until it does.
    const first = it.next()
    let created: string[] = []
    const writer = (async () => {
      for (let i = 0; i < 50 && created.length === 0; i++) {
        const ids = (await c.db.create({ dbID, collectionName: 'Persons', instances: [enc({ name: `P${i}` })] }, auth)).instanceIDs
        if (await Promise.race([first.then(() => true), new Promise((r) => setTimeout(() => { r(false) }, 100))])) created = ids
      }
    })()
    const e1 = (await first).value!
    await writer
    expect(e1.action).toBe(ListenReply_Action.CREATE)
    expect(dec(e1.instance)).toMatchObject({ _id: e1.instanceID })
    await c.db.save({ dbID, collectionName: 'Persons', instances: [enc({ _id: e1.instanceID, name: 'Renamed' })] }, auth)
    await c.db.delete({ dbID, collectionName: 'Persons', instanceIDs: [e1.instanceID] }, auth)
    const rest: Array<{ action: number; instanceID: string; instance: Uint8Array }> = []
    while (rest.length < 10) {
      const n = await it.next()
      if (n.done === true) break
      if (n.value.instanceID === e1.instanceID) rest.push(n.value)
      if (n.value.action === ListenReply_Action.DELETE) break
    }
    expect(rest.map((e) => e.action)).toEqual([ListenReply_Action.SAVE, ListenReply_Action.DELETE])
    expect(dec(rest[0]!.instance).name).toBe('Renamed')
    expect(rest[1]!.instance.byteLength).toBe(0)
    abort.abort()
  })

  it('runs a write transaction that commits at the end of the stream and reports failed ops in transactionError', async () => {
    const dbID = await newDB()
    const start = { option: { case: 'startTransactionRequest' as const, value: { dbID, collectionName: 'Persons' } } }
    const create = (name: string) => ({ option: { case: 'createRequest' as const, value: { instances: [enc({ _id: name.toLowerCase(), name })] } } })
    const has = { option: { case: 'hasRequest' as const, value: { instanceIDs: ['fay'] } } }
    if (!bidi) {
      expect((await rejection((async () => { for await (const _ of c.db.writeTransaction(messages(start), auth)) { /* none */ } })())).code).toBe(Code.Unimplemented)
      return
    }
    const replies = []
    for await (const r of c.db.writeTransaction(messages<WriteRequest>(start, create('Fay'), has, create('Fay')), auth)) replies.push(r)
    expect(replies[0]!.option).toMatchObject({ case: 'createReply', value: { instanceIDs: ['fay'], transactionError: '' } })
    expect(replies[1]!.option).toMatchObject({ case: 'hasReply', value: { exists: true } })
    expect(replies[2]!.option.case).toBe('createReply')
    expect((replies[2]!.option.value as { transactionError: string }).transactionError).toMatch(/already existing instance|unique constraint/)
    expect((await c.db.has({ dbID, collectionName: 'Persons', instanceIDs: ['fay'] }, auth)).exists).toBe(true)

    const reads = []
    for await (const r of c.db.readTransaction(messages({ option: start.option }, { option: { case: 'findByIDRequest' as const, value: { instanceID: 'fay' } } }, { option: { case: 'findByIDRequest' as const, value: { instanceID: 'nobody' } } }), auth)) reads.push(r)
    expect(dec((reads[0]!.option.value as { instance: Uint8Array }).instance).name).toBe('Fay')
    expect((reads[1]!.option.value as { transactionError: string }).transactionError).toMatch(/^instance not found/)
  })

  it('discards a write transaction whose call is cancelled', async () => {
    if (!bidi) return
    const dbID = await newDB()
    const abort = new AbortController()
    let release: () => void = () => undefined
    const held = new Promise<void>((r) => { release = r })
    async function * requests() {
      yield { option: { case: 'startTransactionRequest' as const, value: { dbID, collectionName: 'Persons' } } }
      yield { option: { case: 'createRequest' as const, value: { instances: [enc({ _id: 'gus', name: 'Gus' })] } } }
      await held
    }
    const call = (async () => { for await (const r of c.db.writeTransaction(requests(), { ...auth, signal: abort.signal })) { if (r.option.case === 'createReply') abort.abort() } })()
    const err = await rejection(call)
    expect(err.code).toBe(Code.Canceled)
    release()
    // The lock is free again (a single write goes through) and the cancelled create left nothing.
    await c.db.create({ dbID, collectionName: 'Persons', instances: [enc({ _id: 'hal', name: 'Hal' })] }, auth)
    expect((await c.db.has({ dbID, collectionName: 'Persons', instanceIDs: ['gus'] }, auth)).exists).toBe(false)
  })

  it('deletes a DB', async () => {
    const dbID = await newDB()
    await c.db.deleteDB({ dbID }, auth)
    expect((await rejection(c.db.getDBInfo({ dbID }, auth))).code).toBe(Code.NotFound)
  })

  describe('joining', () => {
    let dbs: DBManager
    let stopPeer: () => Promise<void>
    beforeAll(async () => {
      ({ manager: dbs, stop: stopPeer } = await startNodeDBPeer(0))
    })
    afterAll(async () => { await stopPeer() })

    it('joins a DB another peer holds from its address and key, with its collections and instances', async () => {
      const theirs = await dbs.newDB(undefined, { name: 'theirs', collections: [{ name: 'Notes' }] })
      const [note] = await theirs.create('Notes', [{ text: 'hello' }])
      const info = await dbs.getDBInfo(theirs.id)
      await c.db.newDBFromAddr({ addr: threadAddrToBytes(info.addrs[0]!), key: threadKeyToBytes(parseThreadKey(info.key)), name: 'joined' }, auth)
      const dbID = threadIDToBytes(theirs.id)
      expect((await c.db.getDBInfo({ dbID }, auth)).name).toBe('joined')
      expect((await c.db.listCollections({ dbID }, auth)).collections.map((x) => x.name)).toEqual(['Notes'])
      expect(dec((await c.db.findByID({ dbID, collectionName: 'Notes', instanceID: note! }, auth)).instance)).toEqual({ _id: note, text: 'hello' })
      const again = await rejection(c.db.newDBFromAddr({ addr: threadAddrToBytes(info.addrs[0]!), key: threadKeyToBytes(parseThreadKey(info.key)) }, auth))
      expect(again.code).toBe(Code.AlreadyExists)
      expect((await rejection(c.db.newDBFromAddr({ addr: threadAddrToBytes(info.addrs[0]!) }, auth))).rawMessage).toBe('thread read key is required')
    })
  })

  describe('Net API', () => {
    let other: Peer
    beforeAll(async () => { other = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0, replicator: true }) })
    afterAll(async () => { await other.stop() })

    it('gives the host ID', async () => {
      const { peerID } = await c.net.getHostID({}, auth)
      expect(peerID).toEqual(peerIdFromString(hub.peerId).toMultihash().bytes)
    })

    it('creates a thread, writes, reads and streams its records, and deletes it', async () => {
      const id = newThreadID()
      const key = newThreadKey()
      const info = await c.net.createThread({ threadID: threadIDToBytes(id), keys: { threadKey: threadKeyToBytes(key) } }, auth)
      expect(threadIDFromBytes(info.threadID)).toBe(id)
      expect(info.threadKey).toEqual(threadKeyToBytes(key))
      expect(info.logs).toHaveLength(1)
      expect(info.logs[0]!.privKey.byteLength).toBe(0)
      const abort = new AbortController()
      const sub = c.net.subscribe({ threadIDs: [threadIDToBytes(id)] }, { ...auth, signal: abort.signal })[Symbol.asyncIterator]()
      const next = sub.next()
      let rec
      for (let i = 0; i < 50; i++) {
        rec = await c.net.createRecord({ threadID: threadIDToBytes(id), body: dagCbor.encode({ hello: i }) }, auth)
        if (await Promise.race([next.then(() => true), new Promise((r) => setTimeout(() => { r(false) }, 100))])) break
      }
      expect(rec!.record!.recordNode.byteLength).toBeGreaterThan(0)
      // The record went to the caller's own log, authored by its token's identity.
      const mine = (await hub.peer.net.getThread(id)).logs.find((l) => l.author === me)
      expect(mine).toBeDefined()
      expect(logIDFromBytes((await next).value!.logID)).toBe(mine!.id)
      expect(logIDFromBytes(rec!.logID)).toBe(mine!.id)
      abort.abort()
      const cid = CID.decode((await c.net.getThread({ threadID: threadIDToBytes(id) }, auth)).logs.find((l) => logIDFromBytes(l.ID) === mine!.id)!.head)
      const got = await c.net.getRecord({ threadID: threadIDToBytes(id), recordID: cid.bytes }, auth)
      expect(got.record!.recordNode).toEqual(rec!.record!.recordNode)
      await c.net.pullThread({ threadID: threadIDToBytes(id) }, auth)
      await c.net.deleteThread({ threadID: threadIDToBytes(id) }, auth)
      expect((await rejection(c.net.getThread({ threadID: threadIDToBytes(id) }, auth))).code).toBe(Code.NotFound)
    })

    it('adds a record signed elsewhere with the log key given at creation', async () => {
      const id = newThreadID()
      const key = newThreadKey()
      const logKey = await generateKeyPair()
      await c.net.createThread({ threadID: threadIDToBytes(id), keys: { threadKey: threadKeyToBytes(key), logKey: privateKeyToBytes(logKey) } }, auth)
      const blocks = await sealRecord({ body: { made: 'by the client' }, threadKey: key, logKey, time: { wall: Date.now(), counter: 0 } })
      const logID = logIDToBytes(logIDFromPublicKey(logKey.publicKey))
      await c.net.addRecord({ threadID: threadIDToBytes(id), logID, record: { recordNode: blocks.record.bytes, eventNode: blocks.event.bytes, headerNode: blocks.header.bytes, bodyNode: blocks.body.bytes } }, auth)
      const info = await c.net.getThread({ threadID: threadIDToBytes(id) }, auth)
      expect(CID.decode(info.logs[0]!.head).equals(blocks.record.cid)).toBe(true)
      expect(info.logs[0]!.counter[0]).toBe(2) // zig-zag varint of 1
    })

    it('adds a thread from another peer and a replicator', async () => {
      const id = newThreadID()
      const key = newThreadKey()
      const made = await other.net.createThread(id, { threadKey: key })
      const addr = threadAddrToBytes(made.addrs[0]!)
      const info = await c.net.addThread({ addr, keys: { threadKey: threadKeyToBytes(key) } }, auth)
      expect(threadIDFromBytes(info.threadID)).toBe(id)
      expect(info.logs.length).toBe(2)
      expect((await rejection(c.net.addReplicator({ threadID: threadIDToBytes(id), addr: Uint8Array.of(0xff, 0xff) }, auth))).code).toBe(Code.InvalidArgument)
      const { peerID } = await c.net.addReplicator({ threadID: threadIDToBytes(id), addr: multiaddr(other.addrs()[0]!).bytes }, auth)
      expect(peerID).toEqual(peerIdFromString(other.peerId).toMultihash().bytes)
    })

    it('refuses to delete a thread that holds a DB', async () => {
      const dbID = await newDB()
      const err = await rejection(c.net.deleteThread({ threadID: dbID }, auth))
      expect(err.code).toBe(Code.FailedPrecondition)
      expect(err.rawMessage).toMatch(/^thread is in use/)
    })
  })
})

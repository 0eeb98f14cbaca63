/**
 * Wire compatibility with go-threads' own generated code: messages encoded by the JS client's
 * protobuf classes (`@textile/threads-client-grpc`, generated from go-threads' .proto files)
 * decode with the hub's (generated from proto/), and the other way round — sparse field numbers,
 * oneofs and enums included — and the committed vectors (test/vectors/hub-v1.json) pin the bytes.
 */
import { describe, expect, it } from 'vitest'
import type * as TheirPb from '@textile/threads-client-grpc/threads_pb'
import { readFile } from 'node:fs/promises'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { createRequire } from 'node:module'

// go-threads' generated JS classes are CommonJS whose exports a namespace import cannot see.
const theirs = createRequire(import.meta.url)('@textile/threads-client-grpc/threads_pb') as typeof TheirPb
import {
  CollectionConfigSchema, ListenReply_Action, ListenReplySchema, NewDBRequestSchema, WriteTransactionRequestSchema
} from '../../hub/gen/threads_pb.js'
import { counterToBytes, threadAddrToBytes } from '../../hub/codec.js'
import { headerFrame } from '../../hub/websocket.js'
import { REPO_ROOT } from './harness.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'))

interface Vectors {
  newDBRequest: { dbID: string; key: string; name: string; collection: string; hex: string }
  writeTransactionCreate: { instance: string; hex: string }
  threadAddress: { address: string; hex: string }
  counter: Array<{ counter: number; hex: string }>
  trailerFrame: { status: number; message: string; hex: string }
}

const vectors = JSON.parse(await readFile(`${REPO_ROOT}/test/vectors/hub-v1.json`, 'utf8')) as Vectors

describe('the DB API on the wire', () => {
  it('decodes a NewDBRequest made by go-threads\' JS classes, sparse field numbers included', () => {
    const v = vectors.newDBRequest
    const req = new theirs.NewDBRequest()
    req.setDbid(bytes(v.dbID))
    req.setKey(bytes(v.key))
    req.setName(v.name)
    const conf = new theirs.CollectionConfig()
    conf.setName(v.collection)
    conf.setSchema(new TextEncoder().encode('{}'))
    const index = new theirs.Index()
    index.setPath('name')
    index.setUnique(true)
    conf.setIndexesList([index])
    conf.setWritevalidator('return true')
    req.setCollectionsList([conf])
    const wire = req.serializeBinary()
    expect(hex(wire)).toBe(v.hex)
    const ours = fromBinary(NewDBRequestSchema, wire)
    expect(hex(ours.dbID)).toBe(v.dbID)
    expect(hex(ours.key)).toBe(v.key)
    expect(ours.name).toBe(v.name)
    expect(ours.collections[0]).toMatchObject({ name: v.collection, writeValidator: 'return true', indexes: [{ path: 'name', unique: true }] })
    // Ours writes fields in declaration order, theirs in number order: both read either.
    const back = theirs.NewDBRequest.deserializeBinary(toBinary(NewDBRequestSchema, ours))
    expect(hex(back.getDbid_asU8())).toBe(v.dbID)
    expect(back.getName()).toBe(v.name)
    expect(back.getCollectionsList()[0]!.getIndexesList()[0]!.getUnique()).toBe(true)
  })

  it('decodes a write transaction\'s create by its oneof number', () => {
    const v = vectors.writeTransactionCreate
    const inner = new theirs.CreateRequest()
    inner.setInstancesList([new TextEncoder().encode(v.instance)])
    const req = new theirs.WriteTransactionRequest()
    req.setCreaterequest(inner)
    expect(hex(req.serializeBinary())).toBe(v.hex)
    const ours = fromBinary(WriteTransactionRequestSchema, bytes(v.hex))
    expect(ours.option.case).toBe('createRequest')
    expect(new TextDecoder().decode((ours.option.value as { instances: Uint8Array[] }).instances[0])).toBe(v.instance)
  })

  it('encodes a ListenReply that go-threads\' JS classes read, enum values included', () => {
    const ours = create(ListenReplySchema, { collectionName: 'Person', instanceID: 'abc', action: ListenReply_Action.DELETE })
    const back = theirs.ListenReply.deserializeBinary(toBinary(ListenReplySchema, ours))
    expect(back.getCollectionname()).toBe('Person')
    expect(back.getInstanceid()).toBe('abc')
    expect(back.getAction()).toBe(theirs.ListenReply.Action.DELETE)
    const conf = theirs.CollectionConfig.deserializeBinary(toBinary(CollectionConfigSchema, create(CollectionConfigSchema, { name: 'X', readFilter: 'return instance' })))
    expect(conf.getReadfilter()).toBe('return instance')
  })
})

describe('the hub\'s own byte forms', () => {
  it('match the committed vectors: thread address, head counter, grpc-websockets trailer frame', () => {
    expect(hex(threadAddrToBytes(vectors.threadAddress.address))).toBe(vectors.threadAddress.hex)
    for (const c of vectors.counter) expect(hex(counterToBytes(c.counter))).toBe(c.hex)
    const t = vectors.trailerFrame
    expect(hex(headerFrame([['grpc-status', String(t.status)], ['grpc-message', t.message]]))).toBe(t.hex)
  })
})

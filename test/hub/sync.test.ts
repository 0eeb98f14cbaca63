/**
 * The hub is a full Weft peer: a DB created through its remote API syncs with a Node Weft peer
 * over the normal protocol, both ways — the peer joins from the DB info the API gives out, sees
 * what API clients wrote, and what it writes reaches API clients (reads and Listen).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DBManager } from '../../src/db/index.js'
import { newThreadID, threadIDToBytes } from '../../src/core/thread-id.js'
import { threadAddrFromBytes } from '../../hub/codec.js'
import { ListenReply_Action } from '../../hub/gen/threads_pb.js'
import { parseThreadKey, threadKeyFromBytes, threadKeyToString } from '../../src/core/thread-key.js'
import { cleanupHubs, clientsFor, dec, enc, startHubProcess, startNodeDBPeer, type Clients, type HubProcess } from './harness.js'
import { until } from '../helpers/until.js'



let hub: HubProcess
let c: Clients
let manager: DBManager
let stopPeer: () => Promise<void>

beforeAll(async () => {
  hub = await startHubProcess({ env: { WEFT_HUB_SYNC_INTERVAL_MS: '1000' } })
  c = clientsFor('grpc', hub)
  ;({ manager, stop: stopPeer } = await startNodeDBPeer(1000))
})

afterAll(async () => {
  await stopPeer()
  await cleanupHubs()
})

describe('a DB made through the remote API and a Node peer', () => {
  it('sync both ways over the Weft protocol', async () => {
    const dbID = threadIDToBytes(newThreadID())
    await c.db.newDB({ dbID, name: 'shared', collections: [{ name: 'Notes', indexes: [{ path: 'title', unique: true }] }] })
    const { instanceIDs: [fromHub] } = await c.db.create({ dbID, collectionName: 'Notes', instances: [enc({ title: 'from the hub' })] })

    const info = await c.db.getDBInfo({ dbID })
    const key = threadKeyToString(threadKeyFromBytes(info.key))
    expect(parseThreadKey(key).read).toBeDefined()
    // The DB is the hub's (no token): the peer joins with the owner GetDBInfo names.
    expect(info.owners).toHaveLength(1)
    const db = await manager.newDBFromAddr(threadAddrFromBytes(info.addrs[0]!), key, { name: 'joined', owner: info.owners[0]! })
    expect((await db.getGovernance()).owners).toEqual(info.owners)
    await until(async () => (await db.has('Notes', [fromHub!])), 'the hub\'s note on the peer')
    expect(await db.findByID('Notes', fromHub!)).toEqual({ _id: fromHub, title: 'from the hub' })
    expect((await db.getCollectionInfo('Notes')).indexes).toEqual([{ path: 'title', unique: true }])

    const abort = new AbortController()
    const events = c.db.listen({ dbID, filters: [] }, { signal: abort.signal })[Symbol.asyncIterator]()
    const [fromPeer] = await db.create('Notes', [{ title: 'from the peer' }])
    await until(async () => (await c.db.has({ dbID, collectionName: 'Notes', instanceIDs: [fromPeer!] })).exists, 'the peer\'s note on the hub')
    expect(dec((await c.db.findByID({ dbID, collectionName: 'Notes', instanceID: fromPeer! })).instance)).toEqual({ _id: fromPeer, title: 'from the peer' })

    // A later remote write reaches an API listener as it is applied.
    await db.save('Notes', [{ _id: fromPeer!, title: 'edited on the peer' }])
    for (;;) {
      const e = (await events.next()).value!
      if (e.instanceID === fromPeer && e.action === ListenReply_Action.SAVE) {
        expect(dec(e.instance)).toEqual({ _id: fromPeer, title: 'edited on the peer' })
        break
      }
    }
    abort.abort()
    await until(async () => {
      const there = (await c.db.find({ dbID, collectionName: 'Notes' })).instances.map(dec)
      const here = await db.find('Notes')
      return JSON.stringify(there) === JSON.stringify(here)
    }, 'equal notes on both sides')
  })
})

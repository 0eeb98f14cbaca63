/**
 * A DB made through the hub's remote API, shared with a browser peer: the hub runs as a real
 * process (test/hub/harness.ts) with a libp2p WebSocket listener; a remote client (gRPC, with a
 * token) creates the DB under an authors-only rule; a tab of real Chromium joins it through the
 * hub's own address with the owner GetDBInfo names. A remote client's create appears in the
 * browser, the browser's create appears to the remote client's Listen and Find, and the rule —
 * which reads the proven `writer` — holds alike on the hub and in the browser.
 */
import { expect, test } from '@playwright/test'
import { threadKeyFromBytes, threadKeyToString } from '../src/core/thread-key.js'
import { newThreadID, threadIDToBytes } from '../src/core/thread-id.js'
import { toInvite } from '../src/client/invite.js'
import { threadAddrFromBytes } from '../hub/codec.js'
import { ListenReply_Action } from '../hub/gen/threads_pb.js'
import { bearer, cleanupHubs, clientsFor, dec, enc, getToken, rejection, startHubProcess } from '../test/hub/harness.js'
import { openTab, uniqueName } from './browser-helpers.js'

const AUTHORS_ONLY = `
  if (event.patch.type === 'create') return event.patch.json_patch.author === writer || 'the author must write it'
  if (instance !== undefined && instance.author !== writer) return 'only its author may change it'
  return true`

test.afterAll(async () => {
  await cleanupHubs()
})

test('a DB made through the hub API syncs with a browser peer both ways, the same writer rule holding on each', async ({ browser }) => {
  const hub = await startHubProcess({ env: { WEFT_HUB_WS: '/ip4/127.0.0.1/tcp/0/ws', WEFT_HUB_SYNC_INTERVAL_MS: '1000' } })
  const c = clientsFor('grpc', hub)
  const alice = await getToken(c.db)
  const dbID = threadIDToBytes(newThreadID())
  const schema = { type: 'object', properties: { _id: { type: 'string' }, author: { type: 'string' }, text: { type: 'string' } }, required: ['_id', 'author'] }
  await c.db.newDB({ dbID, name: 'notes', collections: [{ name: 'Notes', schema: enc(schema), writeValidator: AUTHORS_ONLY }] }, bearer(alice.token))
  const { instanceIDs: [first] } = await c.db.create({ dbID, collectionName: 'Notes', instances: [enc({ author: alice.identity, text: 'before the browser' })] }, bearer(alice.token))

  const info = await c.db.getDBInfo({ dbID })
  const addrs = info.addrs.map((a) => threadAddrFromBytes(a))
  const wsAddr = addrs.find((a) => a.includes('/ws/'))
  expect(wsAddr).toBeDefined()
  const thread = wsAddr!.slice(wsAddr!.lastIndexOf('/thread/') + '/thread/'.length)
  const invite = toInvite({ id: thread, key: threadKeyToString(threadKeyFromBytes(info.key)), addrs: [wsAddr!], name: 'notes' })

  const device = await browser.newContext()
  try {
    const page = await openTab(device, { name: uniqueName('hub') })
    const me = await page.evaluate(async ([inv, owner]) => {
      const cl = globalThis.weftPeer!.client()
      const db = await cl.db.join(inv, { owner, timeoutMs: 30_000 })
      const gov = await db.getGovernance()
      return { identity: cl.identity, owners: gov.owners }
    }, [invite, info.owners[0]!] as const)
    expect(me.owners).toEqual([alice.identity])

    // The remote client's notes, before and after the join, appear in the browser.
    const { instanceIDs: [second] } = await c.db.create({ dbID, collectionName: 'Notes', instances: [enc({ author: alice.identity, text: 'after the join' })] }, bearer(alice.token))
    await expect.poll(async () => await page.evaluate(async (t) => (await globalThis.weftPeer!.client().db.getDB(t).find('Notes')).map((n) => n._id as string).sort(), thread), { timeout: 30_000 })
      .toEqual([first, second].sort())

    // The browser is not Alice: the rule refuses it there, as the hub refuses a forged author.
    const refused = await page.evaluate(async ([t, id]) => {
      try {
        await globalThis.weftPeer!.client().db.getDB(t).delete('Notes', [id])
        return 'deleted'
      } catch (err) {
        return (err as Error).name
      }
    }, [thread, first!] as const)
    expect(refused).toBe('ValidatorRejectedError')

    // The browser's own note reaches the remote client's Listen and Find; Alice may not delete it.
    const abort = new AbortController()
    const events = c.db.listen({ dbID, filters: [{ collectionName: 'Notes', action: 1 }] }, { ...bearer(alice.token), signal: abort.signal })[Symbol.asyncIterator]()
    const next = events.next()
    const mine = await page.evaluate(async ([t, author]) => (await globalThis.weftPeer!.client().db.getDB(t).create('Notes', [{ author, text: 'from the browser' }]))[0]!, [thread, me.identity] as const)
    const heard = (await next).value!
    expect(heard).toMatchObject({ collectionName: 'Notes', instanceID: mine, action: ListenReply_Action.CREATE })
    expect(dec(heard.instance)).toMatchObject({ author: me.identity, text: 'from the browser' })
    abort.abort()
    const found = (await c.db.find({ dbID, collectionName: 'Notes', queryJSON: enc({ ands: [{ fieldPath: 'author', operation: 0, value: { string: me.identity } }] }) })).instances.map(dec)
    expect(found.map((n) => n._id)).toEqual([mine])
    expect((await rejection(c.db.delete({ dbID, collectionName: 'Notes', instanceIDs: [mine] }, bearer(alice.token)))).rawMessage).toContain('only its author')

    // Alice's delete of her own note applies in the browser.
    await c.db.delete({ dbID, collectionName: 'Notes', instanceIDs: [first!] }, bearer(alice.token))
    await expect.poll(async () => await page.evaluate(async ([t, id]) => await globalThis.weftPeer!.client().db.getDB(t).has('Notes', [id]), [thread, first!] as const), { timeout: 30_000 })
      .toBe(false)
    expect(await page.evaluate(async (t) => await globalThis.weftPeer!.client().db.getDB(t).conflicts(), thread)).toEqual([])
  } finally {
    await device.close()
    await hub.stop()
  }
})

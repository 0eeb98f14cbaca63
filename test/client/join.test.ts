import { describe, expect, it } from 'vitest'
import { CallTimeoutError } from '../../src/client/errors.js'
import { toInvite } from '../../src/client/invite.js'
import { joinInvite, type JoinSteps } from '../../src/client/join.js'
import type { ClientJoinOptions } from '../../src/client/db-types.js'
import type { CallOptions } from '../../src/client/rpc.js'

const INVITE = toInvite({ id: 'bafkthread', key: 'bkey', addrs: ['/relay/thread/bafkthread', '/peer/thread/bafkthread'], name: 'board' })

interface Log {
  joins: Array<{ address: string; options: ClientJoinOptions }>
  waits: Array<{ names: string[] | null; timeoutMs: number; options: CallOptions }>
}

function steps(log: Log, behave: { join?: (address: string) => Promise<void>; wait?: () => Promise<void> } = {}): JoinSteps {
  return {
    async joinFrom(address, _key, options) {
      log.joins.push({ address, options })
      await behave.join?.(address)
      return 'bafkthread'
    },
    async waitForCollections(_thread, names, timeoutMs, options) {
      log.waits.push({ names, timeoutMs, options })
      await behave.wait?.()
    }
  }
}

const named = (name: string): Error => Object.assign(new Error(name), { name })

describe('joining through an invite', () => {
  it('waits for the collection definitions by default, within what is left of the deadline', async () => {
    const log: Log = { joins: [], waits: [] }
    expect(await joinInvite(INVITE, { timeoutMs: 20_000 }, steps(log))).toBe('bafkthread')
    expect(log.joins.map((j) => j.address)).toEqual(['/relay/thread/bafkthread'])
    expect(log.joins[0]!.options.name).toBe('board')
    expect(log.waits).toHaveLength(1)
    expect(log.waits[0]!.names).toBeNull()
    expect(log.waits[0]!.timeoutMs).toBeLessThanOrEqual(20_000)
    expect(log.waits[0]!.timeoutMs).toBeGreaterThan(19_000)
  })

  it('waits for the named collections when given names, and not at all when told not to', async () => {
    const named: Log = { joins: [], waits: [] }
    await joinInvite(INVITE, { waitForCollections: ['tasks'] }, steps(named))
    expect(named.waits[0]!.names).toEqual(['tasks'])
    const none: Log = { joins: [], waits: [] }
    await joinInvite(INVITE, { waitForCollections: false }, steps(none))
    expect(none.waits).toEqual([])
  })

  it('tries the next address when one fails, and counts a DB already joined as joined', async () => {
    const log: Log = { joins: [], waits: [] }
    await joinInvite(INVITE, {}, steps(log, { join: async (a) => { if (a.startsWith('/relay')) throw named('PeerUnreachableError') } }))
    expect(log.joins.map((j) => j.address)).toEqual(['/relay/thread/bafkthread', '/peer/thread/bafkthread'])
    expect(log.waits).toHaveLength(1)
    const again: Log = { joins: [], waits: [] }
    await joinInvite(INVITE, {}, steps(again, { join: async () => { throw named('DBExistsError') } }))
    expect(again.joins).toHaveLength(1)
    expect(again.waits).toHaveLength(1)
  })

  it('rejects with every address failure when none works, and with the abort at once', async () => {
    const log: Log = { joins: [], waits: [] }
    await expect(joinInvite(INVITE, {}, steps(log, { join: async () => { throw named('PeerUnreachableError') } }))).rejects.toThrow(AggregateError)
    expect(log.waits).toEqual([])
    const aborting: Log = { joins: [], waits: [] }
    await expect(joinInvite(INVITE, {}, steps(aborting, { join: async () => { throw named('AbortError') } }))).rejects.toHaveProperty('name', 'AbortError')
    expect(aborting.joins).toHaveLength(1)
    const controller = new AbortController()
    controller.abort()
    await expect(joinInvite(INVITE, { signal: controller.signal }, steps({ joins: [], waits: [] }))).rejects.toHaveProperty('name', 'AbortError')
  })

  it('turns a wait the worker never answered into CollectionsNotReceivedError, and passes the worker\'s own errors on', async () => {
    await expect(joinInvite(INVITE, { timeoutMs: 1000 }, steps({ joins: [], waits: [] }, { wait: async () => { throw new CallTimeoutError() } })))
      .rejects.toHaveProperty('name', 'CollectionsNotReceivedError')
    await expect(joinInvite(INVITE, {}, steps({ joins: [], waits: [] }, { wait: async () => { throw named('CollectionsNotReceivedError') } })))
      .rejects.toHaveProperty('name', 'CollectionsNotReceivedError')
  })
})

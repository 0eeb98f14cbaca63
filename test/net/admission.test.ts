import { afterEach, describe, expect, it } from 'vitest'
import { newThreadID } from '../../src/core/thread-id.js'
import { QuotaExceededError, AdmissionRefusedError, type Admission, type AdmissionRequest } from '../../src/net/index.js'
import { counterOf, startPeer, stopAll, tcpAddr, until } from './helpers.js'

afterEach(async () => { await stopAll() })

/** A policy that records what it was asked and refuses what `refuse` says. */
function policy(refuse: { adopt?: Error; records?: (req: AdmissionRequest & { records: number; bytes: number }) => Error | undefined } = {}): Admission & {
  adopted: AdmissionRequest[]
  admitted: Array<AdmissionRequest & { records: number; bytes: number }>
  stored: Array<{ account: string; records: number; bytes: number }>
} {
  const p = {
    adopted: [] as AdmissionRequest[],
    admitted: [] as Array<AdmissionRequest & { records: number; bytes: number }>,
    stored: [] as Array<{ account: string; records: number; bytes: number }>,
    adoptThread(req: AdmissionRequest) {
      p.adopted.push(req)
      if (refuse.adopt != null) throw refuse.adopt
    },
    admitRecords(req: AdmissionRequest & { records: number; bytes: number }) {
      p.admitted.push(req)
      const err = refuse.records?.(req)
      if (err != null) throw err
    },
    recordsStored(account: string, records: number, bytes: number) { p.stored.push({ account, records, bytes }) }
  }
  return p
}

describe('admission policy of a replicator', () => {
  it('asks the policy before adopting a thread and names the peer and its address', async () => {
    const admission = policy()
    const relay = await startPeer({ replicator: true, admission })
    const a = await startPeer()
    const id = newThreadID()
    await a.net.createThread(id)
    await a.net.addReplicator(id, tcpAddr(relay))
    expect(admission.adopted).toHaveLength(1)
    expect(admission.adopted[0]).toMatchObject({ thread: id, account: id, peer: a.peerId })
    expect(admission.adopted[0]!.remoteAddr).toContain('/ip4/127.0.0.1/tcp/')
    await a.net.createRecord(id, { n: 1 })
    await until(async () => (await counterOf(relay, id)) === 1, 10_000, 'the relay to store the record')
    expect(admission.admitted.reduce((n, r) => n + r.records, 0)).toBe(1)
    expect(admission.admitted[0]).toMatchObject({ thread: id, account: id })
    expect(admission.stored).toEqual([{ account: id, records: 1, bytes: admission.admitted[0]!.bytes }])
  })

  it('answers a refused hand-over with UNAUTHORIZED and a quota refusal with QUOTA_EXCEEDED, storing nothing', async () => {
    const refused = await startPeer({ replicator: true, admission: policy({ adopt: new AdmissionRefusedError('not on the list') }) })
    const full = await startPeer({ replicator: true, admission: policy({ adopt: new QuotaExceededError('too many threads from this address') }) })
    const odd = await startPeer({ replicator: true, admission: policy({ adopt: new TypeError('policy bug') }) })
    const a = await startPeer()
    const id = newThreadID()
    await a.net.createThread(id)
    await expect(a.net.addReplicator(id, tcpAddr(refused))).rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'UNAUTHORIZED' })
    await expect(a.net.addReplicator(id, tcpAddr(full))).rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'QUOTA_EXCEEDED' })
    await expect(a.net.addReplicator(id, tcpAddr(odd))).rejects.toMatchObject({ name: 'RemoteError', remoteCode: 'UNAUTHORIZED' })
    for (const r of [refused, full, odd]) expect(await r.net.listThreads()).toEqual([])
  })

  it('refuses records past a quota with QUOTA_EXCEEDED and keeps accepting those within it', async () => {
    let allowed = 2
    const admission = policy({ records: (req) => (allowed -= req.records) < 0 ? new QuotaExceededError('thread is full') : undefined })
    const relay = await startPeer({ replicator: true, admission })
    const a = await startPeer()
    const id = newThreadID()
    await a.net.createThread(id)
    await a.net.addReplicator(id, tcpAddr(relay))
    for (let i = 0; i < 3; i++) await a.net.createRecord(id, { i })
    await until(async () => (await counterOf(relay, id)) === 2, 10_000, 'the relay to store two records')
    await until(() => admission.admitted.length >= 3, 10_000, 'the third record to be refused')
    expect(await counterOf(relay, id)).toBe(2)
    expect(admission.stored.reduce((n, s) => n + s.records, 0)).toBe(2)
    // The writer sees why: the refusal is its thread's last error, by name.
    await until(async () => (await a.net.syncStatus(id)).lastError?.name === 'QuotaExceededError', 10_000, 'the writer to see the refusal')
    expect((await a.net.syncStatus(id)).lastError?.message).toContain('thread is full')
  })

  it('accounts a thread per (thread ID, key): a stranger\'s hand-over under its own key has an account of its own', async () => {
    const admission = policy()
    const relay = await startPeer({ replicator: true, admission })
    const owner = await startPeer()
    const stranger = await startPeer()
    const id = newThreadID()
    await stranger.net.createThread(id)
    await stranger.net.addReplicator(id, tcpAddr(relay))
    await owner.net.createThread(id)
    await owner.net.addReplicator(id, tcpAddr(relay))
    expect(admission.adopted.map((r) => r.thread)).toEqual([id, id])
    const [first, second] = admission.adopted.map((r) => r.account)
    expect(first).toBe(id)
    expect(second).toMatch(new RegExp(`^${id}:[0-9a-f]{32}$`))
    await owner.net.createRecord(id, { mine: true })
    await until(() => admission.stored.length === 1, 10_000, 'the owner\'s record to be stored')
    expect(admission.stored[0]!.account).toBe(second)
  })
})

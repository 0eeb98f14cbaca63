import { afterEach, describe, expect, it } from 'vitest'
import { newThreadID } from '../../src/core/thread-id.js'
import type { ThreadID } from '../../src/core/types.js'
import { QuotaExceededError, AdmissionRefusedError, type Admission, type AdmissionRequest } from '../../src/net/index.js'
import { counterOf, startPeer, stopAll, tcpAddr, until } from './helpers.js'

afterEach(async () => { await stopAll() })

/** A policy that records what it was asked and refuses what `refuse` says. */
function policy(refuse: { adopt?: Error; records?: (req: AdmissionRequest & { records: number; bytes: number }) => Error | undefined } = {}): Admission & {
  adopted: AdmissionRequest[]
  admitted: Array<AdmissionRequest & { records: number; bytes: number }>
  stored: Array<{ thread: ThreadID; records: number; bytes: number }>
} {
  const p = {
    adopted: [] as AdmissionRequest[],
    admitted: [] as Array<AdmissionRequest & { records: number; bytes: number }>,
    stored: [] as Array<{ thread: ThreadID; records: number; bytes: number }>,
    adoptThread(req: AdmissionRequest) {
      p.adopted.push(req)
      if (refuse.adopt != null) throw refuse.adopt
    },
    admitRecords(req: AdmissionRequest & { records: number; bytes: number }) {
      p.admitted.push(req)
      const err = refuse.records?.(req)
      if (err != null) throw err
    },
    recordsStored(thread: ThreadID, records: number, bytes: number) { p.stored.push({ thread, records, bytes }) }
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
    expect(admission.adopted[0]).toMatchObject({ thread: id, peer: a.peerId })
    expect(admission.adopted[0]!.remoteAddr).toContain('/ip4/127.0.0.1/tcp/')
    await a.net.createRecord(id, { n: 1 })
    await until(async () => (await counterOf(relay, id)) === 1, 10_000, 'the relay to store the record')
    expect(admission.admitted.reduce((n, r) => n + r.records, 0)).toBe(1)
    expect(admission.stored).toEqual([{ thread: id, records: 1, bytes: admission.admitted[0]!.bytes }])
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
  })
})

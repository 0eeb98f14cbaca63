import { describe, expect, it } from 'vitest'
import type { PeerSyncState, SyncStatus } from '../../src/net/index.js'
import type { ThreadID } from '../../src/core/index.js'
import type { ConnectionKind } from '../../src/client/index.js'
import { readableError, toClientStatus, type ConnectionFacts } from '../../worker/status.js'

const THREAD = 'bafkthread' as ThreadID
const RELAY = '12D3KooWRelay'

function peer(p: Partial<PeerSyncState> & { peer: string }): PeerSyncState {
  return { connected: false, via: 'none', strikes: 0, failures: 0, holds: 0, ...p }
}

function facts(kinds: Record<string, ConnectionKind>, relays: Array<{ connected: boolean; reserved: boolean }> = [], platformOnline = true): ConnectionFacts {
  return { kind: (p) => kinds[p] ?? 'none', relayPeers: new Set([RELAY]), relays, platformOnline }
}

function status(peers: PeerSyncState[], extra: Partial<SyncStatus> = {}): SyncStatus {
  return { thread: THREAD, peers, pendingPush: 0, ...extra }
}

describe('the sync status a tab sees', () => {
  it('is online while a relay is connected, whatever the platform says', () => {
    const s = toClientStatus(status([]), facts({}, [{ connected: true, reserved: true }], false))
    expect(s.online).toBe(true)
    expect(s.connectivity).toEqual({ relays: 1, relaysConnected: 1, reserved: true, peersConnected: 0, direct: 0, platformOnline: false })
  })

  it('is online while a thread peer is connected with no relay, and offline with no connection even when the platform says online', () => {
    const withPeer = toClientStatus(status([peer({ peer: 'A' })]), facts({ A: 'webrtc' }, [{ connected: false, reserved: false }]))
    expect(withPeer.online).toBe(true)
    expect(withPeer.connectivity.direct).toBe(1)
    const alone = toClientStatus(status([peer({ peer: 'A' })]), facts({}, [{ connected: false, reserved: false }], true))
    expect(alone.online).toBe(false)
  })

  it('reports each peer with how it is reached, whether it is a relay, its strikes, ban, retries and holdings', () => {
    const s = toClientStatus(status([
      peer({ peer: 'A', strikes: 2, bannedUntil: 5000, failures: 3, nextAttemptAt: 4000, holds: 7, lastError: { name: 'PeerBannedError', message: 'banned', at: 10 } }),
      peer({ peer: RELAY, holds: 9 })
    ]), facts({ A: 'none', [RELAY]: 'relay-replicator' }, [{ connected: true, reserved: true }]))
    expect(s.peers).toEqual([
      { peer: 'A', connected: false, via: 'none', relay: false, strikes: 2, bannedUntil: 5000, failures: 3, nextAttemptAt: 4000, holds: 7, lastError: { name: 'PeerBannedError', message: 'banned', at: 10 } },
      { peer: RELAY, connected: true, via: 'relay-replicator', relay: true, strikes: 0, failures: 0, holds: 9 }
    ])
  })

  it('shows the latest error of a peer that still fails, and none once every peer syncs again', () => {
    const failing = toClientStatus(status([
      peer({ peer: 'A', failures: 1, lastError: { name: 'SessionClosedError', message: 'the stream ended', at: 20 } }),
      peer({ peer: 'B', failures: 2, lastError: { name: 'PeerUnreachableError', message: 'no route', at: 10 } })
    ], { lastError: { name: 'Error', message: 'old', at: 1 } }), facts({}))
    expect(failing.lastError).toEqual({ name: 'SessionClosedError', message: 'the stream ended', at: 20 })
    // The net keeps the thread's last error after a success; the tab does not see it then.
    const recovered = toClientStatus(status([peer({ peer: 'A', failures: 0 })], { lastError: { name: 'SessionClosedError', message: 'x', at: 20 } }), facts({ A: 'relayed' }))
    expect(recovered.lastError).toBeUndefined()
  })

  it('never passes a stringified event or object as an error message', () => {
    expect(readableError({ name: 'Error', message: 'Error: [object Event]', at: 5 })).toEqual({ name: 'Error', message: 'Error: a connection error (the platform gave no details)', at: 5 })
    expect(readableError({ name: 'Error', message: '[object Object]', at: 5 }).message).toBe('an error without a message (Object)')
    expect(readableError({ name: 'Error', message: '{"code":1}', at: 5 }).message).toBe('an error without a message')
    expect(readableError({ name: 'not a name!', message: '', at: 5 })).toEqual({ name: 'Error', message: 'no details were given', at: 5 })
    expect(readableError({ name: 'UnexpectedEOFError', message: 'x'.repeat(1000), at: 5 }).message).toHaveLength(300)
  })
})

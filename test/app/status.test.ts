import { describe, expect, it } from 'vitest'
import type { ClientSyncStatus, PeerStatus } from '../../src/client/index.js'
import { describePeer, describeStatus, describeSyncError } from '../../src/app/status.js'

const NOW = 1_000_000

function peer(p: Partial<PeerStatus> & { peer: string }): PeerStatus {
  return { connected: false, via: 'none', relay: false, strikes: 0, failures: 0, holds: 0, ...p }
}

function status(peers: PeerStatus[], extra: Partial<ClientSyncStatus> = {}): ClientSyncStatus {
  const relays = peers.filter((p) => p.relay)
  const others = peers.filter((p) => !p.relay && p.connected)
  return {
    thread: 't',
    online: peers.some((p) => p.connected),
    connectivity: {
      relays: Math.max(1, relays.length),
      relaysConnected: relays.filter((p) => p.connected).length,
      reserved: relays.some((p) => p.connected),
      peersConnected: others.length,
      direct: others.filter((p) => p.via === 'webrtc').length,
      platformOnline: true
    },
    peers,
    pendingPush: 0,
    ...extra
  }
}

const relay = peer({ peer: 'relay-000001', relay: true, connected: true, via: 'relay-replicator' })

describe('the sync indicator', () => {
  it('says online from the worker\'s connections, with how each device is reached, whatever the browser flag says', () => {
    const v = describeStatus(status([relay, peer({ peer: 'ana-0000001', connected: true, via: 'webrtc' }), peer({ peer: 'ben-0000002', connected: true, via: 'relayed' })], { connectivity: { relays: 1, relaysConnected: 1, reserved: true, peersConnected: 2, direct: 1, platformOnline: false } }), NOW)
    expect(v.state).toBe('online')
    expect(`${v.label} · ${v.detail}`).toBe('Online · 2 other devices (1 direct, 1 relayed) · relay keeps a copy · all synced')
    expect(v.error).toBeUndefined()
  })

  it('says offline when nothing is reachable, with the changes waiting here', () => {
    const v = describeStatus(status([peer({ peer: 'relay-000001', relay: true })], { online: false, pendingPush: 2 }), NOW)
    expect(v.state).toBe('offline')
    expect(v.detail).toBe('2 changes saved here, waiting to sync · relay not reachable')
  })

  it('counts a device that is away instead of showing an error for it', () => {
    const v = describeStatus(status([relay, peer({ peer: 'ana-0000001', failures: 3, nextAttemptAt: NOW + 4000, lastError: { name: 'PeerUnreachableError', message: 'could not reach', at: NOW - 10 } })]), NOW)
    expect(v.detail).toBe('no other device online · 1 device away · relay keeps a copy · all synced')
    expect(v.error).toBeUndefined()
    expect(v.peers[1]).toBe('device …000001: not connected · 3 failed syncs, next try in 4 s · not reachable (PeerUnreachableError)')
  })

  it('shows a failing sync in words with the error\'s name and when it is retried, and nothing once it succeeds', () => {
    const failing = describeStatus(status([relay, peer({ peer: 'ana-0000001', connected: true, via: 'relayed', failures: 1, nextAttemptAt: NOW + 2000, lastError: { name: 'UnexpectedEOFError', message: 'Unexpected EOF - stream closed while reading 0/1 bytes', at: NOW } })]), NOW)
    expect(failing.error).toBe('sync with 1 peer failing: the connection dropped during a sync (UnexpectedEOFError), retry in 2 s')
    const fine = describeStatus(status([relay, peer({ peer: 'ana-0000001', connected: true, via: 'relayed' })]), NOW)
    expect(fine.error).toBeUndefined()
  })

  it('names a banned peer and until when', () => {
    const until = NOW + 60_000
    const v = describeStatus(status([relay, peer({ peer: 'bad-0000009', strikes: 4, bannedUntil: until })]), NOW)
    expect(v.error).toMatch(/^1 peer refused until /)
    expect(describePeer(peer({ peer: 'bad-0000009', strikes: 4, bannedUntil: until }), NOW)).toMatch(/^device …000009: not connected · refused until .+ \(4 protocol violations\)$/)
  })

  it('shows a catch-up as progress', () => {
    const v = describeStatus(status([relay], { catchUp: { peer: 'relay-000001', fetched: 30, expected: 120 } }), NOW)
    expect(v.label).toBe('Catching up')
    expect(v.progress).toEqual({ value: 30, max: 120, text: '30 of 120 changes' })
  })

  it('puts unknown errors in their own words, never as an object', () => {
    expect(describeSyncError({ name: 'QuotaExceededError', message: 'x' })).toBe('its storage quota for this board is full (QuotaExceededError)')
    expect(describeSyncError({ name: 'SomethingNewError', message: 'what happened' })).toBe('what happened (SomethingNewError)')
  })
})

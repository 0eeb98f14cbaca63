/**
 * The sync indicator, driven by the SDK's sync status stream (`client.net.watchSyncStatus`), on
 * one line: online or offline (from the worker's real connections — a relay or another device
 * reachable — never from the browser's network flag alone, which is wrong both ways), how the
 * other devices are reached (direct WebRTC, relayed through the relay), changes waiting to be
 * sent, a progress bar while a catch-up runs, and what is failing, in words, with the error's
 * name. Its tooltip lists every peer: how it is reached, its retries and bans.
 *
 * An error shows while syncs with some device still fail and goes when they succeed again. A
 * device that is simply away (not reachable) is counted, not shown as an error.
 */
import type { ClientSyncStatus, ConnectionKind, PeerStatus, SyncError } from '../client/index.js'

export type SyncState = 'starting' | 'offline' | 'syncing' | 'online'

export interface StatusView {
  state: SyncState
  label: string
  /** The rest of the line. */
  detail: string
  progress?: { value: number; max: number; text: string }
  /** What is failing, in words, with the error's name. */
  error?: string
  /** One line per peer, for the tooltip. */
  peers: string[]
}

/** Errors that only say a device is away: counted, not shown as errors. */
const AWAY = new Set(['PeerUnreachableError'])

const WORDS: Record<string, string> = {
  PeerUnreachableError: 'not reachable',
  SessionClosedError: 'the connection dropped during a sync',
  UnexpectedEOFError: 'the connection dropped during a sync',
  StreamResetError: 'the connection dropped during a sync',
  StreamStateError: 'the connection dropped during a sync',
  ConnectionClosedError: 'the connection closed during a sync',
  TimeoutError: 'it did not answer in time',
  AbortError: 'a sync was interrupted',
  PeerBannedError: 'refused for a while',
  RemoteError: 'it refused the request',
  UnauthorizedError: 'it does not accept this board',
  QuotaExceededError: 'its storage quota for this board is full',
  RecordRejectedError: 'it sent data that did not verify',
  InvalidMessageError: 'it sent data that did not decode'
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/** An error in words, with its name (`the connection dropped during a sync (SessionClosedError)`). */
export function describeSyncError(e: Pick<SyncError, 'name' | 'message'>): string {
  const words = WORDS[e.name] ?? e.message
  return `${words} (${e.name})`
}

function short(id: string): string {
  return `…${id.slice(-6)}`
}

function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

function inSeconds(at: number, now: number): string {
  return `${Math.max(1, Math.round((at - now) / 1000))} s`
}

const HOW: Record<ConnectionKind, string> = {
  webrtc: 'direct (WebRTC)',
  direct: 'direct',
  relayed: 'relayed through the relay',
  'relay-replicator': 'connected',
  none: 'not connected'
}

/** One peer, for the tooltip. */
export function describePeer(p: PeerStatus, now = Date.now()): string {
  const parts = [p.relay ? `relay ${short(p.peer)}: ${HOW[p.via]}, keeps a copy` : `device ${short(p.peer)}: ${HOW[p.via]}`]
  if (p.bannedUntil !== undefined && p.bannedUntil > now) parts.push(`refused until ${clock(p.bannedUntil)} (${plural(p.strikes, 'protocol violation')})`)
  else if (p.strikes > 0) parts.push(plural(p.strikes, 'protocol violation'))
  if (p.failures > 0) parts.push(`${plural(p.failures, 'failed sync')}${p.nextAttemptAt !== undefined ? `, next try in ${inSeconds(p.nextAttemptAt, now)}` : ''}`)
  if (p.lastError !== undefined) parts.push(describeSyncError(p.lastError))
  return parts.join(' · ')
}

/** What the indicator says for a status (pure: easy to test and to restyle). */
export function describeStatus(s: ClientSyncStatus, now = Date.now()): StatusView {
  const devices = s.peers.filter((p) => !p.relay)
  const connected = devices.filter((p) => p.connected)
  const count = (...kinds: ConnectionKind[]): number => connected.filter((p) => kinds.includes(p.via)).length
  const direct = count('webrtc', 'direct')
  const relayed = count('relayed')
  const relayCopy = s.peers.some((p) => p.relay && p.connected)
  const banned = s.peers.filter((p) => p.bannedUntil !== undefined && p.bannedUntil > now)
  const away = devices.filter((p) => !p.connected && p.failures > 0)
  const failing = s.peers.filter((p) => p.lastError !== undefined && !AWAY.has(p.lastError.name) && p.bannedUntil === undefined)
  const peers = s.peers.map((p) => describePeer(p, now))

  const errorOf = (list: PeerStatus[]): string | undefined => {
    const latest = list.map((p) => p.lastError!).sort((x, y) => y.at - x.at)[0]
    if (latest === undefined) return undefined
    const next = list.map((p) => p.nextAttemptAt).filter((t): t is number => t !== undefined).sort((x, y) => x - y)[0]
    return `sync with ${plural(list.length, 'peer')} failing: ${describeSyncError(latest)}${next !== undefined ? `, retry in ${inSeconds(next, now)}` : ''}`
  }
  const refused = banned.length > 0 ? `${plural(banned.length, 'peer')} refused until ${clock(Math.max(...banned.map((p) => p.bannedUntil!)))}` : undefined
  const error = [errorOf(failing), refused].filter((e) => e !== undefined).join(' · ') || undefined
  const waiting = s.pendingPush > 0 ? `${plural(s.pendingPush, 'change')} to send` : 'all synced'

  if (!s.online) {
    const relayNote = s.connectivity.relays === 0 ? 'no relay configured' : 'relay not reachable'
    return {
      state: 'offline',
      label: 'Offline',
      detail: [s.pendingPush > 0 ? `${plural(s.pendingPush, 'change')} saved here, waiting to sync` : 'changes are saved here and sync when back online', relayNote].join(' · '),
      ...(error !== undefined ? { error } : {}),
      peers
    }
  }

  const how = [...(direct > 0 ? [`${direct} direct`] : []), ...(relayed > 0 ? [`${relayed} relayed`] : [])].join(', ')
  const others = connected.length > 0 ? `${plural(connected.length, 'other device')} (${how})` : 'no other device online'
  const detail = [
    others,
    ...(away.length > 0 ? [`${plural(away.length, 'device')} away`] : []),
    ...(relayCopy ? ['relay keeps a copy'] : s.connectivity.relays > 0 ? ['relay not reachable'] : []),
    waiting
  ].join(' · ')

  if (s.catchUp !== undefined && s.catchUp.expected > 0) {
    const { fetched, expected } = s.catchUp
    return {
      state: 'syncing',
      label: 'Catching up',
      detail,
      progress: { value: Math.min(fetched, expected), max: expected, text: `${fetched} of ${plural(expected, 'change')}` },
      ...(error !== undefined ? { error } : {}),
      peers
    }
  }
  return {
    state: s.pendingPush > 0 ? 'syncing' : 'online',
    label: s.pendingPush > 0 ? 'Syncing' : 'Online',
    detail,
    ...(error !== undefined ? { error } : {}),
    peers
  }
}

/** Renders a {@link StatusView} into the indicator element (see index.html `#sync`). */
export function renderStatus(root: HTMLElement, view: StatusView, raw?: ClientSyncStatus): void {
  root.dataset.state = view.state
  root.dataset.pending = String(raw?.pendingPush ?? 0)
  root.dataset.online = String(raw?.online ?? false)
  root.dataset.via = [...new Set(raw?.peers.filter((p) => p.connected).map((p) => p.via) ?? [])].join(' ')
  root.dataset.error = view.error !== undefined ? 'true' : 'false'
  root.title = [`${view.label} · ${view.detail}`, ...(view.error !== undefined ? [view.error] : []), ...view.peers].join('\n')
  root.querySelector<HTMLElement>('.sync-label')!.textContent = view.label
  root.querySelector<HTMLElement>('.sync-detail')!.textContent = view.detail
  const error = root.querySelector<HTMLElement>('.sync-error')!
  error.textContent = view.error ?? ''
  error.hidden = view.error === undefined
  const bar = root.querySelector<HTMLProgressElement>('progress')!
  const barText = root.querySelector<HTMLElement>('.sync-progress')!
  bar.hidden = barText.hidden = view.progress === undefined
  if (view.progress !== undefined) {
    bar.max = view.progress.max
    bar.value = view.progress.value
    barText.textContent = view.progress.text
  }
}

/**
 * The sync indicator, driven by the SDK's sync status stream (`client.net.watchSyncStatus`):
 * online or offline, how the other devices are reached (direct WebRTC, relayed through the relay,
 * or the relay itself as a replicator), changes waiting to be pushed, and a progress bar while a
 * catch-up runs. Silent sync failure is what users of peer-to-peer apps complain about most, so
 * the last error is shown too.
 */
import type { ClientSyncStatus, ConnectionKind } from '../client/index.js'

export type SyncState = 'starting' | 'offline' | 'syncing' | 'online'

export interface StatusView {
  state: SyncState
  label: string
  detail: string
  progress?: { value: number; max: number; text: string }
  error?: string
}

const ERROR_SHOWN_MS = 2 * 60_000

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/** What the indicator says for a status (pure: easy to test and to restyle). */
export function describeStatus(s: ClientSyncStatus, browserOnline: boolean, now = Date.now()): StatusView {
  const connected = s.peers.filter((p) => p.connected)
  const count = (...kinds: ConnectionKind[]): number => connected.filter((p) => kinds.includes(p.via)).length
  const direct = count('webrtc', 'direct')
  const relayed = count('relayed')
  const relay = count('relay-replicator') > 0
  const waiting = s.pendingPush > 0 ? `${plural(s.pendingPush, 'change')} waiting to sync` : 'all changes synced'
  const error = s.lastError !== undefined && now - s.lastError.at < ERROR_SHOWN_MS
    ? `last sync error: ${s.lastError.name}: ${s.lastError.message}`
    : undefined

  if (!s.online || !browserOnline) {
    return {
      state: 'offline',
      label: 'Offline',
      detail: s.pendingPush > 0
        ? `${plural(s.pendingPush, 'change')} saved here, waiting to sync`
        : 'changes are saved here and sync when you are back online',
      ...(error !== undefined ? { error } : {})
    }
  }

  const devices = direct + relayed
  const how = [
    ...(count('webrtc') > 0 ? [`${count('webrtc')} direct (WebRTC)`] : []),
    ...(count('direct') > 0 ? [`${count('direct')} direct`] : []),
    ...(relayed > 0 ? [`${relayed} relayed`] : [])
  ].join(', ')
  const peers = devices > 0 ? `${plural(devices, 'other device')}: ${how}` : 'no other device online'
  const detail = [peers, ...(relay ? ['relay keeps a copy'] : []), waiting].join(' · ')

  if (s.catchUp !== undefined && s.catchUp.expected > 0) {
    const { fetched, expected } = s.catchUp
    return {
      state: 'syncing',
      label: 'Catching up',
      detail,
      progress: { value: Math.min(fetched, expected), max: expected, text: `${fetched} of ${plural(expected, 'change')}` },
      ...(error !== undefined ? { error } : {})
    }
  }
  return {
    state: s.pendingPush > 0 ? 'syncing' : 'online',
    label: s.pendingPush > 0 ? 'Syncing' : 'Online',
    detail,
    ...(error !== undefined ? { error } : {})
  }
}

/** Renders a {@link StatusView} into the indicator element (see index.html `#sync`). */
export function renderStatus(root: HTMLElement, view: StatusView, raw?: ClientSyncStatus): void {
  root.dataset.state = view.state
  root.dataset.pending = String(raw?.pendingPush ?? 0)
  root.dataset.online = String(raw?.online ?? false)
  root.dataset.via = [...new Set(raw?.peers.filter((p) => p.connected).map((p) => p.via) ?? [])].join(' ')
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

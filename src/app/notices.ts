/**
 * Notices: errors and news shown to the user, and the words for the SDK's named errors (names
 * survive the worker boundary, so the app branches on `err.name`).
 */

export type NoticeKind = 'error' | 'info'

export interface Notices {
  show(kind: NoticeKind, text: string, action?: { label: string; run: () => void }): void
  error(err: unknown): void
}

const SHOWN_MS = { error: 12_000, info: 6_000 }

/** The reason a write validator gave (its message is `app denied net record body: <reason>`). */
function validatorReason(message: string): string {
  const i = message.indexOf(': ')
  return i >= 0 ? message.slice(i + 2) : message
}

export function describeError(err: unknown): string {
  const e = (err ?? {}) as { name?: string; message?: string }
  const message = e.message ?? String(err)
  switch (e.name) {
    case 'ValidatorRejectedError': return `Refused: ${validatorReason(message)}.`
    case 'UniqueConstraintError': return 'There is already a task with this title on the board.'
    case 'SchemaValidationError': return `That does not fit the board's schema: ${message}`
    case 'InstanceNotFoundError': return 'That task no longer exists (it was deleted).'
    case 'InvalidInviteError': return `This invite link is not valid: ${message}`
    case 'CollectionNotFoundError': return 'This board is still arriving from the others; try again in a moment.'
    case 'DBNotFoundError': return 'This board is not in this browser. Ask for an invite link.'
    case 'CallTimeoutError': return 'The database took too long to answer; try again.'
    case 'WorkerGoneError': return 'The database worker stopped; it restarts by itself, try again.'
    default: return `${e.name ?? 'Error'}: ${message}`
  }
}

export function createNotices(root: HTMLElement): Notices {
  function show(kind: NoticeKind, text: string, action?: { label: string; run: () => void }): void {
    const item = document.createElement('div')
    item.className = `notice notice-${kind}`
    item.setAttribute('role', kind === 'error' ? 'alert' : 'status')
    const span = document.createElement('span')
    span.textContent = text
    item.append(span)
    if (action !== undefined) {
      const button = document.createElement('button')
      button.type = 'button'
      button.textContent = action.label
      button.addEventListener('click', () => { item.remove(); action.run() })
      item.append(button)
    }
    const close = document.createElement('button')
    close.type = 'button'
    close.className = 'notice-close'
    close.setAttribute('aria-label', 'Dismiss')
    close.textContent = '×'
    close.addEventListener('click', () => { item.remove() })
    item.append(close)
    root.append(item)
    if (action === undefined) setTimeout(() => { item.remove() }, SHOWN_MS[kind])
  }
  return {
    show,
    error: (err) => { show('error', describeError(err)) }
  }
}

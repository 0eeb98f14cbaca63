/**
 * The Weft demo app: a shared task board. It starts the browser peer (`connect()`), signs the user
 * in (identity + token), opens a board (from an invite in the URL, the last board used, or a new
 * one), renders its tasks live, and shows how sync is doing.
 *
 * URL: `#invite=weft1.…` joins a board (then becomes `#board=<id>`); `#board=<id>` opens a board
 * this browser holds. The part after `#` never reaches a server, which matters: an invite holds
 * the board's key.
 */
import { connect, type ClientSyncStatus, type ListenEvent, type WeftClient } from '../client/index.js'
import { createBoard, joinBoard, listBoards, openBoard, type Board, type BoardEntry } from './board.js'
import { loadConfig, type AppConfig } from './config.js'
import { createNotices, describeError } from './notices.js'
import { registerServiceWorker } from './pwa.js'
import { describeStatus, renderStatus } from './status.js'
import type { Task } from './tasks.js'
import { signIn, shortIdentity, type User } from './user.js'
import { h, TaskList } from './view.js'
import './style.css'

const LAST_BOARD_KEY = 'weft-board:last'

declare global {
  /** For the devtools console (and tests): the SDK client and the open board. */
  var weftApp: { client: WeftClient; readonly board: Board | undefined } | undefined
}

const $ = <T extends HTMLElement = HTMLElement>(selector: string): T => document.querySelector<T>(selector)!

const notices = createNotices($('#notices'))
registerServiceWorker(notices)

interface App {
  client: WeftClient
  user: User
  config: AppConfig
  board?: Board
  /** The open board's latest sync status. */
  status?: ClientSyncStatus | undefined
  /** Ends the open board's subscriptions. */
  session?: AbortController
  /** The owners shown are not all known by name yet (look again on the next change). */
  ownersPending?: boolean
  list: TaskList
}

async function start(): Promise<void> {
  const config = await loadConfig()
  const client = await connect({ relays: config.relays, name: 'weft-board', allowPrivate: config.allowPrivate })
  const user = await signIn(client)
  $('#whoami').textContent = `You are ${shortIdentity(user.identity)} on peer ${shortIdentity(client.peerId)}`
  $('#whoami').title = `identity ${user.identity}\npeer ${client.peerId}`
  if (config.relays.length === 0) notices.show('error', 'No relay is configured (config.json): this browser cannot meet others.')

  const app: App = {
    client,
    user,
    config,
    list: new TaskList($<HTMLUListElement>('#tasks'), $('#empty'), () => user.identity, {
      toggle: (task, done) => { void withBoard(app, async (b) => { await b.update(task._id, (t) => ({ ...t, done })) }) },
      edit: async (task, change) => {
        const ok = await withBoard(app, async (b) => {
          await b.update(task._id, (t) => {
            const next: Task = { ...t, title: change.title }
            if (change.note !== undefined) {
              if (change.note === '') delete next.note
              else next.note = change.note
            }
            return next
          })
        })
        if (!ok) throw new Error('refused')
      },
      remove: (task) => { void withBoard(app, async (b) => { await b.remove(task._id) }) }
    })
  }
  wireControls(app)
  globalThis.weftApp = { client, get board() { return app.board } }
  window.addEventListener('hashchange', () => { void route(app).catch((err: unknown) => { notices.error(err) }) })
  // The browser says the network is back (the SDK has the worker re-dial its relays and meet the
  // other devices at once): hand the board to the relay if that had failed.
  window.addEventListener('online', () => {
    if (app.board !== undefined) void app.board.replicate().catch(() => undefined)
  })
  await route(app)
}

/** Runs an operation on the open board; a refusal or failure becomes a notice. True on success. */
async function withBoard(app: App, run: (board: Board) => Promise<void>): Promise<boolean> {
  if (app.board === undefined) return false
  try {
    await run(app.board)
    return true
  } catch (err) {
    notices.error(err)
    return false
  }
}

/** Opens the board the URL names (joining through an invite), else the last one, else a new one. */
async function route(app: App): Promise<void> {
  const hash = new URLSearchParams(location.hash.slice(1))
  const invite = hash.get('invite')
  const wanted = hash.get('board')
  const boards = await listBoards(app.client)
  let board: Board | undefined
  try {
    if (invite != null) {
      setBusy(`Joining the board…`)
      board = await joinBoard(app.client, app.user, app.config.relays, invite)
    } else if (wanted != null && wanted !== app.board?.id) {
      const entry = boards.find((b) => b.id === wanted)
      if (entry !== undefined) board = openBoard(app.client, app.user, app.config.relays, entry)
      else notices.show('error', 'This board is not in this browser. Ask for an invite link.')
    } else if (wanted != null) {
      return
    }
  } catch (err) {
    notices.error(err)
    if (invite != null && !navigator.onLine) {
      notices.show('info', 'Joining needs the network: it will be retried when you are back online.')
      window.addEventListener('online', () => { void route(app).catch((err: unknown) => { notices.error(err) }) }, { once: true })
    }
  } finally {
    setBusy(undefined)
  }
  if (board === undefined && app.board !== undefined) {
    history.replaceState(null, '', `#board=${app.board.id}`)
    return
  }
  if (board === undefined) {
    const last = boards.find((b) => b.id === localStorage.getItem(LAST_BOARD_KEY)) ?? boards[0]
    board = last !== undefined
      ? openBoard(app.client, app.user, app.config.relays, last)
      : await createBoard(app.client, app.user, app.config.relays)
  }
  history.replaceState(null, '', `#board=${board.id}`)
  await show(app, board)
}

/** Makes `board` the open one: subscribes to its changes and status, then loads its tasks. */
async function show(app: App, board: Board): Promise<void> {
  app.session?.abort()
  const session = new AbortController()
  app.session = session
  app.board = board
  app.status = undefined
  localStorage.setItem(LAST_BOARD_KEY, board.id)
  $('#board-name').textContent = board.name
  $('#invite-panel').hidden = true
  $('#board-owner').hidden = true
  app.ownersPending = true
  void refreshBoardList(app)
  void showOwners(app, board)

  // Listen first, then read: no change can fall between the two.
  const changes = board.changes(session.signal)
  await changes.ready
  app.list.reset(await board.list())
  void (async () => {
    for await (const event of changes) {
      applyChange(app, event)
      // A joined board learns its owners, and their names (from their tasks), with its events.
      if (app.ownersPending) void showOwners(app, board)
    }
  })().catch((err: unknown) => { if (!session.signal.aborted) notices.error(err) })

  const status = board.syncStatus(session.signal)
  void (async () => {
    for await (const s of status) {
      app.status = s
      paintStatus(app)
    }
  })().catch((err: unknown) => { if (!session.signal.aborted) notices.error(err) })

  // Hand the board to the relay, so it reaches the others while this browser is closed. Offline,
  // this fails; it is retried when the browser is back online.
  void board.replicate({ signal: session.signal }).catch(() => undefined)
}

function paintStatus(app: App): void {
  if (app.status !== undefined) renderStatus($('#sync'), describeStatus(app.status), app.status)
}

/** "owned by you", or by a name from their tasks (else a short identity). */
async function showOwners(app: App, board: Board): Promise<void> {
  const owners = await board.owners().catch(() => [])
  if (app.board !== board || owners.length === 0) return
  const named = owners.map((o) => o === app.user.identity ? 'you' : app.list.authorName(o))
  const names = named.map((n, i) => n ?? shortIdentity(owners[i]!))
  app.ownersPending = named.includes(undefined)
  const el = $('#board-owner')
  el.textContent = `owned by ${names.join(', ')}`
  el.title = owners.map((o) => `owner ${o}`).join('\n')
  el.hidden = false
}

function applyChange(app: App, event: ListenEvent): void {
  if (event.type === 'rejected') {
    const who = event.author === app.user.identity ? 'One of your changes' : `A change by ${shortIdentity(event.author)}`
    notices.show('info', `${who} did not apply after sync: ${describeError(event.error)}`)
  } else if (event.type === 'delete') {
    app.list.remove(event.instanceID)
  } else if (event.instance !== undefined) {
    app.list.upsert(event.instance as unknown as Task)
  }
}

async function refreshBoardList(app: App): Promise<void> {
  const boards: BoardEntry[] = await listBoards(app.client)
  const select = $<HTMLSelectElement>('#boards')
  select.replaceChildren(...boards.map((b) => h('option', { value: b.id, textContent: `${b.name} (…${b.id.slice(-4)})`, selected: b.id === app.board?.id })))
  select.hidden = boards.length < 2
}

function setBusy(text: string | undefined): void {
  const busy = $('#busy')
  busy.textContent = text ?? ''
  busy.hidden = text === undefined
}

function wireControls(app: App): void {
  const name = $<HTMLInputElement>('#my-name')
  name.value = app.user.name
  name.addEventListener('change', () => { app.user.name = name.value; name.value = app.user.name })

  $<HTMLSelectElement>('#boards').addEventListener('change', (e) => {
    location.hash = `board=${(e.target as HTMLSelectElement).value}`
  })

  $('#new-board').addEventListener('click', () => {
    void createBoard(app.client, app.user, app.config.relays)
      .then(async (board) => {
        history.replaceState(null, '', `#board=${board.id}`)
        await show(app, board)
      })
      .catch((err: unknown) => { notices.error(err) })
  })

  const panel = $('#invite-panel')
  const link = $<HTMLInputElement>('#invite-link')
  $('#invite').addEventListener('click', () => {
    if (app.board === undefined) return
    const button = $<HTMLButtonElement>('#invite')
    button.disabled = true
    void app.board.invite()
      .then((invite) => {
        link.value = `${location.origin}${location.pathname}#invite=${invite}`
        panel.hidden = false
        link.select()
      })
      .catch((err: unknown) => { notices.error(err) })
      .finally(() => { button.disabled = false })
  })
  $('#copy-invite').addEventListener('click', () => {
    void navigator.clipboard.writeText(link.value).then(
      () => { notices.show('info', 'Invite link copied.') },
      () => { link.select() }
    )
  })

  const form = $<HTMLFormElement>('#new-task')
  const title = $<HTMLInputElement>('#new-title')
  const note = $<HTMLInputElement>('#new-note')
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const text = title.value.trim()
    if (text === '') return
    void withBoard(app, async (b) => { await b.add(text, note.value.trim()) }).then((ok) => {
      if (ok) form.reset()
      title.focus()
    })
  })
}

start().catch((err: unknown) => {
  setBusy(undefined)
  $('#fatal').hidden = false
  $('#fatal-text').textContent = describeError(err)
})

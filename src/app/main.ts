/**
 * The Weft demo app: a shared task board. It starts the browser peer (`connect()`), signs the user
 * in (identity + token), opens a board (from an invite in the URL, the last board used, or — the
 * first time — one the user names), renders its tasks and title from live queries, and shows how
 * sync is doing.
 *
 * URL: `#invite=weft2.…` (or the older `weft1.…`) joins a board (then becomes `#board=<id>`);
 * `#board=<id>` opens a board this browser holds. The part after `#` never reaches a server,
 * which matters: an invite holds the board's key.
 */
import { connect, type ClientSyncStatus, type Rejection, type WeftClient } from '../client/index.js'
import { createBoard, joinBoard, listBoards, openBoard, type Board, type BoardEntry } from './board.js'
import { loadConfig, type AppConfig } from './config.js'
import { createNotices, describeError } from './notices.js'
import { registerServiceWorker } from './pwa.js'
import { describeStatus, renderStatus } from './status.js'
import type { BoardInfo, Task } from './tasks.js'
import { signIn, type User } from './user.js'
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
  /** The open board's title and creator, once known. */
  info?: BoardInfo | undefined
  /** The open board's latest sync status. */
  status?: ClientSyncStatus | undefined
  /** Ends the open board's subscriptions. */
  session?: AbortController
  list: TaskList
}

async function start(): Promise<void> {
  const config = await loadConfig()
  const client = await connect({ relays: config.relays, name: 'weft-board', allowPrivate: config.allowPrivate })
  const user = await signIn(client)
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
  paintWhoAmI(app)
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

function paintWhoAmI(app: App): void {
  $('#whoami').textContent = app.user.name !== '' ? `You are ${app.user.name}` : 'Give yourself a name: the others see it with your tasks'
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

/** Opens the board the URL names (joining through an invite), else the last one; the first time, asks for one. */
async function route(app: App): Promise<void> {
  const hash = new URLSearchParams(location.hash.slice(1))
  const invite = hash.get('invite')
  const wanted = hash.get('board')
  const boards = await listBoards(app.client)
  let board: Board | undefined
  try {
    if (invite != null) {
      setBusy('Joining the board…')
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
    if (last === undefined) {
      // The first time here: the user names themselves and the board before it exists.
      askForBoard(app)
      return
    }
    board = openBoard(app.client, app.user, app.config.relays, last)
  }
  history.replaceState(null, '', `#board=${board.id}`)
  if (invite != null && app.user.name === '') {
    notices.show('info', 'You joined the board. Give yourself a name (top left) so the others know your tasks.')
    $('#my-name').focus()
  }
  await show(app, board)
}

/** Shows the form that makes a board (named by the user, as is the board). */
function askForBoard(app: App): void {
  $<HTMLInputElement>('#create-name').value = app.user.name
  $<HTMLInputElement>('#create-title').value = ''
  $('#create-cancel').hidden = app.board === undefined
  $('#create-panel').hidden = false
  $('#invite-panel').hidden = true
  $(app.user.name === '' ? '#create-name' : '#create-title').focus()
}

/** Makes `board` the open one: live queries of its tasks and its title, its sync status. */
async function show(app: App, board: Board): Promise<void> {
  app.session?.abort()
  const session = new AbortController()
  app.session = session
  app.board = board
  app.status = undefined
  app.info = undefined
  localStorage.setItem(LAST_BOARD_KEY, board.id)
  $('#create-panel').hidden = true
  $('#invite-panel').hidden = true
  $('#board-owner').hidden = true
  $('#rename-board').hidden = false
  paintTitle(app)
  void refreshBoardList(app)
  const failed = (err: unknown): void => { if (!session.signal.aborted) notices.error(err) }

  // The tasks, as a live query: the list now, then again whenever a change alters it.
  const tasks = board.watch(session.signal)
  void (async () => {
    for await (const list of tasks) {
      app.list.sync(list)
      void showOwners(app, board)
    }
  })().catch(failed)
  void (async () => {
    for await (const info of board.watchInfo(session.signal)) {
      app.info = info
      paintTitle(app)
      void showOwners(app, board)
    }
  })().catch(failed)
  void (async () => {
    for await (const rejected of board.rejections(session.signal)) noteRejection(app, rejected)
  })().catch(failed)

  const status = board.syncStatus(session.signal)
  void (async () => {
    for await (const s of status) {
      app.status = s
      paintStatus(app)
    }
  })().catch(failed)

  // Hand the board to the relay, so it reaches the others while this browser is closed. Offline,
  // this fails; it is retried when the browser is back online.
  void board.replicate({ signal: session.signal }).catch(() => undefined)
}

function title(app: App): string {
  return app.info?.title ?? app.board?.name ?? 'Weft board'
}

function paintTitle(app: App): void {
  $('#board-name').textContent = title(app)
  document.title = `${title(app)} · Weft board`
  void refreshBoardList(app)
}

function paintStatus(app: App): void {
  if (app.status !== undefined) renderStatus($('#sync'), describeStatus(app.status), app.status)
}

/** A person by the name they gave: "you", a name from the board or their tasks, else "another member". */
function personName(app: App, identity: string): string {
  if (identity === app.user.identity) return 'you'
  if (app.info !== undefined && app.info.creator === identity && app.info.creatorName !== '') return app.info.creatorName
  return app.list.authorName(identity) ?? 'another member'
}

/** "owned by you", or by their names. */
async function showOwners(app: App, board: Board): Promise<void> {
  const owners = await board.owners().catch(() => [])
  if (app.board !== board || owners.length === 0) return
  const el = $('#board-owner')
  el.textContent = `owned by ${owners.map((o) => personName(app, o)).join(', ')}`
  el.title = owners.map((o) => `owner ${o}`).join('\n')
  el.hidden = false
}

function noteRejection(app: App, event: Rejection): void {
  const who = event.author === app.user.identity ? 'One of your changes' : `A change by ${personName(app, event.author)}`
  notices.show('info', `${who} did not apply after sync: ${describeError(event.error)}`)
}

async function refreshBoardList(app: App): Promise<void> {
  const boards: BoardEntry[] = await listBoards(app.client)
  const select = $<HTMLSelectElement>('#boards')
  const label = (b: BoardEntry): string => b.id === app.board?.id ? title(app) : localStorage.getItem(`weft-board:title-seen:${b.id}`) ?? b.name
  if (app.board !== undefined) localStorage.setItem(`weft-board:title-seen:${app.board.id}`, title(app))
  select.replaceChildren(...boards.map((b) => h('option', { value: b.id, textContent: label(b), selected: b.id === app.board?.id })))
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
  name.addEventListener('change', () => { app.user.name = name.value; name.value = app.user.name; paintWhoAmI(app) })

  $<HTMLSelectElement>('#boards').addEventListener('change', (e) => {
    location.hash = `board=${(e.target as HTMLSelectElement).value}`
  })

  // A new board: named by its creator before it exists.
  $('#new-board').addEventListener('click', () => { askForBoard(app) })
  $('#create-cancel').addEventListener('click', () => { $('#create-panel').hidden = true })
  const create = $<HTMLFormElement>('#create-form')
  create.addEventListener('submit', (e) => {
    e.preventDefault()
    const button = create.querySelector<HTMLButtonElement>('button[type="submit"]')!
    app.user.name = $<HTMLInputElement>('#create-name').value
    name.value = app.user.name
    paintWhoAmI(app)
    button.disabled = true
    setBusy('Making the board…')
    void createBoard(app.client, app.user, app.config.relays, $<HTMLInputElement>('#create-title').value)
      .then(async (board) => {
        history.replaceState(null, '', `#board=${board.id}`)
        await show(app, board)
      })
      .catch((err: unknown) => { notices.error(err) })
      .finally(() => { button.disabled = false; setBusy(undefined) })
  })

  // Rename: every member sees the new title (it is the board's own instance).
  const renameForm = $<HTMLFormElement>('#rename-form')
  const titleInput = $<HTMLInputElement>('#board-title')
  const endRename = (): void => {
    renameForm.hidden = true
    $('#board-name').hidden = false
    $('#rename-board').hidden = app.board === undefined
  }
  $('#rename-board').addEventListener('click', () => {
    titleInput.value = title(app)
    renameForm.hidden = false
    $('#board-name').hidden = true
    $('#rename-board').hidden = true
    titleInput.focus()
    titleInput.select()
  })
  $('#rename-cancel').addEventListener('click', endRename)
  renameForm.addEventListener('keydown', (e) => { if (e.key === 'Escape') endRename() })
  renameForm.addEventListener('submit', (e) => {
    e.preventDefault()
    const board = app.board
    if (board === undefined) return
    const wanted = titleInput.value
    void withBoard(app, async (b) => { await b.rename(wanted) }).then((ok) => {
      if (!ok || app.board !== board) return
      endRename()
      // A board without a title of its own (made before boards had one) is renamed here only.
      if (app.info === undefined || app.info.creator === '') {
        app.info = { _id: 'board', title: wanted.trim(), creator: '', creatorName: '' }
        paintTitle(app)
      }
    })
  })

  const panel = $('#invite-panel')
  const link = $<HTMLInputElement>('#invite-link')
  const closeInvite = (): void => { panel.hidden = true; $('#invite').focus() }
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
  $('#close-invite').addEventListener('click', closeInvite)
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeInvite() })
  $('#copy-invite').addEventListener('click', () => {
    void navigator.clipboard.writeText(link.value).then(
      () => { notices.show('info', 'Invite link copied.') },
      () => { link.select() }
    )
  })

  const form = $<HTMLFormElement>('#new-task')
  const taskTitle = $<HTMLInputElement>('#new-title')
  const note = $<HTMLInputElement>('#new-note')
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const text = taskTitle.value.trim()
    if (text === '') return
    void withBoard(app, async (b) => { await b.add(text, note.value.trim()) }).then((ok) => {
      if (ok) form.reset()
      taskTitle.focus()
    })
  })
}

start().catch((err: unknown) => {
  setBusy(undefined)
  $('#fatal').hidden = false
  $('#fatal-text').textContent = describeError(err)
})

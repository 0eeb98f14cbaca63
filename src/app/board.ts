/**
 * A board: one Weft DB (one thread) with the `tasks` and `board` collections, and the app's
 * operations on it. Everything here goes through the client SDK (`client.db`, `client.net`); the
 * views never touch the SDK. Every read passes the user's token, so read filters see the user as
 * `reader`. The tasks and the board's title reach the views as live queries (`observe`): the
 * current result, then a new one whenever a change (here or from another device) alters it.
 */
import { fromInvite, Query, toInvite } from '../client/index.js'
import type { ClientDatabase, ClientSyncStatus, Rejection, Subscription, WeftClient } from '../client/index.js'
import type { User } from './user.js'
import { BOARD, BOARD_ID, BOARD_TITLE_MAX, boardCollection, TASKS, tasksCollection, type BoardInfo, type Task } from './tasks.js'

export interface BoardEntry {
  id: string
  /** The DB's local name (a slug). */
  name: string
}

export interface Board {
  readonly id: string
  /** The DB's local name (a slug), and the title until the board's own arrives. */
  readonly name: string
  /** Every task, oldest first. */
  list(): Promise<Task[]>
  /** Every task, oldest first: now, then after each change, until `signal` aborts. */
  watch(signal: AbortSignal): AsyncIterable<Task[]>
  /** The board's title and creator: now (undefined before they arrive), then after each change. */
  watchInfo(signal: AbortSignal): AsyncIterable<BoardInfo | undefined>
  /** Give the board a new title (every member sees it). */
  rename(title: string): Promise<void>
  add(title: string, note?: string): Promise<string>
  /** Read-modify-write in one transaction, so a concurrent change is never overwritten blindly. */
  update(id: string, change: (task: Task) => Task): Promise<void>
  remove(id: string): Promise<void>
  /** Remote events the board refused (they changed nothing), until `signal` aborts. */
  rejections(signal: AbortSignal): Subscription<Rejection>
  /** Sync status now and on every change, until `signal` aborts. */
  syncStatus(signal: AbortSignal): Subscription<ClientSyncStatus>
  /** An invite string for this board (a secret: it holds the board's key). */
  invite(options?: { signal?: AbortSignal }): Promise<string>
  /** Hand the board to the relays (they keep encrypted copies for members who are offline). */
  replicate(options?: { signal?: AbortSignal }): Promise<void>
  /**
   * Who owns the board (may change its rules and its owners): the identities of its owners —
   * its creator, unless owners were changed. Empty while a joined board's first events are on
   * their way.
   */
  owners(): Promise<string[]>
}

const REPLICATED_KEY = (id: string): string => `weft-board:replicated:${id}`
/** A title given here to a board made before boards had their own (kept in this browser). */
const LOCAL_TITLE_KEY = (id: string): string => `weft-board:title:${id}`

/**
 * A DB name for a board (DB names are slugs: letters, digits, single inner hyphens), from its
 * title: "Ana's groceries" → `ana-s-groceries`.
 */
export function boardName(title: string): string {
  const slug = title.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').slice(0, 40).replace(/^-+|-+$/g, '')
  return slug === '' ? 'board' : slug
}

/** A board title as typed: trimmed, bounded; undefined when empty. */
export function cleanTitle(title: string): string | undefined {
  const t = title.trim().replace(/\s+/g, ' ').slice(0, BOARD_TITLE_MAX)
  return t === '' ? undefined : t
}

export async function listBoards(client: WeftClient): Promise<BoardEntry[]> {
  return (await client.db.listDBs()).map((e) => ({ id: e.id, name: e.info.name }))
}

/**
 * Our log in a thread records the addresses others dial us at when it is created, and they are
 * not updated later: create or join once the relay reservation is held (our relayed address
 * exists), else other browsers cannot reach this one directly. Bounded, and skipped offline (the
 * board then syncs through the relay only).
 */
async function reachable(client: WeftClient, relays: string[]): Promise<void> {
  if (relays.length === 0 || !navigator.onLine) return
  await client.relayReady({ timeoutMs: 10_000 }).catch(() => undefined)
}

/** A new board titled `title`, made by `user` (named in it as its creator). */
export async function createBoard(client: WeftClient, user: User, relays: string[], title: string): Promise<Board> {
  const clean = cleanTitle(title) ?? 'Tasks'
  await reachable(client, relays)
  const name = boardName(clean)
  const db = await client.db.newDB(undefined, { name, collections: [tasksCollection, boardCollection] })
  await db.collection<BoardInfo>(BOARD).create([{ _id: BOARD_ID, title: clean, creator: user.identity, creatorName: user.name }], { token: user.token() })
  return boardFrom(client, user, relays, db, name)
}

/**
 * Join through an invite; a board this browser already has is opened as it is. `join` resolves
 * once the board's collection (its definition is an event from the board's owner) is here, so
 * the first task added after it cannot fail for want of it.
 */
export async function joinBoard(client: WeftClient, user: User, relays: string[], invite: string, options: { signal?: AbortSignal } = {}): Promise<Board> {
  const parsed = fromInvite(invite)
  const known = (await listBoards(client)).find((b) => b.id === parsed.thread)
  if (known !== undefined) return openBoard(client, user, relays, known)
  await reachable(client, relays)
  const name = boardName(parsed.name ?? 'shared')
  const db = await client.db.join(invite, { name, timeoutMs: 30_000, waitForCollections: [TASKS], ...options })
  return boardFrom(client, user, relays, db, name)
}

export function openBoard(client: WeftClient, user: User, relays: string[], entry: BoardEntry): Board {
  return boardFrom(client, user, relays, client.db.getDB(entry.id), entry.name)
}

function boardFrom(client: WeftClient, user: User, relays: string[], db: ClientDatabase, name: string): Board {
  const tasks = db.collection<Task>(TASKS)
  const info = db.collection<BoardInfo>(BOARD)
  const read = (): { token: string } => ({ token: user.token() })
  const byAge = new Query().orderBy('createdAt')

  const board: Board = {
    id: db.id,
    name,
    async list() {
      try {
        return await tasks.find(byAge, read())
      } catch (err) {
        // Just joined: the collection's definition is an event still on its way. Its tasks will
        // arrive through the listener.
        if ((err as Error).name === 'CollectionNotFoundError') return []
        throw err
      }
    },
    async add(title, note) {
      const task = {
        title,
        done: false,
        author: user.identity,
        authorName: user.name,
        createdAt: Date.now(),
        ...(note !== undefined && note !== '' ? { note } : {})
      }
      const [id] = await tasks.create([task], read())
      return id!
    },
    async update(id, change) {
      const txn = tasks.writeTransaction(read())
      await txn.start()
      try {
        const current = await txn.findByID(id) as Task
        await txn.save([change(current)])
        await txn.end()
      } catch (err) {
        await txn.discard().catch(() => undefined)
        throw err
      }
    },
    async remove(id) {
      await tasks.delete([id], read())
    },
    watch(signal) {
      return whileDefined(signal, [], () => tasks.observe(byAge, { signal, token: user.token() }))
    },
    watchInfo(signal) {
      const local = localStorage.getItem(LOCAL_TITLE_KEY(db.id))
      const fallback = local !== null ? { _id: BOARD_ID, title: local, creator: '', creatorName: '' } as const : undefined
      return mapResults(whileDefined(signal, [], () => info.observe(undefined, { signal, token: user.token() })), ([found]) => found ?? fallback)
    },
    async rename(title) {
      const clean = cleanTitle(title)
      if (clean === undefined) return
      try {
        await info.save([{ ...await info.findByID(BOARD_ID, read()), title: clean }], read())
      } catch (err) {
        const name = (err as Error).name
        if (name !== 'CollectionNotFoundError' && name !== 'InstanceNotFoundError') throw err
        localStorage.setItem(LOCAL_TITLE_KEY(db.id), clean)
      }
    },
    rejections(signal) {
      return db.listen([{ type: 'rejected' }], { signal, token: user.token() }) as Subscription<Rejection>
    },
    syncStatus(signal) {
      return client.net.watchSyncStatus(db.id, { signal })
    },
    async invite(options = {}) {
      if (navigator.onLine) await board.replicate(options).catch(() => undefined)
      const info = await db.info(options)
      const done = replicatedTo(db.id)
      // The relays first: they hold the whole board even when this browser is closed.
      const viaRelays = relays.filter((r) => done.includes(r)).map((r) => `${r}/thread/${db.id}`)
      const addrs = [...new Set([...viaRelays, ...info.addrs])]
      if (addrs.length === 0) throw new Error('no address to invite through yet: the relay is not reachable (are you offline?)')
      return toInvite({ ...info, name, addrs })
    },
    async owners() {
      return (await db.getGovernance()).owners
    },
    async replicate(options = {}) {
      const done = replicatedTo(db.id)
      for (const relay of relays) {
        if (done.includes(relay)) continue
        await client.net.addReplicator(db.id, relay, { timeoutMs: 15_000, ...options })
        done.push(relay)
        localStorage.setItem(REPLICATED_KEY(db.id), JSON.stringify(done))
      }
    }
  }
  return board
}

/**
 * A live query's results; while its collection is not defined here yet (a board just joined, its
 * definitions on their way; or a board made before the collection existed), `none`, and a new
 * attempt every few seconds until `signal` aborts.
 */
async function * whileDefined<T>(signal: AbortSignal, none: T, open: () => AsyncIterable<T>): AsyncGenerator<T> {
  while (!signal.aborted) {
    try {
      yield * open()
      return
    } catch (err) {
      if ((err as Error).name !== 'CollectionNotFoundError') throw err
      yield none
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 3000)
        signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
      })
    }
  }
}

async function * mapResults<T, U>(source: AsyncIterable<T>, f: (t: T) => U): AsyncGenerator<U> {
  for await (const t of source) yield f(t)
}

function replicatedTo(id: string): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(REPLICATED_KEY(id)) ?? '[]')
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
  } catch {
    return []
  }
}

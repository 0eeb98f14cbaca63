/**
 * A board: one Weft DB (one thread) with the `tasks` collection, and the app's operations on it.
 * Everything here goes through the client SDK (`client.db`, `client.net`); the views never touch
 * the SDK. Every read passes the user's token, so read filters see the user as `reader`.
 */
import { fromInvite, Query, toInvite } from '../client/index.js'
import type { ClientDatabase, ClientSyncStatus, ListenEvent, Subscription, WeftClient } from '../client/index.js'
import type { User } from './user.js'
import { TASKS, tasksCollection, type Task } from './tasks.js'

export interface BoardEntry {
  id: string
  name: string
}

export interface Board {
  readonly id: string
  readonly name: string
  /** Every task, oldest first. */
  list(): Promise<Task[]>
  add(title: string, note?: string): Promise<string>
  /** Read-modify-write in one transaction, so a concurrent change is never overwritten blindly. */
  update(id: string, change: (task: Task) => Task): Promise<void>
  remove(id: string): Promise<void>
  /** Changes (local and remote) and refused remote events, until `signal` aborts. */
  changes(signal: AbortSignal): Subscription<ListenEvent>
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

/**
 * A DB name for a new board (DB names are slugs: letters, digits, single inner hyphens), from the
 * user's display name: "Ana María" → `ana-maria-tasks`.
 */
export function boardName(owner: string): string {
  const slug = owner.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').slice(0, 40).replace(/^-+|-+$/g, '')
  return `${slug === '' ? 'my' : slug}-tasks`
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

export async function createBoard(client: WeftClient, user: User, relays: string[]): Promise<Board> {
  await reachable(client, relays)
  const name = boardName(user.name)
  const db = await client.db.newDB(undefined, { name, collections: [tasksCollection] })
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
  const db = await client.db.join(invite, { timeoutMs: 30_000, waitForCollections: [TASKS], ...options })
  return boardFrom(client, user, relays, db, parsed.name ?? 'shared-tasks')
}

export function openBoard(client: WeftClient, user: User, relays: string[], entry: BoardEntry): Board {
  return boardFrom(client, user, relays, client.db.getDB(entry.id), entry.name)
}

function boardFrom(client: WeftClient, user: User, relays: string[], db: ClientDatabase, name: string): Board {
  const tasks = db.collection(TASKS)
  const read = (): { token: string } => ({ token: user.token() })

  const board: Board = {
    id: db.id,
    name,
    async list() {
      try {
        return await tasks.find(new Query().orderBy('createdAt'), read()) as unknown as Task[]
      } catch (err) {
        // Just joined: the collection's definition is an event still on its way. Its tasks will
        // arrive through the listener.
        if ((err as Error).name === 'CollectionNotFoundError') return []
        throw err
      }
    },
    async add(title, note) {
      const task: Omit<Task, '_id'> = {
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
        const current = await txn.findByID(id) as unknown as Task
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
    changes(signal) {
      return db.listen([{ collection: TASKS }], { signal, token: user.token() })
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

function replicatedTo(id: string): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(REPLICATED_KEY(id)) ?? '[]')
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
  } catch {
    return []
  }
}

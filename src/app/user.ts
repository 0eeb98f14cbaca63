/**
 * Who is using the app: the browser peer's identity (an Ed25519 key the worker keeps in
 * IndexedDB; it signs this browser's records, so write validators see it as `writer`), a token
 * naming it (passed with reads, so read filters see it as `reader`), and a display name the user
 * picks (a label stored with their tasks, not a proof of anything).
 */
import type { WeftClient } from '../client/index.js'
import { NAME_MAX } from './tasks.js'

export interface User {
  readonly identity: string
  /** The display name the user gave ('' until they give one). */
  name: string
  /** A valid token for the identity (refreshed before it expires). */
  token(): string
  /** Stop refreshing the token. */
  close(): void
}

const NAME_KEY = 'weft-board:name'
/** Tokens last a week; a fresh one is fetched a day before that. */
const TOKEN_TTL_MS = 7 * 24 * 60 * 60_000
const REFRESH_BEFORE_MS = 24 * 60 * 60_000

export async function signIn(client: WeftClient): Promise<User> {
  let token = await client.getToken(undefined, { ttlMs: TOKEN_TTL_MS })
  const claims = await client.verifyToken(token)
  let timer: ReturnType<typeof setTimeout> | undefined
  const schedule = (expires: number): void => {
    timer = setTimeout(() => {
      void client.getToken(undefined, { ttlMs: TOKEN_TTL_MS }).then(async (fresh) => {
        token = fresh
        schedule((await client.verifyToken(fresh)).exp)
      }).catch(() => { schedule(Date.now() + REFRESH_BEFORE_MS + 60_000) })
    }, Math.max(0, expires - Date.now() - REFRESH_BEFORE_MS))
  }
  schedule(claims.exp)

  // No name until the user gives one (the app asks before it makes a board).
  let name = localStorage.getItem(NAME_KEY)?.trim() ?? ''
  return {
    identity: claims.sub,
    get name() { return name },
    set name(value: string) {
      name = value.trim().slice(0, NAME_MAX) || name
      localStorage.setItem(NAME_KEY, name)
    },
    token: () => token,
    close: () => { clearTimeout(timer) }
  }
}

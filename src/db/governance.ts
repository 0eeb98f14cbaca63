/**
 * Owners and writers of a DB (docs/DB.md, "Owners and writers"). Who may change collections,
 * owners and writers — and, when a writer list is set, who may write instances — is part of the
 * replicated state, folded like everything else, so every peer accepts and rejects alike.
 *
 * The first owner is known without trusting event order: a DB made without a given thread ID has
 * an ID whose random part is SHA-256("weft-db-owner-v1" ‖ owner's marshalled public key ‖ salt).
 * The owner's first event carries `{ t: 'genesis', owner, salt }`; it opens the DB only if it
 * matches that commitment and its author is that owner. Before it, nobody is an owner.
 *
 * State keys (in the `g` space, part of the state hash): `o` the owners, `w` the writer list, each
 * the canonical JSON of a sorted array of identity strings. When `o` is absent the owners are the
 * DB's base: nobody (a committed ID before its genesis), the owner given when the DB was opened,
 * or no owner at all (an ungoverned DB: anyone may change it).
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes, toHex } from '../core/index.js'
import { parseIdentity, publicKeyToBytes } from '../core/index.js'
import { threadIDFromBytes, threadIDToBytes, ThreadVariant, THREAD_ID_VERSION } from '../core/index.js'
import type { ThreadID } from '../core/types.js'
import { InvalidEventError, InvalidGenesisError, LastOwnerError, NotAnOwnerError, NotAWriterError } from './errors.js'
import { bodyVersion, EVENT_FORMAT_VERSION, MAX_OWNERS, MAX_WRITERS, parseOps, type GovernanceOp } from './event.js'
import { fromUtf8, utf8, type Layout } from './keys.js'
import type { Overlay, StateReader } from './overlay.js'

/** Domain separation of the owner commitment in a thread ID. */
export const OWNER_COMMITMENT_PREFIX = 'weft-db-owner-v1'
/** Length of the salt of a genesis (bytes). */
export const GENESIS_SALT_BYTES = 16

/**
 * How the owners of a DB are known before any event: `committed` — the thread ID commits to its
 * first owner (nobody owns the DB until its genesis); `owner` — an owner was given when the DB was
 * created or joined (an input of the fold: every peer must be given the same); `ungoverned` — no
 * owners, anyone may change collections.
 */
export type GovernanceMode = 'ungoverned' | 'owner' | 'committed'

/** The DB's base governance: mutable, as a joining peer learns from the events that the ID commits. */
export interface OwnerBasis {
  mode: GovernanceMode
  /** The given owner (mode `owner`). */
  owner?: string
  /** The 32-byte random part of a Raw version-1 thread ID (what a genesis must match), if any. */
  readonly commitment: Uint8Array | undefined
}

const prefix = utf8(OWNER_COMMITMENT_PREFIX)

function commitmentOf(marshalledKey: Uint8Array, salt: Uint8Array): Uint8Array {
  const h = sha256.create()
  h.update(prefix)
  h.update(marshalledKey)
  h.update(salt)
  return h.digest()
}

/** A new thread ID that commits to `owner` (its marshalled public key), with a fresh salt. */
export function committedThreadID(ownerKey: Uint8Array, salt: Uint8Array = randomBytes(GENESIS_SALT_BYTES)): { id: ThreadID; salt: string } {
  const bytes = new Uint8Array(2 + 32)
  bytes[0] = THREAD_ID_VERSION
  bytes[1] = ThreadVariant.Raw
  bytes.set(commitmentOf(ownerKey, salt), 2)
  return { id: threadIDFromBytes(bytes), salt: toHex(salt) }
}

/** The part of a thread ID a genesis must match, when the ID can commit at all. */
export function threadCommitment(id: ThreadID): Uint8Array | undefined {
  const bytes = threadIDToBytes(id)
  return bytes[0] === THREAD_ID_VERSION && bytes[1] === ThreadVariant.Raw && bytes.length === 34 ? bytes.subarray(2) : undefined
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Whether `owner` and `salt` (hex) open the DB whose ID has `commitment`. */
export function commitsTo(commitment: Uint8Array | undefined, owner: string, salt: string): boolean {
  if (commitment === undefined) return false
  const got = commitmentOf(publicKeyToBytes(parseIdentity(owner)), fromHex(salt))
  let diff = 0
  for (let i = 0; i < 32; i++) diff |= got[i]! ^ commitment[i]!
  return diff === 0
}

/** Whether a record body carries a genesis that matches `commitment` (whoever wrote it). */
export function claimsGenesis(body: unknown, commitment: Uint8Array | undefined): boolean {
  if (commitment === undefined) return false
  try {
    if (bodyVersion(body) !== EVENT_FORMAT_VERSION) return false
    const text = (body as { ops?: unknown }).ops
    if (typeof text !== 'string' || !text.includes('"genesis"')) return false
    return parseOps(text).some((op) => op.t === 'genesis' && commitsTo(commitment, op.owner, op.salt))
  } catch {
    return false
  }
}

/** Owners and writers as the fold sees them at one point. */
export interface Roles {
  /** null: the DB has no owners (ungoverned). */
  owners: string[] | null
  /** null: no writer list. */
  writers: string[] | null
  /** Whether a genesis has applied (the `o` key exists). */
  opened: boolean
  /** The owners and the writers, for membership tests. */
  ownerSet: ReadonlySet<string>
  writerSet: ReadonlySet<string>
}

interface List { list: string[]; set: ReadonlySet<string> }

/** Parsed lists by the stored bytes (the caching store hands out the same bytes until they change). */
const parsed = new WeakMap<Uint8Array, List>()
const NONE: ReadonlySet<string> = new Set()

function parseList(v: Uint8Array | undefined): List | null {
  if (v === undefined) return null
  let out = parsed.get(v)
  if (out === undefined) {
    const list = JSON.parse(fromUtf8(v)) as string[]
    out = { list, set: new Set(list) }
    parsed.set(v, out)
  }
  return out
}

export async function readRoles(r: StateReader, layout: Layout, gov: OwnerBasis): Promise<Roles> {
  const [o, w] = await r.getMany([layout.gov('o'), layout.gov('w')])
  const set = parseList(o)
  const writers = parseList(w)
  const base = gov.mode === 'committed' ? [] : gov.mode === 'owner' && gov.owner !== undefined ? [gov.owner] : null
  const owners = set?.list ?? base
  return {
    owners,
    writers: writers?.list ?? null,
    opened: set !== null,
    ownerSet: set?.set ?? (owners === null ? NONE : new Set(owners)),
    writerSet: writers?.set ?? NONE
  }
}

/** The previous value of a governance key, for the undo record. */
export type GovStep = ['g', 'o' | 'w', string | null]

/** Throw NotAnOwnerError unless `author` may change collections, owners and writers. */
export function requireOwner(roles: Roles, author: string | undefined, what: string): void {
  if (roles.owners === null) return
  if (author !== undefined && roles.ownerSet.has(author)) return
  throw new NotAnOwnerError(roles.owners.length === 0
    ? `${what}: the DB has no owner yet (its genesis has not applied), so nobody may change it`
    : `${what}: ${author ?? 'an unknown author'} is not an owner of the DB`)
}

/** Throw NotAWriterError when a writer list is set and `author` is neither on it nor an owner. */
export function requireWriter(roles: Roles, author: string | undefined): void {
  if (roles.writers === null) return
  if (author !== undefined && (roles.writerSet.has(author) || roles.ownerSet.has(author))) return
  throw new NotAWriterError(`${author ?? 'an unknown author'} is not a writer of the DB`)
}

function sorted(ids: Iterable<string>): string[] {
  return [...new Set(ids)].sort()
}

/**
 * Apply a governance op by `author` to `ov`; returns the undo steps. Throws NotAnOwnerError,
 * InvalidGenesisError, LastOwnerError or InvalidEventError.
 */
export async function applyGovernanceOp(ov: Overlay, layout: Layout, gov: OwnerBasis, author: string | undefined, op: GovernanceOp): Promise<GovStep[]> {
  const roles = await readRoles(ov, layout, gov)
  const put = async (name: 'o' | 'w', next: string[] | null): Promise<GovStep> => {
    const key = layout.gov(name)
    const prev = await ov.get(key)
    if (next === null) ov.del(key)
    else ov.put(key, utf8(JSON.stringify(next)))
    return ['g', name, prev === undefined ? null : fromUtf8(prev)]
  }
  switch (op.t) {
    case 'genesis': {
      if (gov.mode !== 'committed') throw new InvalidGenesisError('a genesis applies only in a DB whose thread ID commits to its owner')
      if (roles.opened) throw new InvalidGenesisError('the DB already has owners')
      if (!commitsTo(gov.commitment, op.owner, op.salt)) throw new InvalidGenesisError('the genesis does not match the thread ID')
      if (author !== op.owner) throw new InvalidGenesisError('the genesis was not written by the owner it names')
      return [await put('o', [op.owner])]
    }
    case 'owners': {
      requireOwner(roles, author, 'changing owners')
      if (roles.owners === null) throw new NotAnOwnerError('changing owners: an ungoverned DB has no owners')
      const remove = new Set(op.remove)
      const next = sorted([...roles.owners, ...op.add].filter((o) => !remove.has(o)))
      if (next.length === 0) throw new LastOwnerError()
      if (next.length > MAX_OWNERS) throw new InvalidEventError(`a DB has at most ${MAX_OWNERS} owners`)
      return [await put('o', next)]
    }
    case 'writers': {
      requireOwner(roles, author, 'changing writers')
      if (roles.owners === null) throw new NotAnOwnerError('changing writers: an ungoverned DB has no owners')
      if (op.set !== null && new Set(op.set).size > MAX_WRITERS) throw new InvalidEventError(`a writer list has at most ${MAX_WRITERS} identities`)
      return [await put('w', op.set === null ? null : sorted(op.set))]
    }
  }
}

/** Undo one governance step. */
export function undoGovStep(ov: Overlay, layout: Layout, step: GovStep): void {
  const [, name, prev] = step
  if (prev === null) ov.del(layout.gov(name))
  else ov.put(layout.gov(name), utf8(prev))
}

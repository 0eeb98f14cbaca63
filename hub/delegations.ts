/**
 * The delegations identities gave the hub, kept in its repository so that they survive restarts:
 * in GetToken an identity signs an author-certificate payload for a log key the hub made, and that
 * signature is its certificate delegating the key (docs/FORMAT.md, "Author certificates"). With
 * it, a log of the hub's writes as the identity in any thread (hub/identity-logs.ts).
 *
 * Layout (hub storage format version 1), in the peer's key-value store next to the log store and
 * the DBs (tuple keys, docs/STORAGE.md):
 *
 * | key | value |
 * |---|---|
 * | `tuple(weft-hub, v)` | u64 format version: `1` |
 * | `tuple(weft-hub, d, identity)` | dag-cbor `{ k: bytes, n: bytes, s: bytes, at: uint }`: the log's private key (libp2p-marshalled), the certificate's nonce and signature, when it was given (ms since the epoch) |
 *
 * At most `max` identities are kept besides the hub's own; past it the oldest delegation is
 * dropped (its identity calls GetToken again to write in a thread where it has no log yet). A newer format is refused with
 * `UnsupportedStoreFormatError`; an entry that does not decode is skipped with a warning.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { privateKeyFromBytes, privateKeyToBytes, type AuthorCertificate, type PrivateKey } from '../src/core/index.js'
import { logger } from '../src/core/logger.js'
import { decodeTuple, decodeUint64, encodeTuple, encodeUint64, UnsupportedStoreFormatError, type KVStore } from '../src/store/index.js'

const log = logger('weft:hub:delegations')

/** The hub's storage format version. */
export const HUB_STORE_VERSION = 1

/** What an identity proved in GetToken: it delegated `logKey` (held by the hub) with `certificate`. */
export interface Delegation {
  identity: string
  /** The log key the hub made for the identity; the certificate lets it write as the identity. */
  logKey: PrivateKey
  certificate: AuthorCertificate
  /** When it was given (ms since the epoch). */
  at: number
}

export interface DelegationStore {
  /** The newest delegation of `identity` kept, if any. */
  get(identity: string): Delegation | undefined
  /** Keep a delegation (replacing the identity's previous one); durable when this resolves. */
  put(delegation: Delegation): Promise<void>
  /** Identities with a delegation kept. */
  readonly size: number
}

export interface DelegationStoreInit {
  /** The hub's key-value store (the peer's, in the repository). */
  kv: KVStore
  /** Identities kept at most (the oldest dropped first). @default 100_000 */
  max?: number
  /** An identity whose delegation is never dropped (the hub's own), not counted in `max`. */
  pinned?: string
}

const versionKey = encodeTuple(['weft-hub', 'v'])
const prefix = encodeTuple(['weft-hub', 'd'])
const keyOf = (identity: string): Uint8Array => encodeTuple(['weft-hub', 'd', identity])

interface Stored { k: Uint8Array; n: Uint8Array; s: Uint8Array; at: number }

async function decode(identity: string, bytes: Uint8Array): Promise<Delegation> {
  const v = dagCbor.decode<Stored>(bytes)
  if (!(v.k instanceof Uint8Array) || !(v.n instanceof Uint8Array) || !(v.s instanceof Uint8Array) || !Number.isSafeInteger(v.at)) {
    throw new Error('not a delegation entry')
  }
  return { identity, logKey: await privateKeyFromBytes(v.k), certificate: { nonce: v.n, signature: v.s }, at: v.at }
}

/** Open the delegations kept in `kv` (writing the format version into a new repository). */
export async function openDelegations(init: DelegationStoreInit): Promise<DelegationStore> {
  const { kv } = init
  const max = init.max ?? 100_000
  const version = await kv.get(versionKey)
  if (version !== undefined && decodeUint64(version) !== HUB_STORE_VERSION) {
    throw new UnsupportedStoreFormatError(`the hub's repository is in hub storage format ${decodeUint64(version)}; this hub reads format ${HUB_STORE_VERSION}`)
  }
  if (version === undefined) await kv.put(versionKey, encodeUint64(HUB_STORE_VERSION))

  const loaded: Delegation[] = []
  for await (const [k, v] of kv.range({ prefix })) {
    let identity = ''
    try {
      identity = new TextDecoder().decode(decodeTuple(k, 3).segments[2])
      loaded.push(await decode(identity, v))
    } catch (err) {
      log.error('skipping a delegation entry that does not decode (%s): %s', identity, (err as Error).message)
    }
  }
  // A Map iterates in insertion order: oldest first.
  loaded.sort((a, b) => a.at - b.at)
  const kept = new Map(loaded.map((d) => [d.identity, d]))
  const evict = (): Uint8Array[] => {
    const gone: Uint8Array[] = []
    const limit = max + (init.pinned !== undefined && kept.has(init.pinned) ? 1 : 0)
    for (const identity of kept.keys()) {
      if (kept.size <= limit) break
      if (identity === init.pinned) continue
      kept.delete(identity)
      gone.push(keyOf(identity))
    }
    return gone
  }
  const dropped = evict()
  if (dropped.length > 0) await kv.batch(dropped.map((key) => ({ type: 'del' as const, key })))
  log('%d delegations kept', kept.size)

  return {
    get: (identity) => kept.get(identity),
    async put(d) {
      const value = dagCbor.encode<Stored>({ k: privateKeyToBytes(d.logKey), n: d.certificate.nonce, s: d.certificate.signature, at: d.at })
      kept.delete(d.identity)
      kept.set(d.identity, d)
      const gone = evict()
      await kv.batch([{ type: 'put', key: keyOf(d.identity), value }, ...gone.map((key) => ({ type: 'del' as const, key }))])
    },
    get size() { return kept.size }
  }
}

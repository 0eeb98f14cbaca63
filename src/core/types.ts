/**
 * Branded identifiers shared by every layer. They are plain strings at runtime (so they cross a
 * worker boundary unchanged) but distinct types at compile time.
 */
import type { CID } from 'multiformats/cid'

declare const brand: unique symbol
type Brand<T, B extends string> = T & { readonly [brand]: B }

/** A thread ID in its canonical string form: multibase base32 (`b…`) of the binary ID. */
export type ThreadID = Brand<string, 'ThreadID'>

/** A log ID: the libp2p peer ID (base58btc, `12D3KooW…`) of the log's Ed25519 public key. */
export type LogID = Brand<string, 'LogID'>

/** A block stored by content address: its CIDv1 (dag-cbor, sha2-256) and its bytes. */
export interface Block {
  readonly cid: CID
  readonly bytes: Uint8Array
}

/** Options of every long operation: abort through a signal. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** `T` with its properties writable, for building a readonly value step by step. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] }

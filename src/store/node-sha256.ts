/**
 * A faster sha2-256 for Node composition roots (the relay, Node peers, benchmarks): Node's one-shot
 * `crypto.hash`, about twice as fast on small blocks as a `createHash` per block. Pass it as
 * `createLogStore(kv, { sha256: nodeSha256 })`.
 *
 * Node-only: import it from `src/store/node-sha256.js` directly; `src/store/index.ts` does not
 * re-export it.
 */
import { hash } from 'node:crypto'

export function nodeSha256(bytes: Uint8Array): Uint8Array {
  const digest = hash('sha256', bytes, 'buffer')
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
}

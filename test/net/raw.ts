/**
 * A hand-driven session of the protocol for tests that play a hostile or broken peer: raw frames
 * over a real libp2p stream, no session logic of ours in between.
 */
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { threadIDToBytes } from '../../src/core/thread-id.js'
import type { ThreadID } from '../../src/core/types.js'
import { authProof, keyID } from '../../src/net/auth.js'
import { decodeFrame, encodeFrame, MAX_FRAME_BYTES, PROTOCOL, type Frame, type RequestBody, type Response } from '../../src/net/messages.js'
import type { Peer } from '../../src/node/peer.js'

export interface RawSession {
  readonly stream: Stream
  readonly lp: LengthPrefixedStream<Stream>
  /** Send one frame (any object, encoded as dag-cbor). */
  send(frame: Frame | Record<string, unknown>): Promise<void>
  /** Read the next frame, or 'closed' when the stream ends or resets first. */
  read(timeoutMs?: number): Promise<Frame | 'closed'>
  /** Send a request with a fresh ID and read until its answer. */
  ask(req: RequestBody): Promise<Response | 'closed'>
}

/** A peer to talk to: a peer in this process, or one elsewhere (a relay process) by its ID and an address. */
export type Target = Peer | { peerId: string; addr: string }

function targetId(to: Target): ReturnType<typeof peerIdFromString> {
  return 'libp2p' in to ? to.libp2p.peerId : peerIdFromString(to.peerId)
}

export async function rawSession(from: Peer, to: Target): Promise<RawSession> {
  if (!('libp2p' in to)) await from.libp2p.dial(multiaddr(to.addr))
  const stream = await from.libp2p.dialProtocol(targetId(to), PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  let nextId = 1
  const raw: RawSession = {
    stream,
    lp,
    async send(frame) { await lp.write(encodeFrame(frame as Frame)) },
    async read(timeoutMs = 5_000) {
      try {
        return decodeFrame((await lp.read({ signal: AbortSignal.timeout(timeoutMs) })).subarray())
      } catch {
        return 'closed'
      }
    },
    async ask(req) {
      const id = nextId++
      await raw.send({ ...req, id } as Frame)
      while (true) {
        const f = await raw.read()
        if (f === 'closed') return f
        if ('re' in f && f.re === id) return f
      }
    }
  }
  return raw
}

/** The `thread`, `kid` and `auth` fields `from` would send `to` for a thread. */
export function authFields(serviceKey: Uint8Array, id: ThreadID, from: Peer, to: Target): { thread: Uint8Array; kid: Uint8Array; auth: Uint8Array } {
  const thread = threadIDToBytes(id)
  return {
    thread,
    kid: keyID(serviceKey),
    auth: authProof(serviceKey, thread, from.libp2p.peerId.toMultihash().bytes, targetId(to).toMultihash().bytes)
  }
}

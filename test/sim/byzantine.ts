/**
 * A Byzantine member in the simulation: the real net code runs on its node, and at the scenario's
 * times it also does what an honest member never does — signs two records at one position of its
 * log and hands them to different peers (an equivocation), appends records readers cannot open
 * (poison), and announces address lists it has no right to (another member's log, unsigned or
 * signed with its own key) and a list of its own naming peers that do not exist. The honest peers
 * must converge all the same, freeze its log at the same counter, and penalise nobody honest.
 */
import { privateKeyFromBytes, publicKeyFromRaw, publicKeyToBytes, type PrivateKey } from '../../src/core/identity.js'
import { logIDFromPublicKey, logIDToBytes } from '../../src/core/log-id.js'
import { logger } from '../../src/core/logger.js'
import { sealRecord, type RecordBlocks } from '../../src/core/record.js'
import { threadIDToBytes } from '../../src/core/thread-id.js'
import { newThreadKey, parseThreadKey, type ReadableThreadKey } from '../../src/core/thread-key.js'
import type { LogID, ThreadID } from '../../src/core/types.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { authProof, keyID } from '../../src/net/auth.js'
import { signAddrs } from '../../src/net/log-addrs.js'
import { createSession } from '../../src/net/session.js'
import type { Net } from '../../src/net/index.js'
import type { Rng, SimNode } from './sim-network.js'
import type { VirtualClock } from './virtual-time.js'

/** What the Byzantine member acts with. */
export interface ByzantineCtx {
  clock: VirtualClock
  rng: Rng
  thread: ThreadID
  key: string
}

/** A peer of the simulation as the Byzantine actions see it. */
export interface Actor {
  readonly name: string
  readonly node: SimNode
  readonly logKey: Uint8Array
  net: Net | undefined
  written: number
}

const keys = new WeakMap<Uint8Array, { key: PrivateKey; log: LogID }>()

/** A member's log key and log ID (parsed once). */
export async function ownLog(a: Pick<Actor, 'logKey'>): Promise<{ key: PrivateKey; log: LogID }> {
  let k = keys.get(a.logKey)
  if (k == null) {
    const key = await privateKeyFromBytes(a.logKey)
    keys.set(a.logKey, (k = { key, log: logIDFromPublicKey(key.publicKey) }))
  }
  return k
}

async function seal(ctx: ByzantineCtx, key: PrivateKey, body: unknown, prev: RecordBlocks['record']['cid'] | undefined, threadKey: ReadableThreadKey): Promise<RecordBlocks> {
  return await sealRecord({ body, threadKey, logKey: key, ...(prev != null ? { prev } : {}), time: { wall: ctx.clock.now(), counter: 0 } })
}

/**
 * Sign two records at the next position of the member's log: one goes into its own log (and on
 * from there), the other to `victim` as if delivered to it. Returns what happened.
 */
export async function equivocate(ctx: ByzantineCtx, byz: Actor, victim: Actor): Promise<string> {
  if (byz.net == null || victim.net == null) return 'no fork: a peer is down'
  const { key, log } = await ownLog(byz)
  const mine = (await byz.net.getThread(ctx.thread)).logs.find((l) => l.id === log)
  if (mine == null || mine.frozenAt !== undefined) return 'no fork: the log is frozen'
  const threadKey = parseThreadKey(ctx.key) as ReadableThreadKey
  const x = await seal(ctx, key, { from: byz.name, branch: 'x' }, mine.head.cid, threadKey)
  const y = await seal(ctx, key, { from: byz.name, branch: 'y' }, mine.head.cid, threadKey)
  await byz.net.addRecord(ctx.thread, log, x)
  byz.written++
  try {
    await victim.net.addRecord(ctx.thread, log, y)
  } catch (err) {
    return `forked record ${mine.head.counter + 1}, but ${victim.name} did not take the other branch (${(err as Error).name})`
  }
  return `forked record ${mine.head.counter + 1}: one branch kept, the other handed to ${victim.name}`
}

/** Append a record whose header no reader can decrypt (the service layer verifies). */
export async function poison(ctx: ByzantineCtx, byz: Actor): Promise<string> {
  if (byz.net == null) return 'no poison: down'
  const { key, log } = await ownLog(byz)
  const mine = (await byz.net.getThread(ctx.thread)).logs.find((l) => l.id === log)
  if (mine == null || mine.frozenAt !== undefined) return 'no poison: the log is frozen'
  const real = parseThreadKey(ctx.key) as ReadableThreadKey
  const wrong = { service: real.service, read: newThreadKey().read } as ReadableThreadKey
  await byz.net.addRecord(ctx.thread, log, await seal(ctx, key, { from: byz.name, poison: true }, mine.head.cid, wrong))
  byz.written++
  return `appended an unreadable record ${mine.head.counter + 1}`
}

/**
 * Announce to `victim`, on a session of its own: `other`'s log with an unsigned list and with a
 * list signed by the wrong key (both naming addresses of the Byzantine member's choosing), and its
 * own log with a list of 32 peers that do not exist.
 */
export async function forgeAddrs(ctx: ByzantineCtx, byz: Actor, victim: Actor, other: Actor): Promise<string> {
  const transport = byz.node.transport
  if (byz.net == null || victim.net == null || transport == null) return 'no forgery: a peer is down'
  const threadKey = parseThreadKey(ctx.key)
  const threadBytes = threadIDToBytes(ctx.thread)
  const { key, log } = await ownLog(byz)
  const theirs = await ownLog(other)
  // Peer IDs of no one: any 32 bytes make an Ed25519 public key's ID.
  const fake = Array.from({ length: 32 }, (_, i) => {
    const id = logIDFromPublicKey(publicKeyFromRaw(Uint8Array.from({ length: 32 }, () => ctx.rng.int(0, 255))))
    return `/ip4/10.66.${i}.1/tcp/4001/p2p/${id}`
  })
  const stop = new AbortController()
  const timer = ctx.clock.setTimeout(() => { stop.abort(new Error('forgery timed out')) }, 20_000)
  try {
    const channel = await transport.open(victim.node.id, { signal: stop.signal })
    const session = createSession({
      channel, timers: ctx.clock, log: logger('weft:sim:byzantine'),
      serve: async () => {}, onViolation: () => {}, onClose: () => {}
    })
    const auth = {
      thread: threadBytes,
      kid: keyID(threadKey.service),
      auth: authProof(threadKey.service, threadBytes, peerIdFromString(byz.node.id).toMultihash().bytes, peerIdFromString(victim.node.id).toMultihash().bytes)
    }
    const wireOf = (k: PrivateKey, l: LogID, addrs: string[], signed?: { seq: number; sig: Uint8Array }): Record<string, unknown> =>
      ({ id: logIDToBytes(l), pubKey: publicKeyToBytes(k.publicKey), addrs, counter: 0, ...(signed != null ? { addrSeq: signed.seq, addrSig: signed.sig } : {}) })
    const answers: string[] = []
    const ask = async (wire: Record<string, unknown>): Promise<void> => {
      try {
        await session.request({ type: 'pushLog', ...auth, log: wire as never }, ['ok'], { timeoutMs: 10_000, signal: stop.signal })
        answers.push('ok')
      } catch (err) {
        answers.push((err as { remoteCode?: string }).remoteCode ?? (err as Error).name)
      }
    }
    const seq = ctx.clock.now() + 1_000_000
    await ask(wireOf(theirs.key, theirs.log, fake.slice(0, 4)))
    const forged = await signAddrs(key, threadBytes, logIDToBytes(theirs.log), seq, fake.slice(0, 4))
    await ask(wireOf(theirs.key, theirs.log, forged.addrs, forged))
    const mine = await signAddrs(key, threadBytes, logIDToBytes(log), seq, fake)
    await ask(wireOf(key, log, mine.addrs, mine))
    session.close()
    return `forged address lists to ${victim.name}: ${answers.join(', ')}`
  } finally {
    ctx.clock.clearTimeout(timer)
  }
}

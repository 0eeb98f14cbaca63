/**
 * One session, on the simulated transport and virtual time: many requests both ways at once,
 * streams under credit that never hold up small requests, deadlines per request, cancellation,
 * and what happens when the channel dies or the peer breaks the rules. And two peers that open
 * sessions to each other at the same moment agree on the one to keep.
 */
import { describe, expect, it } from 'vitest'
import { logger } from '../../src/core/logger.js'
import type { InvalidMessageError } from '../../src/net/errors.js'
import { encodeFrame, type RecordFrame, type Request } from '../../src/net/messages.js'
import { createPenalties } from '../../src/net/penalties.js'
import { createSession, type Responder, type Session } from '../../src/net/session.js'
import { createSessionManager } from '../../src/net/sessions.js'
import type { Channel } from '../../src/net/transport.js'
import { createRng, createSimNetwork } from '../sim/sim-network.js'
import { createVirtualClock, type VirtualClock } from '../sim/virtual-time.js'

const log = logger('weft:test:session')
const auth = { thread: new Uint8Array(34).fill(1), kid: new Uint8Array(16), auth: new Uint8Array(32) }
const ID_A = '12D3KooWA1111111111111111111111111111111111111111111'
const ID_B = '12D3KooWB2222222222222222222222222222222222222222222'

type Serve = (req: Request, r: Responder) => Promise<void>

interface Ends {
  clock: VirtualClock
  a: Session
  b: Session
  violations: { a: InvalidMessageError[]; b: InvalidMessageError[] }
  closed: { a: Array<Error | undefined>; b: Array<Error | undefined> }
  cut(): void
  /** B's end of the channel, to write frames by hand. */
  rawB: Channel
}

async function ends(serveB: Serve, serveA: Serve = async () => {}): Promise<Ends> {
  const clock = createVirtualClock()
  const network = createSimNetwork({ clock, rng: createRng(7), latencyMs: [5, 10] })
  const na = network.addNode(ID_A, `/ip4/10.0.0.1/tcp/1/p2p/${ID_A}`)
  const nb = network.addNode(ID_B, `/ip4/10.0.0.2/tcp/1/p2p/${ID_B}`)
  const ta = network.transport(na)
  const tb = network.transport(nb)
  const violations = { a: [] as InvalidMessageError[], b: [] as InvalidMessageError[] }
  const closed = { a: [] as Array<Error | undefined>, b: [] as Array<Error | undefined> }
  let b: Session | undefined
  let rawB: Channel | undefined
  await tb.start({
    onConnect: () => {},
    onDisconnect: () => {},
    onAddressesChanged: () => {},
    onChannel: (ch) => {
      rawB = ch
      b = createSession({ channel: ch, timers: clock, log, serve: serveB, onViolation: (e) => violations.b.push(e), onClose: (e) => closed.b.push(e), limits: { stallTimeoutMs: 5000 } })
    }
  })
  await ta.start({ onConnect: () => {}, onDisconnect: () => {}, onAddressesChanged: () => {}, onChannel: () => {} })
  await ta.rememberAddrs(ID_B, [nb.addr])
  const rawA = await clock.settle(ta.open(ID_B, { signal: new AbortController().signal }))
  const a = createSession({ channel: rawA, timers: clock, log, serve: serveA, onViolation: (e) => violations.a.push(e), onClose: (e) => closed.a.push(e), limits: { stallTimeoutMs: 5000 } })
  await clock.runFor(50)
  return { clock, a, b: b!, violations, closed, cut: () => { network.cut(na, nb) }, rawB: rawB! }
}

const blocks = (n: number): [Uint8Array, Uint8Array, Uint8Array, Uint8Array] => [new Uint8Array(100).fill(n), new Uint8Array(100), new Uint8Array(100), new Uint8Array(900)]

describe('a session', () => {
  it('carries many requests at once in both directions and matches each answer to its request', async () => {
    const serve: Serve = async (req, r) => {
      if (req.type !== 'heads') return
      await r.reply({ type: 'heads', same: req.digest[0] === 1, heads: [] })
    }
    const { clock, a, b } = await ends(serve, serve)
    const asks = [0, 1, 0, 1].map((d, i) => (i % 2 === 0 ? a : b).request({ type: 'heads', ...auth, digest: new Uint8Array(32).fill(d) }, ['heads'], { timeoutMs: 1000 }))
    const answers = await clock.settle(Promise.all(asks))
    expect(answers.map((x) => x.same)).toEqual([false, true, false, true])
  })

  it('answers a small request while a large record stream is in flight, and keeps the stream within its credit', async () => {
    let sent = 0
    const { clock, a } = await ends(async (req, r) => {
      if (req.type === 'heads') { await r.reply({ type: 'heads', same: true, heads: [] }); return }
      if (req.type !== 'getRecords') return
      for (let i = 1; i <= 200; i++) {
        await r.record({ log: new Uint8Array(38).fill(2), counter: i, blocks: blocks(i) })
        sent++
      }
      await r.reply({ type: 'end', more: false })
    })
    const frames: Array<RecordFrame['counter']> = []
    const reading = (async () => {
      for await (const f of a.stream({ type: 'getRecords', ...auth, logs: [], limit: 1000 }, { timeoutMs: 2000, window: 8 * 1024 })) {
        if (f.type === 'record') frames.push(f.counter)
        // a slow consumer: the responder must wait for credit, not flood us
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 20))
        expect(sent - frames.length).toBeLessThanOrEqual(8)
      }
    })()
    await clock.runFor(200)
    const heads = await clock.settle(a.request({ type: 'heads', ...auth, digest: new Uint8Array(32) }, ['heads'], { timeoutMs: 1000 }))
    expect(heads.same).toBe(true)
    expect(frames.length).toBeLessThan(200)
    await clock.settle(reading)
    expect(frames).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
  })

  it('sends a stream\'s end and its error after every record it queued, in order, though the responder does not wait for each to be written', async () => {
    const { clock, a } = await ends(async (req, r) => {
      if (req.type !== 'getRecords') return
      for (let i = 1; i <= 100; i++) await r.record({ log: new Uint8Array(38), counter: i, blocks: blocks(i) })
      if (req.limit === 100) await r.reply({ type: 'end', more: false })
      else throw new Error('the store failed')
    })
    const pull = async (limit: number): Promise<{ counters: number[]; end: boolean }> => {
      const counters: number[] = []
      let end = false
      for await (const f of a.stream({ type: 'getRecords', ...auth, logs: [], limit }, { timeoutMs: 1000, window: 4 * 1024 * 1024 })) {
        if (f.type === 'record') counters.push(f.counter)
        else end = true
      }
      return { counters, end }
    }
    const all = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(await clock.settle(pull(100))).toEqual({ counters: all, end: true })
    const failed = (async () => {
      const counters: number[] = []
      try {
        for await (const f of a.stream({ type: 'getRecords', ...auth, logs: [], limit: 101 }, { timeoutMs: 1000, window: 4 * 1024 * 1024 })) {
          if (f.type === 'record') counters.push(f.counter)
        }
      } catch (err) {
        return { counters, error: (err as Error).name }
      }
      return { counters, error: undefined }
    })()
    expect(await clock.settle(failed)).toEqual({ counters: all, error: 'RemoteError' })
  })

  it('times a stream out only while it waits for the peer, not while its own consumer is slow', async () => {
    const { clock, a } = await ends(async (req, r) => {
      if (req.type !== 'getRecords') return
      for (let i = 1; i <= 5; i++) await r.record({ log: new Uint8Array(38), counter: i, blocks: blocks(i) })
      await r.reply({ type: 'end', more: false })
    })
    const got: number[] = []
    await clock.settle((async () => {
      for await (const f of a.stream({ type: 'getRecords', ...auth, logs: [], limit: 10 }, { timeoutMs: 1000, window: 64 * 1024 })) {
        if (f.type === 'record') got.push(f.counter)
        // each record takes our side 3 s to handle, three times the deadline
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 3000))
      }
    })())
    expect(got).toEqual([1, 2, 3, 4, 5])
  })

  it('fails a request past its deadline with TimeoutError and keeps a session whose peer still talks', async () => {
    const { clock, a, closed } = await ends(async (req, r) => {
      if (req.type === 'heads' && req.digest[0] === 9) return await new Promise(() => {}) // never answers
      if (req.type === 'heads') await r.reply({ type: 'heads', same: true, heads: [] })
    })
    const slow = a.request({ type: 'heads', ...auth, digest: new Uint8Array(32).fill(9) }, ['heads'], { timeoutMs: 1000 })
    const chatter = (async () => {
      for (let i = 0; i < 5; i++) {
        await a.request({ type: 'heads', ...auth, digest: new Uint8Array(32) }, ['heads'], { timeoutMs: 1000 })
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 300))
      }
    })()
    await expect(clock.settle(slow)).rejects.toMatchObject({ name: 'TimeoutError' })
    await clock.settle(chatter)
    expect(a.closed).toBe(false)
    expect(closed.a).toEqual([])
  })

  it('fails every pending request with SessionClosedError when the channel dies, and counts no violation', async () => {
    const { clock, a, violations, cut } = await ends(async () => await new Promise(() => {}))
    const outcome = async (p: Promise<unknown>): Promise<unknown> => await p.then(() => 'answered', (err: Error) => err.name)
    const pending = [1, 2, 3].map(async () => await outcome(a.request({ type: 'getLogs', ...auth }, ['logs'], { timeoutMs: 10_000 })))
    const stream = outcome((async () => { for await (const f of a.stream({ type: 'getRecords', ...auth, logs: [], limit: 10 }, { timeoutMs: 10_000, window: 1024 })) void f })())
    await clock.runFor(100)
    cut()
    expect(await clock.settle(Promise.all([...pending, stream]))).toEqual(Array(4).fill('SessionClosedError'))
    expect(violations).toEqual({ a: [], b: [] })
    await expect(a.request({ type: 'getLogs', ...auth }, ['logs'], { timeoutMs: 100 })).rejects.toMatchObject({ name: 'SessionClosedError' })
  })

  it('stops the responder when the requester cancels a stream', async () => {
    let served = 0
    let aborted = false
    const { clock, a } = await ends(async (req, r) => {
      if (req.type !== 'getRecords') return
      try {
        for (let i = 1; i <= 1000; i++) {
          await r.record({ log: new Uint8Array(38), counter: i, blocks: blocks(i) })
          served++
        }
      } catch {
        aborted = r.signal.aborted
      }
    })
    await clock.settle((async () => {
      for await (const f of a.stream({ type: 'getRecords', ...auth, logs: [], limit: 1000 }, { timeoutMs: 1000, window: 4096 })) {
        if (f.type === 'record' && f.counter === 3) break
      }
    })())
    await clock.runFor(1000)
    expect(aborted).toBe(true)
    expect(served).toBeLessThan(20)
  })

  it('treats records past the credit, a reused request ID and an undecodable frame as violations, and closes the session', async () => {
    const never: Serve = async () => await new Promise(() => {})
    const cases: Array<{ name: string; frames: Uint8Array[] }> = [
      { name: 'records past the credit', frames: [1, 2, 3].map((i) => encodeFrame({ type: 'record', re: 1, log: new Uint8Array(38), counter: i, blocks: blocks(i) })) },
      { name: 'a reused request ID', frames: [1, 2].map(() => encodeFrame({ type: 'getLogs', id: 5, ...auth })) },
      { name: 'an undecodable frame', frames: [new Uint8Array([0xff, 0xfe])] }
    ]
    for (const c of cases) {
      const { clock, a, violations, rawB } = await ends(never, never)
      // A asks for records with a window of one byte and takes only the first; B's frames are written by hand.
      const it = a.stream({ type: 'getRecords', ...auth, logs: [], limit: 10 }, { timeoutMs: 1000, window: 1 })[Symbol.asyncIterator]()
      const first = it.next().then(() => 'took one', (err: Error) => err.name)
      await clock.runFor(50)
      for (const f of c.frames) await rawB.send(f)
      await clock.runFor(50)
      expect(violations.a.map((e) => e.name), c.name).toEqual(['InvalidMessageError'])
      expect(a.closed, c.name).toBe(true)
      expect(['took one', 'InvalidMessageError', 'SessionClosedError'], c.name).toContain(await clock.settle(first))
    }
  })
})

describe('two peers that open sessions to each other at once', () => {
  it('keep the same one and drain the other', async () => {
    const clock = createVirtualClock()
    const network = createSimNetwork({ clock, rng: createRng(3), latencyMs: [5, 10] })
    const nodes = [network.addNode(ID_A, `/ip4/10.0.0.1/tcp/1/p2p/${ID_A}`), network.addNode(ID_B, `/ip4/10.0.0.2/tcp/1/p2p/${ID_B}`)]
    const managers = await Promise.all(nodes.map(async (n, i) => {
      const t = network.transport(n)
      const m = createSessionManager({
        transport: t, timers: clock, penalties: createPenalties({ timers: clock }), log, limits: {}, openTimeoutMs: 1000, drainIdleMs: 500, dialBackoff: () => 1000,
        serve: async (_s, req, r) => { if (req.type === 'getLogs') await r.reply({ type: 'logs', logs: [] }) },
        onViolation: () => {}
      })
      await t.start({ onConnect: () => {}, onDisconnect: () => {}, onAddressesChanged: () => {}, onChannel: (ch) => { m.accept(ch) } })
      await t.rememberAddrs(nodes[1 - i]!.id, [nodes[1 - i]!.addr])
      return m
    }))
    const [sa, sb] = await clock.settle(Promise.all([managers[0]!.get(ID_B), managers[1]!.get(ID_A)]))
    expect(sa!.direction).toBe('outbound')
    expect(sb!.direction).toBe('outbound')
    await clock.runFor(100)
    // Both now hold two sessions and prefer the same one: the one the lower peer ID opened.
    const keptByA = managers[0]!.current(ID_B)!
    const keptByB = managers[1]!.current(ID_A)!
    const opener = ID_A < ID_B ? ID_A : ID_B
    expect(keptByA.direction).toBe(opener === ID_A ? 'outbound' : 'inbound')
    expect(keptByB.direction).toBe(opener === ID_B ? 'outbound' : 'inbound')
    // Requests keep working both ways, and the drained session is closed once idle.
    await clock.settle(keptByA.request({ type: 'getLogs', ...auth }, ['logs'], { timeoutMs: 1000 }))
    await clock.runFor(2000)
    expect([sa, sb].filter((s) => s!.closed)).toHaveLength(1)
    expect(keptByA.closed).toBe(false)
  })
})

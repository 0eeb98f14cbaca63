/**
 * The attacker's side of sync: it answers honest peers' requests with the logs it forged —
 * `getLogs` with its logs (and any others it chooses to announce), `heads` that always differ, and
 * `getRecords` streams of whatever its forged logs hold (forged authors, one branch of a fork,
 * poison), under the credit the requester grants, as the protocol says. Pushes are acknowledged
 * and dropped. It checks no proof: it is not the attacker's thread that is at stake.
 */
import { equalBytes } from '../../src/core/bytes.js'
import { threadIDToBytes } from '../../src/core/thread-id.js'
import type { ThreadID } from '../../src/core/types.js'
import { encodeFrame, type Request, type WireLog } from '../../src/net/messages.js'
import type { RawSession, RequestHandler } from './attacker.js'
import type { ForgedLog } from './forge.js'

export interface ServedThread {
  id: ThreadID
  /** The logs served with their records (each as it is when asked). */
  logs: () => ForgedLog[]
  /** Addresses announced for our logs. @default none */
  addrs?: () => string[]
  /** Other logs announced in `getLogs` (an honest member's, with addresses of our choosing). @default none */
  extra?: () => WireLog[]
}

export interface LogServer {
  handler: RequestHandler
  /** Requests served, by type. */
  readonly served: Record<string, number>
}

/** Serve `threads` to whoever asks. */
export function logServer(threads: ServedThread[]): LogServer {
  const served: Record<string, number> = {}
  const find = (bytes: Uint8Array): ServedThread | undefined => threads.find((t) => equalBytes(threadIDToBytes(t.id), bytes))

  async function stream(session: RawSession, req: Extract<Request, { type: 'getRecords' }>, t: ServedThread): Promise<void> {
    const after = new Map(req.logs.map((l) => [Buffer.from(l.id).toString('hex'), l.after]))
    const credit = session.credit(req.id)
    let budget = req.limit
    let more = false
    for (const log of t.logs()) {
      const from = after.get(Buffer.from(log.idBytes).toString('hex')) ?? 0
      for (let c = from + 1; c <= log.counter; c++) {
        if (budget === 0) { more = true; break }
        while (credit.left <= 0) await credit.more()
        const frame = { type: 'record' as const, re: req.id, ...log.frame(c) }
        credit.left -= encodeFrame(frame).byteLength
        await session.send(frame)
        budget--
      }
    }
    await session.send({ type: 'end', re: req.id, more })
  }

  const handler: RequestHandler = async (req, session) => {
    served[req.type] = (served[req.type] ?? 0) + 1
    const t = find(req.thread)
    if (t == null) {
      await session.send({ type: 'error', re: req.id, code: 'UNAUTHORIZED', message: 'unauthorized' })
      return
    }
    const addrs = t.addrs?.() ?? []
    switch (req.type) {
      case 'getLogs':
        await session.send({ type: 'logs', re: req.id, logs: [...t.logs().map((l) => l.wire(addrs)), ...(t.extra?.() ?? [])] })
        return
      case 'heads':
        await session.send({ type: 'heads', re: req.id, same: false, heads: t.logs().map((l) => { const w = l.wire(); return w.head != null ? { id: w.id, head: w.head, counter: w.counter } : { id: w.id, counter: w.counter } }) })
        return
      case 'getRecords':
        await stream(session, req, t)
        return
      case 'pushLog':
      case 'pushRecord':
        await session.send({ type: 'ok', re: req.id })
    }
  }
  return { handler, served }
}

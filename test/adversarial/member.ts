/**
 * An attacker that holds a thread's key (a member running modified code): it announces logs and
 * pushes records of its making to any peer — honest members or the relay — over raw sessions it
 * keeps per target, proving the service key like any member.
 */
import type { ReadableThreadKey, ThreadKey } from '../../src/core/thread-key.js'
import type { ThreadID } from '../../src/core/types.js'
import type { Response, WireLog } from '../../src/net/messages.js'
import type { Attacker, RawSession } from './attacker.js'
import type { ForgedLog } from './forge.js'

export class HostileMember {
  private readonly sessions = new Map<string, Promise<RawSession>>()

  constructor(readonly attacker: Attacker, readonly id: ThreadID, readonly key: ReadableThreadKey | ThreadKey) {}

  /** The session to `target` (a multiaddr ending in /p2p/<id>), opened once and reopened after it ends. */
  async session(target: string): Promise<RawSession> {
    let s = this.sessions.get(target)
    if (s == null) {
      s = this.attacker.session(target)
      this.sessions.set(target, s)
      void s.then((x) => { void x.ended.then(() => { if (this.sessions.get(target) === s) this.sessions.delete(target) }) }, () => { this.sessions.delete(target) })
    }
    return await s
  }

  private peerOf(target: string): string {
    return target.slice(target.lastIndexOf('/p2p/') + 5)
  }

  /** Send a request about the thread, with a valid proof of the service key. */
  async ask(target: string, req: Record<string, unknown>, timeoutMs?: number): Promise<Response | 'closed'> {
    const s = await this.session(target)
    return await s.ask({ ...req, ...this.attacker.auth(this.key.service, this.id, this.peerOf(target)) }, timeoutMs)
  }

  /** Announce a log (`pushLog`); with `serviceKey`, hand the thread over to a replicator. */
  async announce(target: string, log: WireLog, serviceKey?: Uint8Array): Promise<Response | 'closed'> {
    return await this.ask(target, { type: 'pushLog', log, ...(serviceKey != null ? { serviceKey } : {}) })
  }

  /** Push record `counter` of a forged log. */
  async push(target: string, log: ForgedLog, counter: number): Promise<Response | 'closed'> {
    return await this.ask(target, { type: 'pushRecord', ...log.frame(counter) })
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) await s.then(async (x) => { await x.close() }, () => undefined)
    this.sessions.clear()
  }
}

/** `{ weftdb: 2, ops }`: a DB event body with these ops. */
export function dbBody(...ops: object[]): { weftdb: 2; ops: string } {
  return { weftdb: 2, ops: JSON.stringify(ops) }
}

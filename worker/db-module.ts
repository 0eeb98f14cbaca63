/**
 * The db layer composed into the worker: one DB manager over the peer's net and its IndexedDB
 * key-value store (the db's keys live under their own `('weft-db', …)` tuple prefix next to the
 * log store's), with its handlers and streams served to the tabs as `db.*` (worker/db-api.ts,
 * transactions in worker/db-txn.ts).
 *
 * - Writer identity: the DB's own log in every thread is keyed with the peer's user identity (the
 *   `identity` a tab sees in `connect()`), so write validators see that identity as `writer`, here
 *   and on every other peer (the writer is the author of the record, which is what every peer can
 *   check). A token from `getToken()` names the reader of read filters for the call it comes with.
 * - Start-up: the manager (which reopens every DB this peer holds) starts in the background, so
 *   the peer answers net calls at once; db calls wait for it. QuickJS is loaded on the first
 *   validator or read filter, not at start.
 */
import { logger } from '../src/core/logger.js'
import { privateKeyToBytes, publicKeyToBytes } from '../src/core/index.js'
import { createDBManager, createSandbox, dbNetFromNet, type DBManager, type DBNet, type Sandbox, type SandboxInit } from '../src/db/index.js'
import { forkSource } from '../src/net/index.js'
import type { HandlerTable, StreamTable } from './api.js'
import type { WorkerModule } from './host.js'
import { dbApi } from './db-api.js'
import type { BrowserPeer } from './peer.js'

const log = logger('weft:worker:db')

export interface DBModuleInit {
  /** Limits of the validator sandbox (see src/db/sandbox.ts). */
  sandbox?: SandboxInit
  /** A write transaction a tab leaves without a call this long is discarded (ms). @default 30000 */
  txnIdleMs?: number
}

/** A sandbox that loads QuickJS on first use (most DBs have no validators; cold start stays short). */
function lazySandbox(init: SandboxInit | undefined): Sandbox & { loaded(): boolean } {
  let real: Promise<Sandbox> | undefined
  const get = async (): Promise<Sandbox> => {
    if (real === undefined) {
      real = createSandbox(init)
      // A failed load is retried on the next use.
      real.catch(() => { real = undefined })
    }
    return await real
  }
  let disposed = false
  return {
    check: async (kind, code) => { await (await get()).check(kind, code) },
    validate: async (code, writer, event, instance) => await (await get()).validate(code, writer, event, instance),
    filter: async (code, reader, instance) => await (await get()).filter(code, reader, instance),
    dispose() {
      if (disposed) return
      disposed = true
      void real?.then((s) => { s.dispose() }).catch(() => undefined)
    },
    loaded: () => real !== undefined
  }
}

/**
 * The Net as the db sees it: our log in each DB thread keyed by the user identity (so the DB
 * knows its writer before it makes a thread), and the net's forks.
 */
function identityNet(peer: BrowserPeer): DBNet {
  const base = dbNetFromNet(peer.net, peer.logStore, forkSource(peer.net))
  const logKey = privateKeyToBytes(peer.identity)
  return {
    ...base,
    writerKey: async () => publicKeyToBytes(peer.identity.publicKey),
    createThread: async (id, options = {}) => await peer.net.createThread(id, { ...options, logKey }),
    addThread: async (address, options) => await peer.net.addThread(address, { ...options, logKey })
  }
}

export function dbModule(init: DBModuleInit = {}): WorkerModule {
  return {
    name: 'db',
    async start(peer, services) {
      const sandbox = lazySandbox(init.sandbox)
      const starting: Promise<DBManager> = createDBManager({
        net: identityNet(peer),
        kv: peer.kv,
        sandbox,
        logPrefix: peer.libp2p.peerId.toString().slice(-6)
      })
      starting.then(() => { log('db manager started') }, (err: Error) => { log.error('db manager failed to start: %s', err.message) })
      const manager = async (): Promise<DBManager> => await starting
      const api = dbApi({
        manager,
        tokens: services.tokens,
        peerId: peer.libp2p.peerId.toString(),
        pull: async (id, options) => { await peer.net.pullThread(id, options) },
        ...(init.txnIdleMs !== undefined ? { txnIdleMs: init.txnIdleMs } : {})
      })
      return {
        // Checked against the contract's DBMethods and DBStreams in db-api.ts.
        handlers: api.handlers as unknown as HandlerTable,
        streams: api.streams as unknown as StreamTable,
        async stop() {
          api.close()
          await starting.then(async (m) => { await m.close() }, () => undefined)
          sandbox.dispose()
        }
      }
    }
  }
}

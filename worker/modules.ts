/**
 * Layers composed into the worker above net. The db layer plugs in here once src/db lands:
 *
 *   import { dbModule } from './db-module.js'   // wraps createDBManager({ net, kv, identity, ... })
 *   return [dbModule()]
 *
 * A module's handlers are called as `db.<name>` from the client (`client.db.call(name, ...args)`)
 * and its streams as `client.db.stream(name, ...args)`; see worker/host.ts `WorkerModule`.
 */
import type { WorkerModule } from './host.js'

export function workerModules(): WorkerModule[] {
  return []
}

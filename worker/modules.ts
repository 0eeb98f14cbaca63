/**
 * Layers composed into the worker above net: the db (worker/db-module.ts). A module's handlers are
 * called as `<module>.<name>` from the client (`client.db.newDB(…)` calls `db.newDB`), its streams
 * likewise; see worker/host.ts `WorkerModule`.
 */
import type { WorkerModule } from './host.js'
import { dbModule } from './db-module.js'

export function workerModules(): WorkerModule[] {
  return [dbModule()]
}

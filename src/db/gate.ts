/**
 * The DB's locks. Writers — commits of write transactions, applications of remote records — take
 * turns on the write lock and may hold it long: a commit signs its records and stores them in the
 * log store before it writes the DB's state. Reads (of read transactions, `find`, `findByID`, …)
 * do not wait for that: they wait only while the state itself is being written. Every write of the state goes through
 * {@link Gate.writing} (one store batch at a time, or a change of several batches — a rewind — at
 * once), which waits for the reads in progress and holds back new ones until it is written. So a
 * read still sees one consistent state, and a `find` never waits for an open write transaction,
 * a signature or the log store. The calls of write transactions wait the same way, only while the
 * state is written; a transaction a commit outdated fails its own commit with a conflict, and an
 * operation retried after one waits for the writer's turn that outdated it to end.
 *
 * Only the holder of the write lock writes the state, so `writing` calls never overlap except
 * by nesting (a rewind's batches inside the rewind), which pass through.
 */
import { createRWLock, type RWLock } from './lock.js'

export interface Gate {
  /**
   * The writers' lock: `write` takes a writer's turn; `read` waits for the turn in progress to
   * end (an operation retried after a conflict, so it stages against what that commit wrote;
   * reading collection configurations).
   */
  readonly lock: RWLock
  /** The lock of reads: `read` waits only while the state is written. */
  readonly reads: RWLock
  /** Write the state: no read runs meanwhile. Called by the holder of the write lock. */
  writing<T>(fn: () => Promise<T>): Promise<T>
}

export function createGate(): Gate {
  const writers = createRWLock()
  const state = createRWLock()
  /** Nested `writing` calls in progress (a rewind's batches inside the rewind). */
  let depth = 0
  return {
    lock: writers,
    reads: state,
    async writing(fn) {
      if (depth > 0) {
        depth++
        try { return await fn() } finally { depth-- }
      }
      const release = await state.acquire('write')
      depth++
      try {
        return await fn()
      } finally {
        depth--
        release()
      }
    }
  }
}

/**
 * Point reads of the IndexedDB store, coalesced: every get is a request in a read-only
 * transaction, and a transaction costs far more than a request (in Chromium, creating one takes
 * the thread ≈ 50–100 µs, a get in it ≈ 15 µs). So at most one read transaction is in flight; the
 * reads that arrive meanwhile wait for it and then go together in the next one, and a read called
 * in the same task as the transaction that is in flight joins it while it is still active.
 *
 * Ordering: a read is placed in a transaction created after every write transaction created
 * before the read was called (IndexedDB runs a read-only transaction after the overlapping
 * read-write transactions created before it), so a read sees every write that resolved, or was
 * merely started, before it was called; joining stops at the next write. A read may also see a
 * write started after it was called (it waited in the queue meanwhile): it never sees a write that
 * has not committed.
 */

/** Values of the keys of one read, in order. */
type Values = Array<Uint8Array | undefined>

interface Read {
  keys: readonly IDBValidKey[]
  values: Values
  /** Requests not answered yet. */
  left: number
  resolve: (values: Values) => void
  reject: (err: unknown) => void
}

interface Current {
  store: IDBObjectStore
  reads: Read[]
  /** Whether reads may still be added (no write transaction was created since it was). */
  open: boolean
}

export interface ReadBatcher {
  /** The values of `keys` (`undefined` where absent), read in a shared transaction. */
  read(keys: readonly IDBValidKey[]): Promise<Values>
  /** A write transaction is being created: reads called from now on go after it. */
  fence(): void
}

/** The binary value of a stored entry (the store holds only `Uint8Array`s). */
function bytesOf(value: unknown): Uint8Array | undefined {
  return value === undefined ? undefined : value as Uint8Array
}

/** Coalesce the point reads of object store `name` of `db`. */
export function readBatcher(db: IDBDatabase, name: string): ReadBatcher {
  let current: Current | undefined
  let queue: Read[] = []

  /** Place `read`'s requests in `store` (throws when the transaction is no longer active). */
  const place = (store: IDBObjectStore, read: Read): void => {
    for (let i = 0; i < read.keys.length; i++) {
      const request = store.get(read.keys[i]!)
      request.onsuccess = () => {
        read.values[i] = bytesOf(request.result)
        if (--read.left === 0) read.resolve(read.values)
      }
    }
  }

  const flush = (): void => {
    const reads = queue
    queue = []
    let tx: IDBTransaction
    try {
      tx = db.transaction(name, 'readonly')
    } catch (err) {
      // The connection is closing or closed.
      for (const r of reads) r.reject(err)
      return
    }
    const batch: Current = { store: tx.objectStore(name), reads, open: true }
    current = batch
    const settle = (err?: unknown): void => {
      batch.open = false
      if (current === batch) current = undefined
      if (err !== undefined) for (const r of batch.reads) if (r.left > 0) r.reject(err)
      if (queue.length > 0) flush()
    }
    tx.oncomplete = () => { settle() }
    tx.onabort = () => { settle(tx.error ?? new DOMException('the read transaction was aborted', 'AbortError')) }
    // A failed request aborts the transaction, which rejects the reads it holds; a request
    // IndexedDB refuses at once fails its read alone.
    for (const r of reads) {
      try {
        place(batch.store, r)
      } catch (err) {
        r.left = 0
        r.reject(err)
      }
    }
  }

  return {
    read(keys) {
      return new Promise<Values>((resolve, reject) => {
        const read: Read = { keys, values: new Array<Uint8Array | undefined>(keys.length), left: keys.length, resolve, reject }
        if (keys.length === 0) { resolve([]); return }
        if (current?.open === true) {
          try {
            place(current.store, read)
            current.reads.push(read)
            return
          } catch (err) {
            // TransactionInactiveError: its task is over; wait for the next transaction.
            if ((err as DOMException).name !== 'TransactionInactiveError') { reject(err); return }
            current.open = false
          }
        }
        queue.push(read)
        if (current === undefined) flush()
      })
    },
    fence() {
      if (current !== undefined) current.open = false
    }
  }
}

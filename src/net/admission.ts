/**
 * Admission: the policy hook of a peer that holds threads for others (a relay in the replicator
 * role). The net layer asks it before it adopts a thread a peer hands over and before it stores
 * records in a thread it replicates, and tells it what was stored. The policy itself (allow-lists,
 * quotas, accounting) lives with the relay; the net layer only calls it and maps what it throws to
 * the wire: {@link QuotaExceededError} → `QUOTA_EXCEEDED`, anything else → `UNAUTHORIZED` (so a
 * refusal by policy looks exactly like a wrong key and is no existence oracle).
 */
import { WeftError } from '../core/errors.js'
import type { ThreadID } from '../core/types.js'

/** Who asks, for which thread, from where. */
export interface AdmissionRequest {
  /** The thread concerned (allow-lists name thread IDs). */
  thread: ThreadID
  /**
   * What to account the request to: the thread as held, per (thread ID, key) — the thread ID for
   * the first key a thread is held under, `<thread ID>:<key ID hex>` for each further one — so a
   * stranger's hand-over of a thread ID under its own key never uses up its owner's quotas.
   * Absent: `thread`. The net layer always sets it.
   */
  account?: string
  /** The peer ID of the requester (authenticated by the transport). */
  peer: string
  /** The requester's remote address as the transport sees it (a multiaddr string, for per-IP limits). */
  remoteAddr: string
}

export interface Admission {
  /** A peer hands us a thread we do not hold (replicator role). Throw to refuse. */
  adoptThread(req: AdmissionRequest): void | Promise<void>
  /** Records about to be stored in a replicated thread, from `peer`. Throw to refuse. */
  admitRecords(req: AdmissionRequest & { records: number; bytes: number }): void | Promise<void>
  /** Records were stored in the thread held as `account` (see {@link AdmissionRequest.account}). */
  recordsStored?(account: string, records: number, bytes: number): void
}

/** A quota would be exceeded: the request is refused with the wire code `QUOTA_EXCEEDED`. */
export class QuotaExceededError extends WeftError {
  override readonly name: string = 'QuotaExceededError'
  static override readonly code: string = 'ERR_QUOTA_EXCEEDED'
  constructor(message = 'a quota would be exceeded', options?: { cause?: unknown }) { super(message, options) }
}

/** The admission policy refused the request: answered on the wire as `UNAUTHORIZED`. */
export class AdmissionRefusedError extends WeftError {
  override readonly name: string = 'AdmissionRefusedError'
  static override readonly code: string = 'ERR_ADMISSION_REFUSED'
  constructor(message = 'refused by the admission policy', options?: { cause?: unknown }) { super(message, options) }
}

/**
 * Run a hook; whatever it throws comes out as one of the two named refusals (a quota error keeps
 * its message, anything else becomes an {@link AdmissionRefusedError} with the cause kept).
 */
export async function admit(hook: () => void | Promise<void>): Promise<void> {
  try {
    await hook()
  } catch (err) {
    if (err instanceof QuotaExceededError || err instanceof AdmissionRefusedError) throw err
    if ((err as { name?: unknown } | null)?.name === 'QuotaExceededError') {
      throw new QuotaExceededError((err as Error).message, { cause: err })
    }
    throw new AdmissionRefusedError(err instanceof Error ? err.message : 'refused by the admission policy', { cause: err })
  }
}

/** The wire error code of a refusal: quotas say so, every other refusal looks like a wrong key. */
export function admissionErrorCode(err: QuotaExceededError | AdmissionRefusedError): 'QUOTA_EXCEEDED' | 'UNAUTHORIZED' {
  return err instanceof QuotaExceededError ? 'QUOTA_EXCEEDED' : 'UNAUTHORIZED'
}

/** Admit everything (a peer without a policy). */
export const openAdmission: Admission = {
  adoptThread: () => {},
  admitRecords: () => {}
}

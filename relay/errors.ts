/**
 * Errors of the relay daemon. Like every Weft error they extend {@link WeftError}: a stable
 * `name` and `code`, the cause kept.
 */
import { WeftError } from '../src/core/errors.js'

/** One or more environment variables hold values the relay cannot use. Exit code 2. */
export class RelayConfigError extends WeftError {
  override readonly name: string = 'RelayConfigError'
  static override readonly code: string = 'ERR_RELAY_CONFIG'
  /** One line per problem, each starting with the variable's name. */
  readonly problems: string[]

  constructor(problems: string[] = [], options?: { cause?: unknown }) {
    super(problems.length > 0 ? `invalid relay configuration:\n  ${problems.join('\n  ')}` : 'invalid relay configuration', options)
    this.problems = problems
  }
}

/** The relay's accounting entries in its store are unreadable (corrupt, or a newer format). */
export class RelayLedgerError extends WeftError {
  override readonly name: string = 'RelayLedgerError'
  static override readonly code: string = 'ERR_RELAY_LEDGER'
  constructor(message = 'the relay accounting in the store is unreadable', options?: { cause?: unknown }) { super(message, options) }
}

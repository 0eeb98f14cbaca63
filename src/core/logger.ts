/**
 * A tiny namespaced logger in the style of `debug`: `logger('weft:net:sync')`.
 * Enabled by the `DEBUG` environment variable in Node or `localStorage.debug` in browsers,
 * with comma-separated patterns and `*` wildcards (`weft:*`, `weft:net:*,-weft:net:push`).
 * A worker has neither: the tabs send it their setting (`connect({ debug })`, or their
 * `localStorage.debug`) and it sends them back its lines (worker/host.ts), written here through
 * {@link writeLog}. Library code never calls `console` directly.
 */
export interface Logger {
  (formatter: string, ...args: unknown[]): void
  error(formatter: string, ...args: unknown[]): void
  trace(formatter: string, ...args: unknown[]): void
  readonly enabled: boolean
  readonly namespace: string
}

/** Whether a namespace logs. */
export type LogMatcher = (namespace: string) => boolean
export type LogLevel = 'log' | 'error' | 'trace'

let match: LogMatcher | undefined

function readSetting(): string {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> }; localStorage?: Storage }
  try {
    const fromEnv = g.process?.env?.DEBUG
    if (fromEnv != null) return fromEnv
  } catch { /* no env */ }
  try {
    return g.localStorage?.getItem('debug') ?? ''
  } catch {
    return ''
  }
}

/**
 * A matcher for a setting (`weft:*,-weft:net:push`): comma- or space-separated patterns with `*`
 * wildcards; a pattern starting with `-` excludes what it matches.
 */
export function logMatcher(setting: string): LogMatcher {
  const include: RegExp[] = []
  const exclude: RegExp[] = []
  for (const raw of setting.split(/[\s,]+/)) {
    if (raw === '') continue
    const neg = raw.startsWith('-')
    const body = (neg ? raw.slice(1) : raw).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?')
    ;(neg ? exclude : include).push(new RegExp(`^${body}$`))
  }
  return (ns) => !exclude.some((r) => r.test(ns)) && include.some((r) => r.test(ns))
}

/**
 * Set which namespaces log: a setting string, a matcher (the worker enables the union of its
 * tabs' settings), or — without an argument — re-read `DEBUG` / `localStorage.debug`.
 */
export function enableLogging(setting?: string | LogMatcher): void {
  match = typeof setting === 'function' ? setting : logMatcher(setting ?? readSetting())
}

function isEnabled(ns: string): boolean {
  match ??= logMatcher(readSetting())
  return match(ns)
}

/**
 * Whether a line of `level` in `namespace` passes `m`: lines under the namespace, errors also
 * under `<namespace>:error`, traces only under `<namespace>:trace`.
 */
export function lineEnabled(m: LogMatcher, namespace: string, level: LogLevel): boolean {
  if (level === 'trace') return m(`${namespace}:trace`)
  return m(namespace) || (level === 'error' && m(`${namespace}:error`))
}

type Sink = (namespace: string, level: LogLevel, formatter: string, args: unknown[]) => void

let sink: Sink = (namespace, level, formatter, args) => {
  const c = (globalThis as { console?: Console }).console
  if (c == null) return
  ;(level === 'error' ? c.error : c.debug).call(c, `${new Date().toISOString()} ${namespace} ${formatter}`, ...args)
}

/** Send log lines somewhere else (e.g. from a worker to its tabs). */
export function setLogSink(next: Sink): void {
  sink = next
}

/**
 * Write a line that was enabled and formatted elsewhere (a worker's line, forwarded to a tab)
 * through this context's sink, whatever this context's own setting.
 */
export function writeLog(namespace: string, level: LogLevel, text: string): void {
  sink(namespace, level, text.replace(/%/g, '%%'), [])
}

export function logger(namespace: string): Logger {
  const log = ((formatter: string, ...args: unknown[]) => {
    if (lineEnabled(isEnabled, namespace, 'log')) sink(namespace, 'log', formatter, args)
  }) as Logger
  log.error = (formatter: string, ...args: unknown[]) => {
    if (lineEnabled(isEnabled, namespace, 'error')) sink(namespace, 'error', formatter, args)
  }
  log.trace = (formatter: string, ...args: unknown[]) => {
    if (lineEnabled(isEnabled, namespace, 'trace')) sink(namespace, 'trace', formatter, args)
  }
  Object.defineProperty(log, 'enabled', { get: () => isEnabled(namespace) })
  Object.defineProperty(log, 'namespace', { value: namespace })
  return log
}

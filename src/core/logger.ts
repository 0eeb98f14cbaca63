/**
 * A tiny namespaced logger in the style of `debug`: `logger('weft:net:sync')`.
 * Enabled by the `DEBUG` environment variable in Node or `localStorage.debug` in browsers,
 * with comma-separated patterns and `*` wildcards (`weft:*`, `weft:net:*,-weft:net:push`).
 * Library code never calls `console` directly.
 */
export interface Logger {
  (formatter: string, ...args: unknown[]): void
  error(formatter: string, ...args: unknown[]): void
  trace(formatter: string, ...args: unknown[]): void
  readonly enabled: boolean
  readonly namespace: string
}

let patterns: { include: RegExp[]; exclude: RegExp[] } | undefined

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

function compile(setting: string): { include: RegExp[]; exclude: RegExp[] } {
  const include: RegExp[] = []
  const exclude: RegExp[] = []
  for (const raw of setting.split(/[\s,]+/)) {
    if (raw === '') continue
    const neg = raw.startsWith('-')
    const body = (neg ? raw.slice(1) : raw).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?')
    ;(neg ? exclude : include).push(new RegExp(`^${body}$`))
  }
  return { include, exclude }
}

/** Re-read the enablement setting (tests and the worker call this after changing it). */
export function enableLogging(setting?: string): void {
  patterns = compile(setting ?? readSetting())
}

function isEnabled(ns: string): boolean {
  patterns ??= compile(readSetting())
  if (patterns.exclude.some((r) => r.test(ns))) return false
  return patterns.include.some((r) => r.test(ns))
}

type Sink = (namespace: string, level: 'log' | 'error' | 'trace', formatter: string, args: unknown[]) => void

let sink: Sink = (namespace, level, formatter, args) => {
  const c = (globalThis as { console?: Console }).console
  if (c == null) return
  ;(level === 'error' ? c.error : c.debug).call(c, `${new Date().toISOString()} ${namespace} ${formatter}`, ...args)
}

/** Send log lines somewhere else (e.g. from a worker to its tabs). */
export function setLogSink(next: Sink): void {
  sink = next
}

export function logger(namespace: string): Logger {
  const log = ((formatter: string, ...args: unknown[]) => {
    if (isEnabled(namespace)) sink(namespace, 'log', formatter, args)
  }) as Logger
  log.error = (formatter: string, ...args: unknown[]) => {
    if (isEnabled(namespace) || isEnabled(`${namespace}:error`)) sink(namespace, 'error', formatter, args)
  }
  log.trace = (formatter: string, ...args: unknown[]) => {
    if (isEnabled(`${namespace}:trace`)) sink(namespace, 'trace', formatter, args)
  }
  Object.defineProperty(log, 'enabled', { get: () => isEnabled(namespace) })
  Object.defineProperty(log, 'namespace', { value: namespace })
  return log
}

/**
 * CPU time of the processes this one started (Linux `/proc`): what a benchmark reports beside its
 * wall-clock rate, since the machine's load inflates CPU per operation far less than the rate.
 */
import { readdir, readFile } from 'node:fs/promises'

export interface ProcCpuOptions {
  /**
   * Count only processes whose command line matches.
   * @default /chrom/i (Chromium's processes)
   */
  match?: RegExp
  /**
   * Key each process by its type and PID, not by its type alone.
   * @default false
   */
  byPid?: boolean
}

/**
 * CPU seconds (user + system) of every matching process below this one, by process type
 * (Chromium's `--type` or `--utility-sub-type`; `browser` for the browser process) and in all
 * (`all`). Processes that exited are not counted: take both samples while they run.
 */
export async function descendantsCpu(options: ProcCpuOptions = {}): Promise<Map<string, number>> {
  const match = options.match ?? /chrom/i
  const stats = new Map<number, { ppid: number; seconds: number; kind: string | undefined }>()
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      // Fields after the command name: state, ppid, …, utime (14th field), stime (15th), in ticks.
      const f = (await readFile(`/proc/${d}/stat`, 'utf8')).split(') ')[1]!.split(' ')
      const cmd = (await readFile(`/proc/${d}/cmdline`, 'utf8')).replaceAll('\0', ' ')
      const type = /--utility-sub-type=([\w.]+)/.exec(cmd)?.[1] ?? /--type=([\w-]+)/.exec(cmd)?.[1] ?? 'browser'
      const kind = match.test(cmd) ? (options.byPid === true ? `${type}:${d}` : type) : undefined
      stats.set(Number(d), { ppid: Number(f[1]), seconds: (Number(f[11]) + Number(f[12])) / 100, kind })
    } catch { /* exited meanwhile */ }
  }
  const below = (pid: number): boolean => {
    for (let p = stats.get(pid)?.ppid; p !== undefined && p > 1; p = stats.get(p)?.ppid) if (p === process.pid) return true
    return false
  }
  const out = new Map<string, number>([['all', 0]])
  for (const [pid, s] of stats) {
    if (s.kind === undefined || !below(pid)) continue
    out.set('all', out.get('all')! + s.seconds)
    out.set(s.kind, (out.get(s.kind) ?? 0) + s.seconds)
  }
  return out
}

/** Microseconds of CPU per operation between two samples, for `kind` (default: all). */
export function cpuPerOp(before: Map<string, number>, after: Map<string, number>, ops: number, kind = 'all'): number {
  return ((after.get(kind) ?? 0) - (before.get(kind) ?? 0)) * 1e6 / ops
}

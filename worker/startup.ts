/**
 * The worker's start-up timeline: when each step of starting the peer ended, in ms since the
 * epoch (`performance.timeOrigin + performance.now()`, comparable with a tab's clock), from the
 * moment the worker's script began to run. Reported to tabs in `peer.info` (`timings.startup`), so
 * a cold start can be split into its steps (bench/browser.ts).
 */

const now = (): number => performance.timeOrigin + performance.now()

/** The worker's own origin (its creation) and when its script began to run. */
const marks: Record<string, number> = { 'worker:created': performance.timeOrigin, 'worker:script': now() }

/** Note that `step` ended now (the first time only: a restarted peer keeps its first start's). */
export function mark(step: string): void {
  marks[step] ??= now()
}

/** Every step so far, in ms since the epoch. */
export function startupMarks(): Record<string, number> {
  return { ...marks }
}

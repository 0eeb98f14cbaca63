/**
 * A fresh peer in its own process (LevelDB in a temporary repo, as a real peer would have): join a
 * thread through an address, pull it all, report records, seconds, CPU seconds (main thread and
 * thread pool) and peak RSS (and the RSS before the join, which is the runtime's own share), with
 * the peaks of the JS heap and of memory outside it sampled every 50 ms.
 */
import '../src/platform/node-polyfills.js'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer } from '../src/node/peer.js'

const [address, key] = process.argv.slice(2)
const repo = await mkdtemp(join(tmpdir(), 'weft-catchup-'))
const peer = await createPeer({ repo, allowPrivateAddrs: true, syncIntervalMs: 0, ...JSON.parse(process.env.WEFT_CATCHUP_INIT ?? '{}') })
const mb = (bytes: number): number => bytes / 1024 / 1024
const baseRssMb = mb(process.memoryUsage().rss)
const baseHeapMb = mb(process.memoryUsage().heapUsed)
const peak = { heapUsedMb: 0, heapTotalMb: 0, externalMb: 0, arrayBuffersMb: 0, rssMb: 0 }
const sample = (): void => {
  const m = process.memoryUsage()
  peak.heapUsedMb = Math.max(peak.heapUsedMb, mb(m.heapUsed))
  peak.heapTotalMb = Math.max(peak.heapTotalMb, mb(m.heapTotal))
  peak.rssMb = Math.max(peak.rssMb, mb(m.rss))
  peak.externalMb = Math.max(peak.externalMb, mb(m.external))
  peak.arrayBuffersMb = Math.max(peak.arrayBuffersMb, mb(m.arrayBuffers))
}
const sampler = setInterval(sample, 50)
const t0 = performance.now()
const cpu0 = process.cpuUsage()
const info = await peer.net.addThread(address!, { threadKey: key! })
const seconds = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
clearInterval(sampler)
/** With --expose-gc: the live heap after the catch-up (what it keeps, not its garbage). */
const gc = (globalThis as { gc?: () => void }).gc
gc?.()
const liveHeapMb = gc == null ? undefined : mb(process.memoryUsage().heapUsed)
const records = info.logs.reduce((n, l) => n + l.head.counter, 0)
/**
 * This process's own peak RSS (Linux: VmHWM, its address space's high-water mark). Not
 * `resourceUsage().maxRSS`: on Linux that keeps the RSS of the parent at the time it forked this
 * process (the bench process, relay and writer, often larger than this one).
 */
async function peakRssMb(): Promise<number> {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'))
    if (m != null) return Number(m[1]) / 1024
  } catch { /* not Linux */ }
  return Math.max(peak.rssMb, mb(process.memoryUsage().rss))
}
const maxRssMb = await peakRssMb()
const rusageMaxRssMb = process.resourceUsage().maxRSS / 1024
await peer.stop()
await rm(repo, { recursive: true, force: true })
console.log(JSON.stringify({ records, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMb, rusageMaxRssMb, baseRssMb, baseHeapMb, ...peak, ...(liveHeapMb === undefined ? {} : { liveHeapMb }) }))

/**
 * A fresh peer in its own process (LevelDB in a temporary repo, as a real peer would have): join a
 * thread through an address, pull it all, report records, seconds and peak RSS (and the RSS before
 * the join, which is the runtime's own share).
 */
import '../src/platform/node-polyfills.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer } from '../src/node/peer.js'

const [address, key] = process.argv.slice(2)
const repo = await mkdtemp(join(tmpdir(), 'weft-catchup-'))
const peer = await createPeer({ repo, allowPrivateAddrs: true, syncIntervalMs: 0 })
const baseRssMb = process.memoryUsage().rss / 1024 / 1024
const t0 = performance.now()
const info = await peer.net.addThread(address!, { threadKey: key! })
const seconds = (performance.now() - t0) / 1000
const records = info.logs.reduce((n, l) => n + l.head.counter, 0)
await peer.stop()
await rm(repo, { recursive: true, force: true })
console.log(JSON.stringify({ records, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, baseRssMb }))

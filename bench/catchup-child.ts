/** A fresh peer in its own process: join a thread through an address, pull it all, report. */
import '../src/platform/node-polyfills.js'
import { createPeer } from '../src/node/peer.js'

const [address, key] = process.argv.slice(2)
const peer = await createPeer({ allowPrivateAddrs: true, syncIntervalMs: 0 })
const t0 = performance.now()
const info = await peer.net.addThread(address!, { threadKey: key! })
const seconds = (performance.now() - t0) / 1000
const records = info.logs.reduce((n, l) => n + l.head.counter, 0)
await peer.stop()
console.log(JSON.stringify({ records, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 }))

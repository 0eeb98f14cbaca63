import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDBManager, createSandbox, dbNetFromNet } from '../src/db/index.js'
import { createPeer } from '../src/node/peer.js'
import { PEOPLE } from './fixtures.js'
const person = (i: number): Record<string, unknown> => ({ name: `person ${i}`, email: `p${i}@example.com`, age: i % 90, city: `city-${i % 1000}` })
const dir = await mkdtemp(join(tmpdir(), 'weft-prof-'))
const sandbox = await createSandbox()
const peer = await createPeer({ repo: join(dir, 'peer'), allowPrivateAddrs: true, syncIntervalMs: 0 })
const manager = await createDBManager({ net: dbNetFromNet(peer.net, peer.logStore), kv: peer.kv, sandbox })
const db = await manager.newDB(undefined, { collections: [PEOPLE] })
for (let i = 0; i < 300; i++) await db.create('People', [person(-1 - i)])
const n = Number(process.env.N ?? 3000)
const conc = Number(process.env.C ?? 1)
const c0 = process.cpuUsage(); const t = performance.now()
let next = 0
await Promise.all(Array.from({ length: conc }, async () => { while (next < n) { const i = next++; await db.create('People', [person(i)]) } }))
const cpu = process.cpuUsage(c0)
console.log(JSON.stringify({ conc, perS: Math.round(n / ((performance.now() - t) / 1000)), cpuUsPerTxn: Math.round((cpu.user + cpu.system) / n) }))
await manager.close(); await peer.stop(); sandbox.dispose(); await rm(dir, { recursive: true, force: true })

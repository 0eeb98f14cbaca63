import { it, afterEach } from 'vitest'
import { randomBytes } from '../../src/core/bytes.js'
import { newThreadID } from '../../src/core/thread-id.js'
import { newThreadKey } from '../../src/core/thread-key.js'
import { startAttacker } from './attacker.js'
import { ForgedLog } from './forge.js'
import { HostileMember } from './member.js'
import { cleanupWorld, metric, startRelayProcess, diskBytes } from './world.js'
afterEach(async () => { await cleanupWorld() })
it('dbg', async () => {
  const relay = await startRelayProcess({ env: { WEFT_RELAY_MAX_THREAD_BYTES: String(40_000) } })
  const key = newThreadKey()
  const m = new HostileMember(await startAttacker({ ip: '127.0.0.2' }), newThreadID(), key)
  const logs = await Promise.all(Array.from({ length: 48 }, async () => { const l = await ForgedLog.create(key); await l.append({ body: randomBytes(10_000) }); return l }))
  await m.announce(relay.tcpAddr, logs[0]!.wire(), key.service)
  for (const l of logs) await m.announce(relay.tcpAddr, l.wire())
  const answers = await Promise.all(logs.map(async (l) => { const r = await m.push(relay.tcpAddr, l, 1, ); return r === 'closed' ? r : r.type === 'error' ? r.code : r.type }))
  console.log(answers.filter((a) => a === 'ok').length, await metric(relay, 'weft_relay_stored_bytes'), await diskBytes(relay.repo))
}, 120000)

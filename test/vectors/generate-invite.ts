/**
 * Test vectors of invites (docs/APP.md "Invites"): fixed invites in the compact form (`weft2.`)
 * and the first form (`weft1.`), from fixed thread IDs, keys and addresses.
 *
 *   npx tsx test/vectors/generate-invite.ts     # rewrites test/vectors/invite-v2.json
 *
 * `test/client/invite.test.ts` recomputes them and requires equality.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { toInvite, toInviteV1, type Invite } from '../../src/client/invite.js'
import { newThreadID, ThreadVariant } from '../../src/core/thread-id.js'
import { newThreadKey, threadKeyToString } from '../../src/core/thread-key.js'

const seq = (start: number) => (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff)

const thread = newThreadID(ThreadVariant.Raw, 32, seq(0x40))
const key = threadKeyToString(newThreadKey(seq(0x10)))
const relay = '/dns4/relay.example.com/tcp/443/wss/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const local = '/ip4/127.0.0.1/tcp/4007/ws/p2p/12D3KooWHFrmLWTTDD4NodngtRMEVYX9t6sjKLAXxXHVPavEqoEv'
const alice = '12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE'

export const invites: Array<{ what: string; invite: Invite }> = [
  {
    what: 'a board handed to a relay, with its creator behind the relay and on WebRTC',
    invite: {
      thread,
      key,
      name: 'Ana’s tasks',
      addrs: [
        `${relay}/thread/${thread}`,
        `${relay}/p2p-circuit/p2p/${alice}/thread/${thread}`,
        `${relay}/p2p-circuit/webrtc/p2p/${alice}/thread/${thread}`
      ]
    }
  },
  {
    what: 'a circuit through a relay that is not itself an address, and no name',
    invite: { thread, key, addrs: [`${local}/p2p-circuit/p2p/${alice}/thread/${thread}`] }
  },
  {
    what: 'an address without the thread tail, kept as it is',
    invite: { thread, key, name: '', addrs: [`${local}/thread/bafkother`] }
  }
]

export function vectors(): unknown {
  return {
    description: 'Invites (docs/APP.md "Invites"): each invite in the compact form toInvite makes (weft2) and in the first form (weft1); both decode to the invite.',
    vectors: invites.map(({ what, invite }) => ({ what, invite, weft2: toInvite({ id: invite.thread, key: invite.key, addrs: invite.addrs, ...(invite.name !== undefined ? { name: invite.name } : {}) }), weft1: toInviteV1(invite) }))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('./invite-v2.json', import.meta.url), `${JSON.stringify(vectors(), null, 2)}\n`)
}

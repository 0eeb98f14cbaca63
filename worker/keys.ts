/**
 * The peer's persistent secrets, in their own IndexedDB database (`<name>-peer`): the libp2p peer
 * key (so the peer ID survives reloads) and the default user identity (an Ed25519 key the peer
 * signs with on the user's behalf). Created on first start (both in one transaction), read on every
 * later one.
 */
import { generateKeyPair as generatePeerKey, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey as PeerKey } from '@libp2p/interface'
import { generateKeyPair, privateKeyFromBytes, privateKeyToBytes, type PrivateKey } from '../src/core/index.js'
import { idbStore } from '../src/store/idb.js'
import type { BatchOp } from '../src/store/kv.js'

const PEER_KEY = new TextEncoder().encode('peer-key')
const IDENTITY_KEY = new TextEncoder().encode('identity')

export interface PeerSecrets {
  peerKey: PeerKey
  identity: PrivateKey
}

export async function loadSecrets(name: string): Promise<PeerSecrets> {
  const kv = await idbStore({ name: `${name}-peer`, durability: 'strict' })
  try {
    const [peerBytes, identityBytes] = await kv.getMany([PEER_KEY, IDENTITY_KEY])
    const created: BatchOp[] = []
    let peerKey: PeerKey
    if (peerBytes != null) {
      peerKey = privateKeyFromProtobuf(peerBytes)
    } else {
      peerKey = await generatePeerKey('Ed25519')
      created.push({ type: 'put', key: PEER_KEY, value: privateKeyToProtobuf(peerKey) })
    }
    let identity: PrivateKey
    if (identityBytes != null) {
      identity = await privateKeyFromBytes(identityBytes)
    } else {
      identity = await generateKeyPair()
      created.push({ type: 'put', key: IDENTITY_KEY, value: privateKeyToBytes(identity) })
    }
    // A first start writes both keys in one (strict, so flushed) transaction.
    if (created.length > 0) await kv.batch(created)
    return { peerKey, identity }
  } finally {
    await kv.close()
  }
}

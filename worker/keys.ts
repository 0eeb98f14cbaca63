/**
 * The peer's persistent secrets, in their own IndexedDB database (`<name>-peer`): the libp2p peer
 * key (so the peer ID survives reloads) and the default user identity (an Ed25519 key the peer
 * signs with on the user's behalf). Created on first start, read on every later one.
 */
import { generateKeyPair as generatePeerKey, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey as PeerKey } from '@libp2p/interface'
import { generateKeyPair, privateKeyFromBytes, privateKeyToBytes, type PrivateKey } from '../src/core/index.js'
import { idbStore } from '../src/store/idb.js'

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
    let peerKey: PeerKey
    if (peerBytes != null) {
      peerKey = privateKeyFromProtobuf(peerBytes)
    } else {
      peerKey = await generatePeerKey('Ed25519')
      await kv.put(PEER_KEY, privateKeyToProtobuf(peerKey))
    }
    let identity: PrivateKey
    if (identityBytes != null) {
      identity = await privateKeyFromBytes(identityBytes)
    } else {
      identity = await generateKeyPair()
      await kv.put(IDENTITY_KEY, privateKeyToBytes(identity))
    }
    return { peerKey, identity }
  } finally {
    await kv.close()
  }
}

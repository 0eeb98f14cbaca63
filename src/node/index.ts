/**
 * Node embedding: a Weft peer in any Node program (`import { createPeer } from 'weftdb-node'`).
 */
import '../platform/node-polyfills.js'
export { createPeer } from './peer.js'
export type { Peer, PeerInit, RelayServerInit } from './peer.js'

/**
 * Further logs of ours in a thread (`net.addLog`): a log keyed with a given private key, writing as
 * its own key or — with a certificate — as another identity (go-threads writes each identity's
 * writes through its own log; a hub does the same). The certificate is checked before the log is
 * added, so a log of ours never writes records that other peers would refuse.
 */
import {
  logIDFromPublicKey, parseIdentity, privateKeyFromBytes, publicKeyFromBytes, UnprovenAuthorError, verifyAuthorCertificate, type PublicKey
} from '../core/index.js'
import { LogExistsError } from '../store/index.js'
import type { OwnLog, ThreadRegistry, ThreadState } from './registry.js'
import type { AddLogOptions } from './types.js'

function authorKey(author: Uint8Array | string): PublicKey {
  return typeof author === 'string' ? parseIdentity(author) : publicKeyFromBytes(author)
}

/** Add (or find) a log of ours keyed with `options.logKey`; `addrs` are our addresses for its signed list. */
export async function addLogTo(registry: ThreadRegistry, state: ThreadState, options: AddLogOptions, addrs: string[]): Promise<OwnLog> {
  const key = await privateKeyFromBytes(options.logKey)
  const id = logIDFromPublicKey(key.publicKey)
  const held = state.owns.get(id)
  if (held != null) return held
  if (state.logKeys.has(id)) throw new LogExistsError(`log ${id} is in the thread already, and it is not ours`)
  let author: { key: PublicKey; certificate: NonNullable<AddLogOptions['certificate']> } | undefined
  if (options.author != null) {
    const who = authorKey(options.author)
    if (!who.equals(key.publicKey)) {
      if (options.certificate == null) throw new UnprovenAuthorError('a log writing as another identity needs that identity\'s certificate for the log key')
      await verifyAuthorCertificate(who, key.publicKey, options.certificate)
      author = { key: who, certificate: options.certificate }
    }
  } else if (options.certificate != null) {
    throw new UnprovenAuthorError('a certificate goes with the author it proves')
  }
  return await registry.addOwnLog(state, key, addrs, author)
}

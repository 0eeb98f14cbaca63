/**
 * Multibase decoding for the string forms of IDs and keys: any base `multiformats` knows (except
 * the `identity` pseudo-base), selected by the prefix character, with a length bound checked
 * before any work. Encoding is always lower-case base32 (`b…`), the canonical form.
 */
import { bases } from 'multiformats/basics'
import { OversizedInputError } from './errors.js'
import type { WeftError } from './errors.js'

interface Decoder {
  decode(input: string): Uint8Array
}

const decoders = new Map<string, Decoder>()
for (const base of Object.values(bases)) {
  if (base.name === 'identity') continue
  decoders.set(base.prefix, base.decoder)
}

/** Canonical encoding: multibase base32, lower case, prefix `b`. */
export function encodeBase32(bytes: Uint8Array): string {
  return bases.base32.encode(bytes)
}

/**
 * Decode a multibase string. Throws {@link OversizedInputError} when `input` is longer than
 * `maxChars`, and the error built by `invalid` for anything else that is wrong (not a string,
 * empty, unknown prefix, characters outside the alphabet).
 */
export function decodeMultibase(
  input: unknown,
  maxChars: number,
  invalid: (message: string, cause?: unknown) => WeftError
): Uint8Array {
  if (typeof input !== 'string') throw invalid('expected a multibase string')
  if (input.length > maxChars) {
    throw new OversizedInputError(`multibase string of ${input.length} characters exceeds ${maxChars}`)
  }
  if (input.length < 2) throw invalid('multibase string is too short')
  const prefix = String.fromCodePoint(input.codePointAt(0) ?? 0)
  const decoder = decoders.get(prefix)
  if (decoder == null) throw invalid(`unknown multibase prefix ${JSON.stringify(prefix)}`)
  try {
    return decoder.decode(input)
  } catch (cause) {
    throw invalid('malformed multibase string', cause)
  }
}

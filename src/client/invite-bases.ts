/**
 * The two text encodings an invite's values come in, small enough for the tab's bundle: multibase
 * base32 (`b` + RFC 4648 lower case, no padding: thread IDs and keys) and base58btc (peer IDs,
 * without a multibase prefix). Decoders return undefined for text that is not canonical, so that
 * the compact invite reproduces the very text it was given.
 */
const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** `b` + base32 of `bytes`. */
export function base32Text(bytes: Uint8Array): string {
  let out = 'b'
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) { out += B32[(value >>> (bits - 5)) & 31]!; bits -= 5 }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31]!
  return out
}

/** The bytes of a canonical `b…` base32 text; undefined otherwise. */
export function base32Bytes(text: string): Uint8Array | undefined {
  if (!text.startsWith('b')) return undefined
  const out: number[] = []
  let bits = 0
  let value = 0
  for (let i = 1; i < text.length; i++) {
    const v = B32.indexOf(text[i]!)
    if (v < 0) return undefined
    value = ((value << 5) | v) & 0xffff
    bits += 5
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8 }
  }
  const bytes = Uint8Array.from(out)
  return base32Text(bytes) === text ? bytes : undefined
}

/** base58btc of `bytes` (no prefix). */
export function base58Text(bytes: Uint8Array): string {
  let zeros = 0
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++
  const digits: number[] = []
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i]!
    for (let j = 0; j < digits.length; j++) {
      carry += digits[j]! << 8
      digits[j] = carry % 58
      carry = Math.floor(carry / 58)
    }
    while (carry > 0) { digits.push(carry % 58); carry = Math.floor(carry / 58) }
  }
  return '1'.repeat(zeros) + digits.reverse().map((d) => B58[d]!).join('')
}

/** The bytes of a canonical base58btc text; undefined otherwise. */
export function base58Bytes(text: string): Uint8Array | undefined {
  let zeros = 0
  while (zeros < text.length && text[zeros] === '1') zeros++
  const bytes: number[] = []
  for (let i = zeros; i < text.length; i++) {
    let carry = B58.indexOf(text[i]!)
    if (carry < 0) return undefined
    for (let j = 0; j < bytes.length; j++) {
      carry += bytes[j]! * 58
      bytes[j] = carry & 0xff
      carry >>= 8
    }
    while (carry > 0) { bytes.push(carry & 0xff); carry >>= 8 }
  }
  const out = Uint8Array.from([...new Array<number>(zeros).fill(0), ...bytes.reverse()])
  return base58Text(out) === text ? out : undefined
}

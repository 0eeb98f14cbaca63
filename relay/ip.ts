/**
 * The "IP" that per-IP limits count by: an IPv4 address as is, an IPv6 address by its /64 prefix
 * (one host or home network is handed a whole /64, so counting single IPv6 addresses would let one
 * machine look like billions), an IPv4-mapped IPv6 address as its IPv4 address.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'

/** Expand an IPv6 address to its eight 16-bit groups. */
function ipv6Groups(ip: string): number[] {
  const [head = '', tail] = ip.split('::') as [string, string | undefined]
  const parse = (part: string): number[] => {
    if (part === '') return []
    const out: number[] = []
    for (const g of part.split(':')) {
      if (isIPv4(g)) {
        const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number]
        out.push((a << 8) | b, (c << 8) | d)
      } else {
        out.push(parseInt(g, 16))
      }
    }
    return out
  }
  const h = parse(head)
  const t = tail == null ? [] : parse(tail)
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t]
}

/** The key per-IP limits count by, for a plain IP address string (anything else is kept as is). */
export function ipKey(ip: string): string {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip
  if (isIPv4(bare)) return bare
  if (!isIPv6(bare)) return bare
  const g = ipv6Groups(bare.split('%')[0]!)
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`
  }
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`
}

/** The IP key of a multiaddr's first ip4/ip6 component, or '' when it has none (or does not parse). */
export function ipKeyOfMultiaddr(addr: string): string {
  try {
    for (const c of multiaddr(addr).getComponents()) {
      if ((c.name === 'ip4' || c.name === 'ip6') && c.value != null) return ipKey(c.value)
    }
  } catch {
    // not a multiaddr: no IP to count by
  }
  return ''
}

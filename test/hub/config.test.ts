/**
 * The hub's configuration: defaults like threadsd's, every bad variable reported at once, and
 * empty listener variables meaning "none".
 */
import { describe, expect, it } from 'vitest'
import { resolve } from 'node:path'
import { describeHubConfig, HUB_VARIABLES, hubListenAddrs, loadHubConfig } from '../../hub/config.js'
import { HubConfigError } from '../../hub/errors.js'
import { counterToBytes, threadAddrFromBytes, threadAddrToBytes } from '../../hub/codec.js'
import { InvalidRequestError } from '../../hub/errors.js'

describe('hub configuration', () => {
  it('defaults to gRPC on 127.0.0.1:6006, gRPC-Web and WebSocket on 127.0.0.1:6007 and the repo .weft/hub', () => {
    const c = loadHubConfig({})
    expect(c.grpc).toEqual({ host: '127.0.0.1', port: 6006 })
    expect(c.web).toEqual({ host: '127.0.0.1', port: 6007 })
    expect(c.http).toEqual({ host: '127.0.0.1', port: 6008 })
    expect(c.repo).toBe(resolve('.weft/hub'))
    expect(c.requireToken).toBe(false)
    expect(c.allowedOrigins).toEqual(['*'])
    expect(hubListenAddrs(c)).toEqual(['/ip4/0.0.0.0/tcp/4016', '/ip4/0.0.0.0/tcp/4017/ws'])
    expect(describeHubConfig(c).split('\n')).toHaveLength(HUB_VARIABLES.length)
  })

  it('reports every bad variable in one HubConfigError', () => {
    let err: unknown
    try {
      loadHubConfig({ WEFT_HUB_WEB: '127.0.0.1:99999', WEFT_HUB_TCP: '/ip4/1.2.3.4/udp/1', WEFT_HUB_REQUIRE_TOKEN: 'maybe', WEFT_HUB_RELAYS: '/ip4/1.2.3.4/tcp/1', WEFT_HUB_IDLE_TIMEOUT_MS: '5s' })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(HubConfigError)
    const problems = (err as HubConfigError).problems.map((p) => p.split('=')[0])
    expect(problems).toEqual(['WEFT_HUB_WEB', 'WEFT_HUB_TCP', 'WEFT_HUB_RELAYS', 'WEFT_HUB_REQUIRE_TOKEN', 'WEFT_HUB_IDLE_TIMEOUT_MS'])
  })

  it('refuses two APIs on one port', () => {
    expect(() => loadHubConfig({ WEFT_HUB_GRPC: '127.0.0.1:7000', WEFT_HUB_WEB: '127.0.0.1:7000' })).toThrow(HubConfigError)
  })

  it('takes an empty listener variable as none', () => {
    expect(hubListenAddrs(loadHubConfig({ WEFT_HUB_TCP: '', WEFT_HUB_WS: '' }))).toEqual([])
  })
})

describe('go-threads wire forms', () => {
  it('encodes a thread address with the thread component (code 406) as go-threads multiaddrs do', async () => {
    const { bytesFromAddr } = await import('@textile/multiaddr')
    const addr = '/ip4/127.0.0.1/tcp/4016/p2p/12D3KooWGuYW6znTacNUWXuU6frF8Td1DKugXzysPNabdgh97D2h/thread/bafkrlvywkq2j7ak4xlokchiegnljifp5w6syfhpfqrt4jljuhlk5pei'
    const ours = threadAddrToBytes(addr)
    expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(bytesFromAddr(addr)).toString('hex'))
    expect(threadAddrFromBytes(ours)).toBe(addr)
    expect(() => threadAddrFromBytes(ours.subarray(0, ours.byteLength - 1))).toThrow(InvalidRequestError)
  })

  it('writes a head counter as Go\'s binary.PutVarint into 8 bytes', () => {
    expect([...counterToBytes(0)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
    expect([...counterToBytes(1)]).toEqual([2, 0, 0, 0, 0, 0, 0, 0])
    expect([...counterToBytes(300)]).toEqual([0xd8, 0x04, 0, 0, 0, 0, 0, 0])
  })
})

/**
 * The tab side of the WebRTC bridge: the elected host tab owns real RTCPeerConnections for the
 * worker and moves data between their channels and the worker (rtc-protocol.browser.ts). Loaded
 * on demand by the client, only in the tab that wins the host election.
 */
import type { FromHost, PcState, ToHost } from './rtc-protocol.browser.js'

export interface RtcHost {
  receive(msg: ToHost): void
  /** Close every peer connection (the tab is leaving). */
  stop(): void
  readonly peerConnections: number
}

interface HostedPc {
  pc: RTCPeerConnection
  channels: Map<string, { ch: RTCDataChannel; passed: number; reported: number; scheduled: boolean }>
}

export function createRtcHost(post: (msg: FromHost, transfer?: Transferable[]) => void): RtcHost {
  const pcs = new Map<number, HostedPc>()
  let nextCh = 1

  const state = (pc: RTCPeerConnection): PcState => ({ c: pc.connectionState, i: pc.iceConnectionState, g: pc.iceGatheringState, s: pc.signalingState })

  function report(no: number, key: string): void {
    const entry = pcs.get(no)?.channels.get(key)
    if (entry == null) return
    entry.scheduled = false
    const drained = entry.passed - entry.ch.bufferedAmount
    if (drained === entry.reported) return
    entry.reported = drained
    post({ t: 'drained', pc: no, ch: key, drained })
  }

  function adopt(no: number, hosted: HostedPc, key: string, ch: RTCDataChannel): void {
    ch.binaryType = 'arraybuffer'
    ch.bufferedAmountLowThreshold = 0
    const entry = { ch, passed: 0, reported: 0, scheduled: false }
    hosted.channels.set(key, entry)
    ch.onopen = () => { post({ t: 'open', pc: no, ch: key, id: ch.id }) }
    ch.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
      const data = e.data
      post({ t: 'msg', pc: no, ch: key, data }, data instanceof ArrayBuffer ? [data] : [])
    }
    ch.onclose = () => {
      hosted.channels.delete(key)
      post({ t: 'dclosed', pc: no, ch: key })
    }
    ch.onerror = (e: Event) => {
      const err = (e as RTCErrorEvent).error
      post({ t: 'derr', pc: no, ch: key, message: err?.message ?? 'data channel error' })
    }
    ch.onbufferedamountlow = () => { report(no, key) }
  }

  function create(no: number, config: RTCConfiguration): void {
    let pc: RTCPeerConnection
    try {
      pc = new RTCPeerConnection(config)
    } catch (err) {
      post({ t: 'pcerr', pc: no, message: (err as Error).message })
      return
    }
    const hosted: HostedPc = { pc, channels: new Map() }
    pcs.set(no, hosted)
    pc.onicecandidate = (e) => { post({ t: 'cand', pc: no, cand: e.candidate?.toJSON() ?? null, s: state(pc) }) }
    pc.onconnectionstatechange = () => {
      post({ t: 'state', pc: no, s: state(pc) })
      if (pc.connectionState === 'closed' || pc.connectionState === 'failed') {
        pcs.delete(no)
        pc.close()
      }
    }
    pc.ondatachannel = (e) => {
      const key = `h${nextCh++}`
      adopt(no, hosted, key, e.channel)
      post({ t: 'ch', pc: no, ch: key, label: e.channel.label, protocol: e.channel.protocol, id: e.channel.id, readyState: e.channel.readyState, s: state(pc) })
    }
  }

  async function run(no: number, hosted: HostedPc, req: number, op: () => Promise<RTCSessionDescriptionInit | undefined>): Promise<void> {
    try {
      const value = await op()
      post({ t: 'reply', pc: no, req, ok: true, ...(value != null ? { value: { type: value.type, sdp: value.sdp ?? '' } } : {}), s: state(hosted.pc) })
    } catch (err) {
      const e = err as Error
      post({ t: 'reply', pc: no, req, ok: false, error: { name: e.name, message: e.message }, s: state(hosted.pc) })
    }
  }

  return {
    get peerConnections() { return pcs.size },
    receive(msg) {
      if (msg.t === 'welcome') return
      if (msg.t === 'pc') { create(msg.pc, msg.config); return }
      const hosted = pcs.get(msg.pc)
      if (hosted == null) return
      const { pc } = hosted
      switch (msg.t) {
        case 'dc': {
          let ch: RTCDataChannel
          try {
            ch = pc.createDataChannel(msg.label, msg.init)
          } catch (err) {
            post({ t: 'derr', pc: msg.pc, ch: msg.ch, message: (err as Error).message })
            post({ t: 'dclosed', pc: msg.pc, ch: msg.ch })
            return
          }
          adopt(msg.pc, hosted, msg.ch, ch)
          return
        }
        case 'call': {
          const { op, arg } = msg
          void run(msg.pc, hosted, msg.req, async () => {
            switch (op) {
              case 'createOffer': return await pc.createOffer()
              case 'createAnswer': return await pc.createAnswer()
              case 'setLocalDescription': await pc.setLocalDescription(arg); return undefined
              case 'setRemoteDescription': await pc.setRemoteDescription(arg!); return undefined
            }
          })
          return
        }
        case 'ice':
          pc.addIceCandidate(msg.cand).catch(() => { /* a bad candidate is not fatal */ })
          return
        case 'send': {
          const entry = hosted.channels.get(msg.ch)
          if (entry == null || entry.ch.readyState !== 'open') return
          try {
            if (typeof msg.data === 'string') {
              entry.ch.send(msg.data)
              entry.passed += msg.data.length
            } else {
              entry.ch.send(msg.data)
              entry.passed += msg.data.byteLength
            }
          } catch (err) {
            post({ t: 'derr', pc: msg.pc, ch: msg.ch, message: (err as Error).message })
            return
          }
          if (!entry.scheduled) {
            entry.scheduled = true
            setTimeout(() => { report(msg.pc, msg.ch) }, 0)
          }
          return
        }
        case 'dclose':
          hosted.channels.get(msg.ch)?.ch.close()
          return
        case 'close':
          pcs.delete(msg.pc)
          pc.close()
          return
        default:
      }
    },
    stop() {
      for (const { pc } of pcs.values()) pc.close()
      pcs.clear()
    }
  }
}

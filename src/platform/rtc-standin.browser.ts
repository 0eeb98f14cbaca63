/**
 * Worker-side stand-ins for RTCPeerConnection, RTCDataChannel, RTCSessionDescription and
 * RTCIceCandidate, driven by a host tab that owns the real ones (rtc-protocol.browser.ts).
 * Written against the members @libp2p/webrtc 6.0.33 touches (private-to-private/*, muxer,
 * stream, rtcpeerconnection-to-conn, util): pinned, because these stand-ins depend on them. With
 * `strict`, every stand-in is wrapped in a Proxy that throws on an unknown member, so an upgrade
 * of @libp2p/webrtc that needs more fails loudly in the tests.
 *
 * Deliberate differences from a naive proxy (each found necessary, see PLATFORM.md):
 * - `addIceCandidate` resolves at once and does not wait for the host: waiting let `connected`,
 *   `open` and `close` overtake the reply and the dialler waited forever for `open`;
 * - the death of the host *fires* `failed` on every peer connection and `close` on every channel;
 * - a peer connection `disconnected` for longer than `disconnectedMs` is failed (the remote of a
 *   dead host otherwise keeps a dead connection for 7–10 s and dials reuse it);
 * - `bufferedAmount` is modelled here (bytes sent minus bytes the host reports drained), which
 *   keeps libp2p's back-pressure honest across the port.
 */
import type { FromHost, PcOp, PcState, ToHost } from './rtc-protocol.browser.js'

type Listener = ((evt: StandInEvent) => void) | { handleEvent: (evt: StandInEvent) => void }

export interface StandInEvent {
  type: string
  target: unknown
  [key: string]: unknown
}

/** A minimal EventTarget with `on<type>` handler properties (enough for p-event and libp2p). */
class Emitter {
  #listeners = new Map<string, Array<{ fn: Listener; once: boolean }>>()

  addEventListener(type: string, fn: Listener | null, options?: boolean | { once?: boolean }): void {
    if (fn == null) return
    const list = this.#listeners.get(type) ?? []
    if (list.some((l) => l.fn === fn)) return
    list.push({ fn, once: typeof options === 'object' && options.once === true })
    this.#listeners.set(type, list)
  }

  removeEventListener(type: string, fn: Listener | null): void {
    const list = this.#listeners.get(type)
    if (list == null) return
    const i = list.findIndex((l) => l.fn === fn)
    if (i >= 0) list.splice(i, 1)
  }

  /** Fire `type`: the `on<type>` handler first, then the listeners. */
  protected emit(type: string, props: Record<string, unknown> = {}): void {
    const evt: StandInEvent = { ...props, type, target: this }
    const handler = (this as unknown as Record<string, unknown>)[`on${type}`]
    if (typeof handler === 'function') call(handler as (e: StandInEvent) => void, evt)
    for (const l of [...(this.#listeners.get(type) ?? [])]) {
      if (l.once) this.removeEventListener(type, l.fn)
      call(typeof l.fn === 'function' ? l.fn : (e) => { (l.fn as { handleEvent: (e: StandInEvent) => void }).handleEvent(e) }, evt)
    }
  }

  dispatchEvent(evt: { type: string }): boolean {
    this.emit(evt.type, evt as Record<string, unknown>)
    return true
  }
}

function call(fn: (e: StandInEvent) => void, evt: StandInEvent): void {
  try {
    const r = fn(evt) as unknown
    if (r instanceof Promise) r.catch((err: unknown) => { reportError(err) })
  } catch (err) {
    reportError(err)
  }
}

function reportError(err: unknown): void {
  // An event handler threw: like the platform, do not break the dispatch; surface it async.
  setTimeout(() => { throw err }, 0)
}

/** Members code probes for without needing them (feature tests, thenables, emitter styles). */
const PROBED = new Set(['then', 'toJSON', 'on', 'off', 'addListener', 'removeListener', 'asymmetricMatch', 'nodeType'])

function strictProxy<T extends object>(target: T, what: string, strict: boolean): T {
  if (!strict) return target
  return new Proxy(target, {
    get(t, p) {
      if (typeof p === 'string' && !(p in t) && !PROBED.has(p)) {
        throw new TypeError(`${what} stand-in has no member "${p}" (did @libp2p/webrtc change?)`)
      }
      const v = Reflect.get(t, p) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v
    },
    set(t, p, v) {
      return Reflect.set(t, p, v)
    }
  })
}

export class StandInSessionDescription {
  readonly type: RTCSdpType
  readonly sdp: string
  constructor(init: RTCSessionDescriptionInit) {
    this.type = init.type
    this.sdp = init.sdp ?? ''
  }

  toJSON(): RTCSessionDescriptionInit {
    return { type: this.type, sdp: this.sdp }
  }
}

export class StandInIceCandidate {
  readonly candidate: string
  readonly sdpMid: string | null
  readonly sdpMLineIndex: number | null
  readonly usernameFragment: string | null
  constructor(init: RTCIceCandidateInit = {}) {
    this.candidate = init.candidate ?? ''
    this.sdpMid = init.sdpMid ?? null
    this.sdpMLineIndex = init.sdpMLineIndex ?? null
    this.usernameFragment = init.usernameFragment ?? null
  }

  toJSON(): RTCIceCandidateInit {
    return { candidate: this.candidate, sdpMid: this.sdpMid, sdpMLineIndex: this.sdpMLineIndex, usernameFragment: this.usernameFragment }
  }
}

/** The host a stand-in talks to: posts to its tab; `id` changes with every new host. */
export interface HostHandle {
  readonly id: string
  post(msg: ToHost, transfer?: Transferable[]): void
}

export interface BridgeInit {
  /** Fail a peer connection that stays `disconnected` this long (ms). @default 1500 */
  disconnectedMs?: number
  /** Throw on members the stand-ins do not implement. @default false */
  strict?: boolean
}

export interface RtcBridge {
  readonly hasHost: boolean
  /** A tab became host. Replaces (and fails the connections of) any previous host. */
  setHost(host: HostHandle): void
  /** The host `id` is gone: fire `failed` on its peer connections. */
  dropHost(id: string): void
  /** A message from host `id`. */
  receive(id: string, msg: FromHost): void
  /** Called with true/false when a host arrives/leaves. */
  onHostChange(fn: (present: boolean) => void): () => void
  /** Open peer connections (for tests and status). */
  readonly peerConnections: number
  readonly classes: {
    RTCPeerConnection: new (config?: RTCConfiguration) => unknown
    RTCSessionDescription: typeof StandInSessionDescription
    RTCIceCandidate: typeof StandInIceCandidate
  }
}

export function createRtcBridge(init: BridgeInit = {}): RtcBridge {
  const disconnectedMs = init.disconnectedMs ?? 1500
  const strict = init.strict ?? false
  let host: HostHandle | undefined
  let nextPc = 1
  const pcs = new Map<number, StandInPeerConnection>()
  const watchers = new Set<(present: boolean) => void>()

  class StandInDataChannel extends Emitter {
    readonly label: string
    readonly protocol: string
    readonly ordered = true
    readonly negotiated = false
    readonly maxRetransmits = null
    readonly maxPacketLifeTime = null
    id: number | null
    readyState: RTCDataChannelState
    binaryType: BinaryType = 'arraybuffer'
    bufferedAmountLowThreshold = 0
    onopen: ((e: StandInEvent) => void) | null = null
    onclose: ((e: StandInEvent) => void) | null = null
    onclosing: ((e: StandInEvent) => void) | null = null
    onerror: ((e: StandInEvent) => void) | null = null
    onmessage: ((e: StandInEvent) => void) | null = null
    onbufferedamountlow: ((e: StandInEvent) => void) | null = null
    #sent = 0
    #drained = 0

    constructor(readonly pc: StandInPeerConnection, readonly key: string, label: string, protocol: string, id: number | null, state: RTCDataChannelState) {
      super()
      this.label = label
      this.protocol = protocol
      this.id = id
      this.readyState = state
    }

    get bufferedAmount(): number {
      return this.#sent - this.#drained
    }

    send(data: ArrayBuffer | ArrayBufferView | string | Blob): void {
      if (this.readyState !== 'open') throw new DOMException(`RTCDataChannel.readyState is '${this.readyState}'`, 'InvalidStateError')
      if (typeof data === 'string') {
        this.#sent += data.length
        this.pc.post({ t: 'send', pc: this.pc.no, ch: this.key, data })
        return
      }
      if (data instanceof Blob) throw new TypeError('Blob sends are not supported by the stand-in')
      const view = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      const copy = new Uint8Array(view.byteLength)
      copy.set(view)
      this.#sent += copy.byteLength
      this.pc.post({ t: 'send', pc: this.pc.no, ch: this.key, data: copy.buffer }, [copy.buffer])
    }

    close(): void {
      if (this.readyState === 'closing' || this.readyState === 'closed') return
      this.readyState = 'closing'
      this.pc.post({ t: 'dclose', pc: this.pc.no, ch: this.key })
    }

    /** The host says this many bytes in total left its buffer. */
    drained(total: number): void {
      const before = this.bufferedAmount
      this.#drained = Math.min(total, this.#sent)
      if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) this.emit('bufferedamountlow')
    }

    opened(id: number | null): void {
      if (id != null) this.id = id
      if (this.readyState !== 'connecting') return
      this.readyState = 'open'
      this.emit('open')
    }

    message(data: ArrayBuffer | string): void {
      if (this.readyState === 'closed') return
      this.emit('message', { data })
    }

    closed(): void {
      if (this.readyState === 'closed') return
      this.readyState = 'closed'
      this.#drained = this.#sent
      this.emit('close')
      this.pc.channels.delete(this.key)
    }

    failed(message: string): void {
      this.emit('error', { error: new DOMException(message, 'OperationError') })
    }
  }

  class StandInPeerConnection extends Emitter {
    readonly no: number
    connectionState: RTCPeerConnectionState = 'new'
    iceConnectionState: RTCIceConnectionState = 'new'
    iceGatheringState: RTCIceGatheringState = 'new'
    signalingState: RTCSignalingState = 'stable'
    localDescription: StandInSessionDescription | null = null
    remoteDescription: StandInSessionDescription | null = null
    onicecandidate: ((e: StandInEvent) => void) | null = null
    onicecandidateerror: ((e: StandInEvent) => void) | null = null
    onconnectionstatechange: ((e: StandInEvent) => void) | null = null
    oniceconnectionstatechange: ((e: StandInEvent) => void) | null = null
    ondatachannel: ((e: StandInEvent) => void) | null = null
    onnegotiationneeded: ((e: StandInEvent) => void) | null = null
    onsignalingstatechange: ((e: StandInEvent) => void) | null = null
    readonly channels = new Map<string, StandInDataChannel>()
    readonly host: HostHandle | undefined
    #nextReq = 1
    #nextCh = 1
    #pending = new Map<number, { resolve: (v: RTCSessionDescriptionInit | undefined) => void; reject: (e: Error) => void }>()
    #dispatched: RTCPeerConnectionState = 'new'
    #disconnectedTimer: ReturnType<typeof setTimeout> | undefined

    constructor(config: RTCConfiguration = {}) {
      super()
      this.no = nextPc++
      this.host = host
      pcs.set(this.no, this)
      if (this.host == null) {
        // No tab can host WebRTC right now: behave like a connection that failed at once.
        queueMicrotask(() => { this.fail('no tab hosts WebRTC for the worker') })
      } else {
        this.post({ t: 'pc', pc: this.no, config: { iceServers: config.iceServers ?? [], ...(config.iceTransportPolicy != null ? { iceTransportPolicy: config.iceTransportPolicy } : {}) } })
      }
      return strictProxy(this, 'RTCPeerConnection', strict)
    }

    post(msg: ToHost, transfer?: Transferable[]): void {
      if (this.connectionState === 'closed' || this.host == null || this.host !== host) return
      this.host.post(msg, transfer)
    }

    createDataChannel(label: string, init: RTCDataChannelInit = {}): StandInDataChannel {
      if (this.connectionState === 'closed') throw new DOMException('RTCPeerConnection is closed', 'InvalidStateError')
      const key = `w${this.#nextCh++}`
      const channel = strictProxy(new StandInDataChannel(this, key, label, init.protocol ?? '', null, 'connecting'), 'RTCDataChannel', strict)
      this.channels.set(key, channel)
      this.post({ t: 'dc', pc: this.no, ch: key, label, init })
      return channel
    }

    #call(op: PcOp, arg?: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit | undefined> {
      if (this.connectionState === 'closed') return Promise.reject(new DOMException('RTCPeerConnection is closed', 'InvalidStateError'))
      if (this.host == null || this.host !== host || this.connectionState === 'failed') {
        return Promise.reject(new DOMException('the WebRTC host tab is gone', 'InvalidStateError'))
      }
      const req = this.#nextReq++
      return new Promise((resolve, reject) => {
        this.#pending.set(req, { resolve, reject })
        this.post({ t: 'call', pc: this.no, req, op, ...(arg != null ? { arg } : {}) })
      })
    }

    async createOffer(): Promise<StandInSessionDescription> {
      return new StandInSessionDescription((await this.#call('createOffer'))!)
    }

    async createAnswer(): Promise<StandInSessionDescription> {
      return new StandInSessionDescription((await this.#call('createAnswer'))!)
    }

    async setLocalDescription(desc?: RTCSessionDescriptionInit): Promise<void> {
      const plain = desc != null ? { type: desc.type, sdp: desc.sdp ?? '' } : undefined
      await this.#call('setLocalDescription', plain)
      if (plain != null) this.localDescription = new StandInSessionDescription(plain)
    }

    async setRemoteDescription(desc: RTCSessionDescriptionInit): Promise<void> {
      const plain = { type: desc.type, sdp: desc.sdp ?? '' }
      await this.#call('setRemoteDescription', plain)
      this.remoteDescription = new StandInSessionDescription(plain)
    }

    async addIceCandidate(cand?: RTCIceCandidateInit | StandInIceCandidate | null): Promise<void> {
      // Deliberately not awaiting the host (see the file comment).
      if (cand == null) return
      const init = cand instanceof StandInIceCandidate ? cand.toJSON() : { ...cand }
      this.post({ t: 'ice', pc: this.no, cand: init })
    }

    close(): void {
      if (this.connectionState === 'closed') return
      this.post({ t: 'close', pc: this.no })
      this.#shut('closed')
      // Like Chromium, a local close() sets `closed` without a connectionstatechange event.
      this.#dispatched = 'closed'
    }

    /** End the connection: pending calls reject, channels close (with events), the state is set. */
    #shut(state: 'closed' | 'failed', message = 'the peer connection closed'): void {
      clearTimeout(this.#disconnectedTimer)
      this.connectionState = state
      this.iceConnectionState = state === 'closed' ? 'closed' : 'failed'
      if (state === 'closed') this.signalingState = 'closed'
      pcs.delete(this.no)
      for (const p of this.#pending.values()) p.reject(new DOMException(message, 'InvalidStateError'))
      this.#pending.clear()
      const channels = [...this.channels.values()]
      queueMicrotask(() => { for (const ch of channels) ch.closed() })
    }

    /** Fire `failed` (the host died, or never existed). */
    fail(message: string): void {
      if (this.connectionState === 'closed' || this.connectionState === 'failed') return
      this.#shut('failed', message)
      this.#dispatchState()
    }

    #dispatchState(): void {
      if (this.#dispatched === this.connectionState) return
      this.#dispatched = this.connectionState
      this.emit('connectionstatechange')
      if (this.connectionState === 'disconnected') {
        clearTimeout(this.#disconnectedTimer)
        this.#disconnectedTimer = setTimeout(() => {
          if (this.connectionState !== 'disconnected') return
          this.post({ t: 'close', pc: this.no })
          this.fail('disconnected for too long')
        }, disconnectedMs)
      }
    }

    apply(s: PcState): void {
      if (this.connectionState === 'closed' || this.connectionState === 'failed') return
      this.connectionState = s.c
      this.iceConnectionState = s.i
      this.iceGatheringState = s.g
      this.signalingState = s.s
    }

    receive(msg: FromHost): void {
      if ('s' in msg) this.apply(msg.s)
      switch (msg.t) {
        case 'reply': {
          const p = this.#pending.get(msg.req)
          this.#pending.delete(msg.req)
          if (p == null) return
          if (msg.ok) p.resolve(msg.value)
          else p.reject(new DOMException(msg.error?.message ?? 'failed', msg.error?.name ?? 'OperationError'))
          return
        }
        case 'state':
          if (msg.s.c === 'failed' || msg.s.c === 'closed') {
            this.#shut(msg.s.c === 'failed' ? 'failed' : 'closed')
          }
          this.#dispatchState()
          return
        case 'cand': {
          const candidate = msg.cand == null ? null : new StandInIceCandidate(msg.cand)
          this.emit('icecandidate', { candidate })
          return
        }
        case 'ch': {
          const channel = strictProxy(new StandInDataChannel(this, msg.ch, msg.label, msg.protocol, msg.id, msg.readyState), 'RTCDataChannel', strict)
          this.channels.set(msg.ch, channel)
          this.emit('datachannel', { channel })
          return
        }
        case 'open': this.channels.get(msg.ch)?.opened(msg.id); return
        case 'msg': this.channels.get(msg.ch)?.message(msg.data); return
        case 'dclosed': this.channels.get(msg.ch)?.closed(); return
        case 'derr': this.channels.get(msg.ch)?.failed(msg.message); return
        case 'drained': this.channels.get(msg.ch)?.drained(msg.drained); return
        case 'pcerr': this.fail(msg.message); return
        default:
      }
    }
  }

  function notify(present: boolean): void {
    for (const w of watchers) w(present)
  }

  return {
    get hasHost() { return host != null },
    get peerConnections() { return pcs.size },
    setHost(next) {
      const previous = host
      host = next
      if (previous != null && previous.id !== next.id) {
        for (const pc of [...pcs.values()]) if (pc.host === previous) pc.fail('the WebRTC host tab changed')
      }
      next.post({ t: 'welcome', host: next.id })
      notify(true)
    },
    dropHost(id) {
      if (host?.id !== id) return
      const gone = host
      host = undefined
      for (const pc of [...pcs.values()]) if (pc.host === gone) pc.fail('the WebRTC host tab is gone')
      notify(false)
    },
    receive(id, msg) {
      if (msg.t === 'hello' || msg.t === 'bye') return
      const pc = pcs.get(msg.pc)
      if (pc == null || pc.host?.id !== id) return
      pc.receive(msg)
    },
    onHostChange(fn) {
      watchers.add(fn)
      return () => { watchers.delete(fn) }
    },
    classes: {
      RTCPeerConnection: StandInPeerConnection,
      RTCSessionDescription: StandInSessionDescription,
      RTCIceCandidate: StandInIceCandidate
    }
  }
}

/**
 * Put the stand-ins on `globalThis` where the platform has no RTCPeerConnection (workers). Must
 * run before @libp2p/webrtc is evaluated: it binds `globalThis.RTCPeerConnection` at load.
 * Returns false (and installs nothing) where a real RTCPeerConnection exists.
 */
export function installRtcStandIns(bridge: RtcBridge): boolean {
  const g = globalThis as Record<string, unknown>
  if (typeof g.RTCPeerConnection === 'function') return false
  g.RTCPeerConnection = bridge.classes.RTCPeerConnection
  g.RTCSessionDescription = bridge.classes.RTCSessionDescription
  g.RTCIceCandidate = bridge.classes.RTCIceCandidate
  return true
}

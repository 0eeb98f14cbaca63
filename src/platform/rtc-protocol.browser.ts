/**
 * The WebRTC host bridge protocol. Chromium has no RTCPeerConnection in workers, so one tab (the
 * host, elected with navigator.locks) owns the real peer connections and the worker drives them
 * through stand-ins (rtc-standin.browser.ts) over the tab's link. Messages are tagged by peer
 * connection id (`pc`, chosen by the worker) and channel key (`ch`: `w<n>` for channels the worker
 * created, `h<n>` for channels the remote opened). Every host → worker message about a peer
 * connection carries a snapshot of its state (`s`), applied before the event is dispatched, so
 * synchronous reads of `connectionState` inside handlers match the native order.
 */

/** Snapshot of a real RTCPeerConnection's states. */
export interface PcState {
  c: RTCPeerConnectionState
  i: RTCIceConnectionState
  g: RTCIceGatheringState
  s: RTCSignalingState
}

export type PcOp = 'createOffer' | 'createAnswer' | 'setLocalDescription' | 'setRemoteDescription'

/** worker → host */
export type ToHost =
  | { t: 'welcome'; host: string }
  | { t: 'pc'; pc: number; config: RTCConfiguration }
  | { t: 'dc'; pc: number; ch: string; label: string; init: RTCDataChannelInit }
  | { t: 'call'; pc: number; req: number; op: PcOp; arg?: RTCSessionDescriptionInit }
  | { t: 'ice'; pc: number; cand: RTCIceCandidateInit }
  | { t: 'close'; pc: number }
  | { t: 'send'; pc: number; ch: string; data: ArrayBuffer | string }
  | { t: 'dclose'; pc: number; ch: string }

/** host → worker */
export type FromHost =
  | { t: 'hello'; host: string }
  | { t: 'bye'; host: string }
  | { t: 'reply'; pc: number; req: number; ok: boolean; value?: RTCSessionDescriptionInit; error?: { name: string; message: string }; s: PcState }
  | { t: 'state'; pc: number; s: PcState }
  | { t: 'cand'; pc: number; cand: RTCIceCandidateInit | null; s: PcState }
  | { t: 'ch'; pc: number; ch: string; label: string; protocol: string; id: number | null; readyState: RTCDataChannelState; s: PcState }
  | { t: 'open'; pc: number; ch: string; id: number | null }
  | { t: 'msg'; pc: number; ch: string; data: ArrayBuffer | string }
  | { t: 'dclosed'; pc: number; ch: string }
  | { t: 'derr'; pc: number; ch: string; message: string }
  | { t: 'drained'; pc: number; ch: string; drained: number }
  | { t: 'pcerr'; pc: number; message: string }

/**
 * One WebRTC link to one remote peer: an `RTCPeerConnection` with one ordered binary data channel,
 * reused for every content item both peers share.
 *
 * - The `RTCPeerConnection` constructor is injected: browsers pass theirs, the Node supernode passes
 *   `node-datachannel/polyfill`'s. Only the classic offer/answer calls are used (explicit
 *   `createOffer`/`createAnswer`, no implicit rollback, no `negotiationneeded`), which both support.
 * - Glare (both peers offer at once) is settled by replacement: the polite peer (the larger id)
 *   drops its own connection and answers the remote offer; the impolite peer ignores the remote
 *   offer and waits for the answer to its own. Same outcome as W3C "perfect negotiation", without
 *   needing rollback support.
 * - ICE candidates that arrive before the remote description is set are queued. We track that with
 *   our own flag: node-datachannel's `remoteDescription` is always truthy.
 * - Message handlers are attached synchronously when the channel is created or announced
 *   (`ondatachannel`): frames sent right after `open` are otherwise lost.
 * - Backpressure: `send()` waits while `bufferedAmount` is above a high-water mark and resumes on
 *   `bufferedamountlow`.
 */
import type { SignalData } from "../protocol/swarm-protocol";
import { decodeFrame, FrameError, type Frame } from "../protocol/peer-frames";
import { candidateTypeOf, type LinkFacts } from "./peer-diagnostics";

/** The `RTCPeerConnection` constructor to use (browser's or a polyfill's). */
export type RTCPeerConnectionCtor = new (config?: RTCConfiguration) => RTCPeerConnection;

/** Buffered bytes above which `send()` waits (the bench's raw baseline uses the same marks). */
export const SEND_HIGH_WATER = 1024 * 1024;
/** `bufferedamountlow` fires below this. */
export const SEND_LOW_WATER = 256 * 1024;
/** Most remote ICE candidates queued before the remote description is set. */
const MAX_QUEUED_CANDIDATES = 64;

export interface PeerLinkOptions {
  localId: string;
  remoteId: string;
  RTCPeerConnection: RTCPeerConnectionCtor;
  iceServers?: RTCIceServer[];
  /** Sends a signal to the remote peer through the coordinator. */
  signal(data: SignalData): void;
  onOpen(link: PeerLink): void;
  onFrame(frame: Frame, link: PeerLink): void;
  /** Called once when the link closes: "timeout", "ice-failed", "channel-closed", "protocol", "local", … */
  onClose(reason: string, link: PeerLink): void;
  /** Give up when the channel is not open after this long, ms. Default 15000. */
  connectTimeoutMs?: number;
}

/**
 * A link to one remote peer.
 *
 * @example
 * const link = new PeerLink({ localId, remoteId, RTCPeerConnection, signal, onOpen, onFrame, onClose });
 * link.connect();                       // we offer; or feed the remote's offer to handleSignal()
 * swarmSocket.onSignal = (d) => link.handleSignal(d);
 */
export class PeerLink {
  /** "connecting" until the data channel opens; "closed" is final. */
  state: "connecting" | "open" | "closed" = "connecting";
  readonly remoteId: string;
  /** The larger id is polite: it yields in a glare. */
  readonly polite: boolean;
  private pc: RTCPeerConnection | undefined;
  private dc: RTCDataChannel | undefined;
  private offering = false;
  private remoteSet = false;
  private candidates: RTCIceCandidateInit[] = [];
  private lowWaiters: (() => void)[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: ReturnType<typeof setTimeout>;
  /** Which side's offer the current connection answers (diagnostics). */
  offeredBy: "local" | "remote" = "local";
  /** `iceConnectionState` when it last changed. */
  iceState = "new";
  /** What `diagnose()` needs to say why the link ended (peer-diagnostics.ts `endReason`). */
  readonly facts: LinkFacts = { opened: false, local: {}, remote: 0, iceTransportPolicy: "all" };

  constructor(private readonly o: PeerLinkOptions) {
    this.remoteId = o.remoteId;
    this.polite = o.localId > o.remoteId;
    this.timer = setTimeout(() => this.state === "connecting" && this.close("timeout"), o.connectTimeoutMs ?? 15_000);
  }

  /** Starts the connection as the offering side. */
  connect(): void {
    this.enqueue(async () => {
      if (this.pc) return;
      const pc = this.newPc();
      this.offering = true;
      this.offeredBy = "local";
      this.attach(pc.createDataChannel("edgeswarm", { ordered: true }));
      const offer = await pc.createOffer();
      if (!this.isCurrent(pc)) return;
      await pc.setLocalDescription(offer);
      if (this.isCurrent(pc)) this.o.signal({ description: { type: "offer", sdp: offer.sdp ?? "" } });
    });
  }

  /** False once a glare or restart replaced `pc` (async steps check it after each await). */
  private isCurrent(pc: RTCPeerConnection): boolean {
    return pc === this.pc && this.state !== "closed";
  }

  /** Feeds a signal relayed from the remote peer. Signals are processed one at a time, in order. */
  handleSignal(data: SignalData): void {
    this.enqueue(() => this.onSignal(data));
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(() => (this.state === "closed" ? undefined : task())).catch((e: unknown) => {
      this.close(`signal-error: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  private async onSignal(data: SignalData): Promise<void> {
    const d = data.description;
    if (d?.type === "offer") {
      if (this.pc && this.offering && !this.remoteSet) {
        if (!this.polite) return; // glare: the remote yields and answers our offer
        this.dropPc();
      } else if (this.pc) {
        this.dropPc(); // the remote started over (e.g. restarted its connection): follow it
      }
      const pc = this.newPc();
      this.offeredBy = "remote";
      await pc.setRemoteDescription({ type: "offer", sdp: d.sdp ?? "" });
      this.remoteSet = true;
      await this.flushCandidates(pc);
      const answer = await pc.createAnswer();
      if (!this.isCurrent(pc)) return;
      await pc.setLocalDescription(answer);
      if (this.isCurrent(pc)) this.o.signal({ description: { type: "answer", sdp: answer.sdp ?? "" } });
    } else if (d?.type === "answer") {
      const pc = this.pc;
      if (!pc || !this.offering || this.remoteSet) return; // stale answer to an offer we dropped
      await pc.setRemoteDescription({ type: "answer", sdp: d.sdp ?? "" });
      this.remoteSet = true;
      await this.flushCandidates(pc);
    }
    const c = data.candidate;
    if (c && c.candidate) {
      this.facts.remote++;
      const init: RTCIceCandidateInit = { candidate: c.candidate, sdpMid: c.sdpMid ?? "0", sdpMLineIndex: c.sdpMLineIndex ?? 0 };
      if (this.pc && this.remoteSet) await this.pc.addIceCandidate(init).catch(() => {});
      else if (this.candidates.length < MAX_QUEUED_CANDIDATES) this.candidates.push(init);
    }
  }

  private async flushCandidates(pc: RTCPeerConnection): Promise<void> {
    const queued = this.candidates;
    this.candidates = [];
    // A candidate of a connection the remote has since dropped fails to match: ignore it.
    for (const c of queued) await pc.addIceCandidate(c).catch(() => {});
  }

  private newPc(): RTCPeerConnection {
    const pc = new this.o.RTCPeerConnection({ iceServers: this.o.iceServers ?? [] });
    this.pc = pc;
    this.offering = false;
    this.remoteSet = false;
    this.facts.local = {};
    this.facts.iceTransportPolicy = pc.getConfiguration?.().iceTransportPolicy ?? "all";
    pc.onicecandidate = (e) => {
      if (pc !== this.pc) return;
      // End of gathering: the signal batcher sends what it holds now instead of waiting (signal-batch.ts).
      if (!e.candidate) return void this.o.signal({ candidate: null });
      if (!e.candidate.candidate) return;
      const { candidate, sdpMid, sdpMLineIndex } = e.candidate;
      const t = candidateTypeOf(candidate);
      if (t) this.facts.local[t] = (this.facts.local[t] ?? 0) + 1;
      this.o.signal({ candidate: { candidate, sdpMid: sdpMid ?? null, sdpMLineIndex: sdpMLineIndex ?? null } });
    };
    const onState = () => {
      if (pc !== this.pc) return;
      const s = pc.connectionState ?? pc.iceConnectionState;
      if (s === "failed" || s === "closed") this.close(`ice-${s}`);
    };
    pc.onconnectionstatechange = onState;
    pc.oniceconnectionstatechange = () => {
      if (pc !== this.pc) return;
      this.iceState = pc.iceConnectionState;
      if (this.iceState === "failed") this.close("ice-failed");
    };
    pc.ondatachannel = (e) => {
      if (pc === this.pc) this.attach(e.channel);
    };
    return pc;
  }

  /** Closes the current connection without closing the link (glare or remote restart). */
  private dropPc(): void {
    const { pc, dc } = this;
    this.pc = undefined;
    this.dc = undefined;
    if (dc) dc.onclose = dc.onmessage = dc.onopen = null;
    try {
      pc?.close();
    } catch {
      // already closed
    }
  }

  /** Handlers go on synchronously: messages can arrive in the same task as `open`. */
  private attach(dc: RTCDataChannel): void {
    this.dc = dc;
    dc.binaryType = "arraybuffer";
    dc.bufferedAmountLowThreshold = SEND_LOW_WATER;
    dc.onmessage = (e: MessageEvent) => {
      if (dc !== this.dc) return;
      const data = e.data as unknown;
      const frame = typeof data === "string"
        ? new FrameError("unknown-type", "text message")
        : decodeFrame(ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : (data as ArrayBuffer));
      if (frame instanceof FrameError) return this.close("protocol");
      try {
        this.o.onFrame(frame, this);
      } catch {
        // a handler bug must not take the link down
      }
    };
    dc.onbufferedamountlow = () => this.wakeSenders();
    dc.onclose = () => dc === this.dc && this.close("channel-closed");
    dc.onopen = () => dc === this.dc && this.opened();
    if (dc.readyState === "open") this.opened();
  }

  /**
   * The channel opened: the first time, or a replacement channel after the remote started over
   * (a new offer while open). Either way the owner introduces itself on it (`onOpen` again): the
   * remote's new connection knows nothing of what was said on the old one (its peer-frame HELLO).
   */
  private opened(): void {
    if (this.state === "closed") return;
    if (this.state === "connecting") clearTimeout(this.timer);
    this.state = "open";
    this.facts.opened = true;
    this.o.onOpen(this);
  }

  private wakeSenders(): void {
    const w = this.lowWaiters;
    this.lowWaiters = [];
    for (const r of w) r();
  }

  /** The connection's `getStats()` report; undefined once closed (or where the engine has none). */
  stats(): Promise<RTCStatsReport | undefined> {
    return this.pc?.getStats ? this.pc.getStats().catch(() => undefined) : Promise.resolve(undefined);
  }

  /** Bytes queued in the channel. */
  get buffered(): number {
    return this.dc?.bufferedAmount ?? 0;
  }

  /** Sends now, ignoring backpressure (small control frames). False when the link is not open. */
  sendNow(bytes: Uint8Array): boolean {
    if (this.state !== "open" || !this.dc) return false;
    try {
      this.dc.send(bytes as Uint8Array<ArrayBuffer>);
      return true;
    } catch {
      this.close("send-failed");
      return false;
    }
  }

  /** Sends after waiting for the buffer to drain below the high-water mark. Rejects if the link closes. */
  async send(bytes: Uint8Array): Promise<void> {
    while (this.state === "open" && this.buffered > SEND_HIGH_WATER) await new Promise<void>((r) => this.lowWaiters.push(r));
    if (!this.sendNow(bytes)) throw new Error("link closed");
  }

  /** Closes the link (idempotent); `onClose` runs once. */
  close(reason = "local"): void {
    if (this.state === "closed") return;
    this.state = "closed";
    clearTimeout(this.timer);
    const dc = this.dc;
    this.dropPc();
    try {
      dc?.close();
    } catch {
      // already closed
    }
    this.wakeSenders();
    this.o.onClose(reason, this);
  }
}

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
 *   needing rollback support. Perfect negotiation assumes signals arrive in order; ours can come
 *   through different swarm sockets, so each description carries its connection's `epoch`
 *   (SignalData): the polite peer's discarded offer, relayed after its answer, is older than that
 *   answer and is ignored instead of being taken for a restart.
 * - ICE candidates that arrive before the remote description is set are queued. We track that with
 *   our own flag: node-datachannel's `remoteDescription` is always truthy.
 * - The offerer sends its ICE candidates only once it has applied the answer (see {@link PeerLink}'s
 *   `held`): the answerer is the DTLS client, and a ClientHello sent before the offerer holds the
 *   answer is dropped and waits for DTLS's 1 s retransmission.
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

let lastEpoch = 0;
/**
 * A number for a new connection, larger than every earlier one of this process and, being at
 * least the wall-clock ms, than those of a previous run of it (a reloaded page with the same id).
 */
function nextEpoch(): number {
  lastEpoch = Math.max(lastEpoch + 1, Date.now());
  return lastEpoch;
}

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
  /** Our current connection's epoch (sent with its descriptions). */
  private epoch = 0;
  /** The newest epoch of the remote's descriptions we acted on: older offers are stale. */
  private remoteEpoch = 0;
  private candidates: RTCIceCandidateInit[] = [];
  /**
   * Our own ICE signals while we offer and the answer is not applied yet. Why: the answerer is
   * the DTLS client (JSEP answers `a=setup:active`, RFC 5763 §5) and speaks as soon as its ICE
   * check succeeds. With our candidates (or our checks, which give it a peer-reflexive one) it
   * could succeed before we hold the answer: we cannot check before that, so we have no DTLS
   * server yet, its ClientHello is dropped, and the handshake waits for DTLS's first retransmission
   * 1 s later (RFC 6347 §4.2.4.1; node-datachannel pairs opened in ~5 ms or ~1,000 ms). Held
   * until the answer is applied, our candidates reach it after our own checks have started, so
   * our side is connected — its DTLS server up — before its check can succeed. (Making the
   * offerer the DTLS client instead, by sending `a=setup:active`, exposes libdatachannel
   * 0.24.5's race of DTLS against the remote fingerprint: "unknown CA"; docs/client-core.md.)
   */
  private held: SignalData[] | undefined;
  private lowWaiters: (() => void)[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: ReturnType<typeof setTimeout>;
  /** Which side's offer the current connection answers (diagnostics). */
  offeredBy: "local" | "remote" = "local";
  /**
   * The current channel was announced by the remote (`ondatachannel`) rather than created here.
   * Its `open` fires when the remote's DCEP OPEN arrives (RFC 8832), before the remote's own `open`
   * (on the DCEP ACK): what we send at once can reach the remote before its channel is open, and
   * Firefox drops such messages (seen: a Chromium answerer's HELLO lost on a Firefox offerer).
   */
  announced = false;
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
      this.held = [];
      this.offeredBy = "local";
      this.attach(pc.createDataChannel("edgeswarm", { ordered: true }));
      const offer = await pc.createOffer();
      if (!this.isCurrent(pc)) return;
      await pc.setLocalDescription(offer);
      if (!this.isCurrent(pc)) return;
      this.o.signal({ description: { type: "offer", sdp: offer.sdp ?? "", epoch: this.epoch } });
      // Our candidates are held until the answer (`held`): the end marker sends the offer's batch
      // now instead of after the batcher's bound (signal-batch.ts); receivers ignore end markers.
      this.o.signal({ candidate: null });
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
      // An offer of a connection the remote has since replaced by a newer one we know: its glare
      // offer, relayed behind its answer. Following it would drop the connection it answered with.
      if (d.epoch !== undefined && d.epoch < this.remoteEpoch) return;
      if (this.pc && this.offering && !this.remoteSet) {
        if (!this.polite) return; // glare: the remote yields and answers our offer
        this.dropPc();
      } else if (this.pc) {
        this.dropPc(); // the remote started over (e.g. restarted its connection): follow it
      }
      const pc = this.newPc();
      this.offeredBy = "remote";
      this.remoteEpoch = Math.max(this.remoteEpoch, d.epoch ?? 0);
      await pc.setRemoteDescription({ type: "offer", sdp: d.sdp ?? "" });
      this.remoteSet = true;
      await this.flushCandidates(pc);
      const answer = await pc.createAnswer();
      if (!this.isCurrent(pc)) return;
      await pc.setLocalDescription(answer);
      if (this.isCurrent(pc)) this.o.signal({ description: { type: "answer", sdp: answer.sdp ?? "", epoch: this.epoch } });
    } else if (d?.type === "answer") {
      const pc = this.pc;
      if (!pc || !this.offering || this.remoteSet) return; // stale answer to an offer we dropped
      this.remoteEpoch = Math.max(this.remoteEpoch, d.epoch ?? 0);
      await pc.setRemoteDescription({ type: "answer", sdp: d.sdp ?? "" });
      this.remoteSet = true;
      await this.flushCandidates(pc);
      this.releaseHeld();
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

  /** Sends our ICE signals held while the answer was awaited (`held`), in order. */
  private releaseHeld(): void {
    const held = this.held;
    this.held = undefined;
    if (!held?.length) return;
    for (const d of held) this.o.signal(d);
    // libdatachannel signals no end of gathering for long (none within 600 ms on loopback): the
    // end marker sends them now rather than after the batcher's bound (signal-batch.ts).
    if (held.at(-1)?.candidate !== null) this.o.signal({ candidate: null });
  }

  /** Our ICE signal: held while we offer and the answer is not applied (`held`), else sent. */
  private signalIce(d: SignalData): void {
    if (this.held) this.held.push(d);
    else this.o.signal(d);
  }

  private newPc(): RTCPeerConnection {
    const pc = new this.o.RTCPeerConnection({ iceServers: this.o.iceServers ?? [] });
    this.pc = pc;
    this.epoch = nextEpoch();
    this.held = undefined;
    this.offering = false;
    this.remoteSet = false;
    this.facts.local = {};
    this.facts.iceTransportPolicy = pc.getConfiguration?.().iceTransportPolicy ?? "all";
    pc.onicecandidate = (e) => {
      if (pc !== this.pc) return;
      // End of gathering: the signal batcher sends what it holds now instead of waiting (signal-batch.ts).
      if (!e.candidate) return void this.signalIce({ candidate: null });
      if (!e.candidate.candidate) return;
      const { candidate, sdpMid, sdpMLineIndex } = e.candidate;
      const t = candidateTypeOf(candidate);
      if (t) this.facts.local[t] = (this.facts.local[t] ?? 0) + 1;
      this.signalIce({ candidate: { candidate, sdpMid: sdpMid ?? null, sdpMLineIndex: sdpMLineIndex ?? null } });
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
      if (pc === this.pc) this.attach(e.channel, true);
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
  private attach(dc: RTCDataChannel, announced = false): void {
    this.dc = dc;
    this.announced = announced;
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

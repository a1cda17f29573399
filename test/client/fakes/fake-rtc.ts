/**
 * An in-process stand-in for RTCPeerConnection / RTCDataChannel with the browser's API shape:
 * explicit offer/answer, trickled candidates, `ondatachannel` on the answering side, binary
 * messages delivered asynchronously as ArrayBuffers, `bufferedAmount` + `bufferedamountlow`.
 * A connection is made when the answerer sets its local answer (SDP "fake:<pc id>" names the offerer).
 */
const registry = new Map<number, FakeRTCPeerConnection>();
let seq = 0;

export class FakeDataChannel {
  readyState: "connecting" | "open" | "closing" | "closed" = "connecting";
  binaryType = "blob";
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  onopen: ((e: unknown) => void) | null = null;
  onclose: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onbufferedamountlow: ((e: unknown) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  peer: FakeDataChannel | undefined;
  constructor(readonly label: string) {}

  send(data: Uint8Array | ArrayBuffer): void {
    if (this.readyState !== "open") throw new Error("InvalidStateError: not open");
    const u8 = data instanceof Uint8Array ? data : new Uint8Array(data);
    const copy = u8.slice().buffer;
    this.bufferedAmount += copy.byteLength;
    setImmediate(() => {
      const before = this.bufferedAmount;
      this.bufferedAmount -= copy.byteLength;
      if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) this.onbufferedamountlow?.({});
      if (this.peer?.readyState === "open") this.peer.onmessage?.({ data: copy });
    });
  }

  open(): void {
    if (this.readyState !== "connecting") return;
    this.readyState = "open";
    this.onopen?.({});
  }

  close(): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    setImmediate(() => this.onclose?.({}));
    this.peer?.close();
  }
}

export class FakeRTCPeerConnection {
  /** Every connection ever made (tests inspect them). */
  static all: FakeRTCPeerConnection[] = [];
  readonly id = ++seq;
  connectionState = "new";
  iceConnectionState = "new";
  onicecandidate: ((e: { candidate: unknown }) => void) | null = null;
  ondatachannel: ((e: { channel: FakeDataChannel }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  oniceconnectionstatechange: (() => void) | null = null;
  private channels: FakeDataChannel[] = [];
  private remoteId = 0;
  closed = false;

  constructor(readonly config?: unknown) {
    registry.set(this.id, this);
    FakeRTCPeerConnection.all.push(this);
  }
  createDataChannel(label: string): FakeDataChannel {
    const dc = new FakeDataChannel(label);
    this.channels.push(dc);
    return dc;
  }
  async createOffer() {
    return { type: "offer" as const, sdp: `fake:${this.id}` };
  }
  async createAnswer() {
    return { type: "answer" as const, sdp: `fake:${this.id}` };
  }
  async setLocalDescription(d: { type: string }) {
    setImmediate(() => this.onicecandidate?.({ candidate: { candidate: `candidate:fake ${this.id}`, sdpMid: "0", sdpMLineIndex: 0 } }));
    if (d.type === "answer") setImmediate(() => this.connect());
  }
  async setRemoteDescription(d: { type: string; sdp?: string }) {
    if (this.closed) throw new Error("closed");
    this.remoteId = Number(d.sdp?.slice(5));
  }
  /** Candidates added before the remote description (a real stack rejects those). */
  static prematureCandidates = 0;
  async addIceCandidate() {
    if (!this.remoteId) {
      FakeRTCPeerConnection.prematureCandidates++;
      throw new Error("InvalidStateError: no remote description");
    }
  }

  /**
   * How long after the answerer's channel opens the offerer's opens, ms (0: in the same task).
   * The answerer's `open` fires on the DCEP OPEN and the offerer's on the ACK (RFC 8832), and a
   * message that reaches a channel not yet open is dropped here, as Firefox drops it.
   */
  static offererOpenDelayMs = 0;

  /** Answerer side: pair the offerer's channels with new ones here, then open them. */
  private connect(): void {
    const offerer = registry.get(this.remoteId);
    if (!offerer || offerer.closed || this.closed) return;
    for (const theirs of offerer.channels) {
      const mine = new FakeDataChannel(theirs.label);
      mine.peer = theirs;
      theirs.peer = mine;
      this.channels.push(mine);
      this.ondatachannel?.({ channel: mine });
      mine.open();
      if (FakeRTCPeerConnection.offererOpenDelayMs > 0) setTimeout(() => theirs.open(), FakeRTCPeerConnection.offererOpenDelayMs);
      else theirs.open();
    }
    this.connectionState = offerer.connectionState = "connected";
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connectionState = "closed";
    for (const c of this.channels) c.close();
  }
}

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ANSWER_QUIET_MS, SignalBatcher, SIGNAL_BATCH_MS, unpackSignal } from "../../client/signal-batch";
import { MAX_SIGNAL_CANDIDATES, parseClientMessage, type SignalData } from "../../protocol/swarm-protocol";

const cand = (n: number) => ({ candidate: `candidate:${n} 1 udp 2122260223 10.0.0.${n} 5000${n} typ host`, sdpMid: "0", sdpMLineIndex: 0 });

describe("SignalBatcher", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends a link's offer and the candidates gathered right after it as one frame, which unpacks in order", () => {
    const sent: { to: string; data: SignalData }[] = [];
    const b = new SignalBatcher((to, data) => (sent.push({ to, data }), true));
    expect(b.signal("peer-aaaa1", { description: { type: "offer", sdp: "v=0" } }, true)).toBe(true);
    b.signal("peer-aaaa1", { candidate: cand(1) }, true);
    b.signal("peer-bbbb1", { candidate: cand(9) }, true);
    b.signal("peer-aaaa1", { candidate: cand(2) }, true);
    expect(sent).toHaveLength(0);
    vi.advanceTimersByTime(SIGNAL_BATCH_MS);
    expect(sent.map((s) => s.to)).toEqual(["peer-aaaa1", "peer-bbbb1"]);
    expect(unpackSignal(sent[0]!.data)).toEqual([{ description: { type: "offer", sdp: "v=0" } }, { candidate: cand(1) }, { candidate: cand(2) }]);
    // A lone candidate travels as `candidate`, readable by any receiver.
    expect(sent[1]!.data).toEqual({ candidate: cand(9) });
    // The frame passes the coordinator's validation unchanged.
    const parsed = parseClientMessage(JSON.stringify({ type: "signal", to: "peer-aaaa1", data: sent[0]!.data }));
    expect(parsed).toEqual({ ok: true, value: { type: "signal", to: "peer-aaaa1", data: sent[0]!.data } });
  });

  it("a refusal goes at once and alone; what was queued for that peer is dropped", () => {
    const sent: { to: string; data: SignalData }[] = [];
    const b = new SignalBatcher((to, data) => (sent.push({ to, data }), true));
    b.signal("peer-aaaa1", { candidate: cand(1) }, true);
    expect(b.signal("peer-aaaa1", { refused: "link-limit" }, true)).toBe(true);
    expect(sent).toEqual([{ to: "peer-aaaa1", data: { refused: "link-limit" } }]);
    vi.advanceTimersByTime(SIGNAL_BATCH_MS);
    expect(sent).toHaveLength(1);
  });

  it("sends at the end of gathering instead of waiting out the bound; a lone end marker sends nothing", () => {
    const sent: SignalData[] = [];
    const b = new SignalBatcher((_to, data) => (sent.push(data), true));
    b.signal("p", { description: { type: "offer", sdp: "a" } }, true);
    b.signal("p", { candidate: cand(1) }, true);
    vi.advanceTimersByTime(SIGNAL_BATCH_MS - 1);
    b.signal("p", { candidate: cand(2) }, true); // a server-reflexive one, a STUN round trip later
    expect(sent).toHaveLength(0);
    b.signal("p", { candidate: null }, true); // gathering complete
    expect(sent).toEqual([{ description: { type: "offer", sdp: "a" }, candidates: [cand(1), cand(2)], candidate: null }]);
    expect(unpackSignal(sent[0]!).map((d) => d.candidate === null ? "end" : d.description ? "sdp" : "cand")).toEqual(["sdp", "cand", "cand", "end"]);
    // Gathering that outlives the bound: the first frame goes at the bound, the rest at the end.
    b.signal("q", { description: { type: "offer", sdp: "o" } }, true);
    vi.advanceTimersByTime(SIGNAL_BATCH_MS);
    b.signal("q", { candidate: cand(3) }, true);
    b.signal("q", { candidate: null }, true);
    expect(sent.slice(1)).toEqual([{ description: { type: "offer", sdp: "o" } }, { candidates: [cand(3)], candidate: null }]);
    // The end arriving after everything was sent: no frame for it alone.
    b.signal("r", { candidate: null }, true);
    vi.advanceTimersByTime(SIGNAL_BATCH_MS);
    expect(sent).toHaveLength(3);
  });

  it("sends an answer once its candidates pause (the link waits for it), not at the end of gathering", () => {
    const sent: SignalData[] = [];
    const b = new SignalBatcher((_to, data) => (sent.push(data), true));
    b.signal("p", { description: { type: "answer", sdp: "a" } }, true);
    // Not without a candidate: the offerer could not check before the answerer's checks reach it,
    // and the answerer's DTLS hello would meet no server (a 1 s retransmission).
    vi.advanceTimersByTime(3 * ANSWER_QUIET_MS);
    expect(sent).toHaveLength(0);
    b.signal("p", { candidate: cand(1) }, true);
    vi.advanceTimersByTime(ANSWER_QUIET_MS - 1);
    b.signal("p", { candidate: cand(2) }, true); // the same burst of host candidates
    vi.advanceTimersByTime(ANSWER_QUIET_MS - 1);
    expect(sent).toHaveLength(0);
    vi.advanceTimersByTime(1); // a pause: libdatachannel's end of gathering comes much later
    expect(sent).toEqual([{ description: { type: "answer", sdp: "a" }, candidates: [cand(1), cand(2)] }]);
    // A later candidate follows in a batch of its own, within the bound.
    b.signal("p", { candidate: cand(3) }, true);
    vi.advanceTimersByTime(SIGNAL_BATCH_MS);
    expect(sent.slice(1)).toEqual([{ candidate: cand(3) }]);
    // Candidates gathered before the answer was signalled: it goes one pause after it.
    b.signal("q", { candidate: cand(4) }, true);
    b.signal("q", { description: { type: "answer", sdp: "b" } }, true);
    vi.advanceTimersByTime(ANSWER_QUIET_MS);
    expect(sent.slice(2)).toEqual([{ description: { type: "answer", sdp: "b" }, candidate: cand(4) }]);
    // Candidates that never pause still go at the bound (here the batch cap comes first).
    b.signal("r", { description: { type: "answer", sdp: "c" } }, true);
    for (let t = 0; t < SIGNAL_BATCH_MS; t += ANSWER_QUIET_MS / 2) {
      b.signal("r", { candidate: cand(5) }, true);
      vi.advanceTimersByTime(ANSWER_QUIET_MS / 2);
      if (sent.length > 3) break;
    }
    expect(sent).toHaveLength(4);
  });

  it("with STUN/TURN servers configured, an answer waits for a server's candidate, so a link stays one frame per side", () => {
    const sent: SignalData[] = [];
    const b = new SignalBatcher((_to, data) => (sent.push(data), true), SIGNAL_BATCH_MS, () => true);
    const srflx = { candidate: "candidate:7 1 udp 1686052607 203.0.113.7 50007 typ srflx raddr 10.0.0.1 rport 50001", sdpMid: "0", sdpMLineIndex: 0 };
    b.signal("p", { description: { type: "answer", sdp: "a" } }, true);
    b.signal("p", { candidate: cand(1) }, true);
    vi.advanceTimersByTime(5 * ANSWER_QUIET_MS); // host candidates paused: without servers this had gone
    expect(sent).toHaveLength(0);
    b.signal("p", { candidate: srflx }, true); // one STUN round trip later
    vi.advanceTimersByTime(ANSWER_QUIET_MS);
    expect(sent).toEqual([{ description: { type: "answer", sdp: "a" }, candidates: [cand(1), srflx] }]);
    // An unreachable server: the answer still goes at the bound.
    b.signal("q", { description: { type: "answer", sdp: "b" } }, true);
    b.signal("q", { candidate: cand(2) }, true);
    vi.advanceTimersByTime(SIGNAL_BATCH_MS - 1);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent.slice(1)).toEqual([{ description: { type: "answer", sdp: "b" }, candidate: cand(2) }]);
  });

  it("keeps order across an ICE restart (a second description flushes the first batch), caps a batch, and sends nothing while the socket is down", () => {
    const sent: SignalData[] = [];
    const b = new SignalBatcher((_to, data) => (sent.push(data), true));
    b.signal("p", { description: { type: "offer", sdp: "1" } }, true);
    b.signal("p", { candidate: cand(1) }, true);
    b.signal("p", { description: { type: "offer", sdp: "2" } }, true);
    expect(sent).toEqual([{ description: { type: "offer", sdp: "1" }, candidate: cand(1) }]);
    for (let i = 0; i < MAX_SIGNAL_CANDIDATES; i++) b.signal("p", { candidate: cand(i) }, true);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.candidates).toHaveLength(MAX_SIGNAL_CANDIDATES);
    expect(b.signal("q", { candidate: cand(1) }, false)).toBe(false);
    vi.advanceTimersByTime(SIGNAL_BATCH_MS);
    expect(sent).toHaveLength(2);
  });
});

describe("signal `candidates` on the wire", () => {
  it("is refused when malformed, empty or longer than the cap", () => {
    const frame = (candidates: unknown) => parseClientMessage(JSON.stringify({ type: "signal", to: "peer-aaaa1", data: { candidates } }));
    expect(frame([cand(1), { candidate: 5 }]).ok).toBe(false);
    expect(frame([]).ok).toBe(false);
    expect(frame(Array.from({ length: MAX_SIGNAL_CANDIDATES + 1 }, (_, i) => cand(i))).ok).toBe(false);
    expect(frame([cand(1), cand(2)]).ok).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { PeerLink, type RTCPeerConnectionCtor } from "../../client/peer-link";
import { encodeFrame, type Frame } from "../../protocol/peer-frames";
import type { SignalData } from "../../protocol/swarm-protocol";
import { FakeRTCPeerConnection, type FakeDataChannel } from "./fakes/fake-rtc";

const RTC = FakeRTCPeerConnection as unknown as RTCPeerConnectionCtor;

function pair(opts: { delaySignals?: boolean } = {}) {
  const got: Record<string, Frame[]> = { a: [], b: [] };
  const closed: Record<string, string[]> = { a: [], b: [] };
  const opened: Record<string, number> = { a: 0, b: 0 };
  const links: Record<string, PeerLink> = {};
  const queue: [string, SignalData][] = [];
  const mk = (me: "a" | "b", other: "a" | "b", id: string, otherId: string) =>
    new PeerLink({
      localId: id, remoteId: otherId, RTCPeerConnection: RTC,
      signal: (d) => (opts.delaySignals ? queue.push([other, d]) : setImmediate(() => links[other]!.handleSignal(d))),
      onOpen: () => opened[me]!++,
      onFrame: (f) => got[me]!.push(f),
      onClose: (r) => closed[me]!.push(r),
    });
  links.a = mk("a", "b", "peer-aaaaaaaa", "peer-bbbbbbbb");
  links.b = mk("b", "a", "peer-bbbbbbbb", "peer-aaaaaaaa");
  const flush = (candidatesFirst = false) => {
    const batch = queue.splice(0);
    if (candidatesFirst) batch.sort((x, y) => Number(!!x[1].description) - Number(!!y[1].description));
    for (const [to, d] of batch) links[to]!.handleSignal(d);
  };
  return { a: links.a, b: links.b, got, closed, opened, flush, links };
}

/** The link's data channel (private: reached for congestion tests only). */
const channelOf = (l: PeerLink) => (l as unknown as { dc: FakeDataChannel }).dc;

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 5) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error("condition not reached");
}

describe("peer link", () => {
  it("connects, and frames flow both ways, including ones sent right on open", async () => {
    const p = pair();
    p.a.connect();
    await until(() => p.a.state === "open" && p.b.state === "open");
    expect(p.a.sendNow(encodeFrame({ type: "busy", reqId: 1 }))).toBe(true);
    await p.b.send(encodeFrame({ type: "cancel", reqId: 2 }));
    await until(() => p.got.a!.length === 1 && p.got.b!.length === 1);
    expect(p.got.b).toEqual([{ type: "busy", reqId: 1 }]);
    expect(p.got.a).toEqual([{ type: "cancel", reqId: 2 }]);
    expect(p.opened).toEqual({ a: 1, b: 1 });
    p.a.close();
    await until(() => p.closed.b!.length === 1);
    expect(p.closed).toEqual({ a: ["local"], b: ["channel-closed"] });
  });

  it("a remote that starts over while the link is open gets a fresh introduction: onOpen runs again on the new channel", async () => {
    const p = pair();
    p.a.connect();
    await until(() => p.a.state === "open" && p.b.state === "open");
    expect(p.opened.a).toBe(1);
    // B's process restarted its side (a new connection, same ids): its offer reaches the open link A.
    const gotB2: Frame[] = [];
    const b2 = new PeerLink({
      localId: "peer-bbbbbbbb", remoteId: "peer-aaaaaaaa", RTCPeerConnection: RTC,
      signal: (d) => setImmediate(() => p.a.handleSignal(d)),
      onOpen: () => {}, onFrame: (f) => gotB2.push(f), onClose: () => {},
    });
    p.links.b = b2;
    b2.connect();
    await until(() => b2.state === "open" && p.opened.a === 2);
    // A stays one open link (no close, no new link), and what it sends now reaches the new side.
    expect(p.a.state).toBe("open");
    expect(p.closed.a).toEqual([]);
    expect(p.a.sendNow(encodeFrame({ type: "busy", reqId: 9 }))).toBe(true);
    await until(() => gotB2.length === 1);
    expect(gotB2).toEqual([{ type: "busy", reqId: 9 }]);
    b2.close();
  });

  it("settles glare: both offer at once, the polite peer yields, one channel opens", async () => {
    const p = pair({ delaySignals: true });
    p.a.connect();
    p.b.connect();
    await new Promise((r) => setTimeout(r, 20));
    for (let k = 0; k < 10; k++) {
      p.flush();
      await new Promise((r) => setTimeout(r, 10));
    }
    await until(() => p.a.state === "open" && p.b.state === "open");
    expect(p.b.polite).toBe(true);
    p.a.sendNow(encodeFrame({ type: "busy", reqId: 9 }));
    await until(() => p.got.b!.length === 1);
    expect(p.closed).toEqual({ a: [], b: [] });
  });

  it("queues ICE candidates until the remote description is set", async () => {
    const before = FakeRTCPeerConnection.prematureCandidates;
    const p = pair({ delaySignals: true });
    p.a.connect();
    await new Promise((r) => setTimeout(r, 20));
    // Deliver every candidate before the description it belongs to: they must be held back.
    for (let k = 0; k < 10; k++) {
      p.flush(true);
      await new Promise((r) => setTimeout(r, 10));
    }
    await until(() => p.b.state === "open");
    expect(FakeRTCPeerConnection.prematureCandidates).toBe(before);
  });

  it("closes with reason 'protocol' on a malformed frame", async () => {
    const p = pair();
    p.a.connect();
    await until(() => p.a.state === "open" && p.b.state === "open");
    p.a.sendNow(new Uint8Array([99, 1, 2]));
    await until(() => p.closed.b!.length === 1);
    expect(p.closed.b).toEqual(["protocol"]);
    expect(p.got.b).toEqual([]);
  });

  it("holds send() while bufferedAmount is over the high-water mark, resumes on bufferedamountlow", async () => {
    const p = pair();
    p.a.connect();
    await until(() => p.a.state === "open" && p.b.state === "open");
    const dc = channelOf(p.a);
    dc.bufferedAmount = 2 << 20; // congested (over the 1 MiB high-water mark)
    let sent = false;
    const sending = p.a.send(encodeFrame({ type: "cancel", reqId: 5 })).then(() => (sent = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toBe(false);
    expect(p.got.b).toEqual([]);
    p.a.sendNow(encodeFrame({ type: "busy", reqId: 4 })); // control frames bypass backpressure
    dc.bufferedAmount = 0;
    dc.onbufferedamountlow?.({});
    await sending;
    await until(() => p.got.b!.length === 2);
    expect(p.got.b).toEqual([{ type: "busy", reqId: 4 }, { type: "cancel", reqId: 5 }]);
  });

  it("closes with reason 'ice-failed' when ICE fails, and rejects blocked senders", async () => {
    const p = pair();
    p.a.connect();
    await until(() => p.a.state === "open" && p.b.state === "open");
    channelOf(p.a).bufferedAmount = 2 << 20;
    const blocked = p.a.send(encodeFrame({ type: "cancel", reqId: 1 }));
    const pc = (p.a as unknown as { pc: FakeRTCPeerConnection }).pc;
    pc.iceConnectionState = "failed";
    pc.oniceconnectionstatechange?.();
    await expect(blocked).rejects.toThrow("link closed");
    expect(p.closed.a).toEqual(["ice-failed"]);
    expect(p.a.state).toBe("closed");
    await until(() => p.closed.b!.length === 1); // the remote sees its channel close
    expect(p.closed.b).toEqual(["channel-closed"]);
  });

  it("times out a link that never opens", async () => {
    const closed: string[] = [];
    const l = new PeerLink({
      localId: "peer-aaaaaaaa", remoteId: "peer-zzzzzzzz", RTCPeerConnection: RTC, connectTimeoutMs: 30,
      signal: () => {}, onOpen: () => {}, onFrame: () => {}, onClose: (r) => closed.push(r),
    });
    l.connect();
    await until(() => closed.length === 1);
    expect(closed).toEqual(["timeout"]);
    expect(l.sendNow(new Uint8Array([3, 0, 0, 0, 1]))).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { PeerMesh } from "../../client/peer-mesh";
import { PeerRequestError } from "../../client/chunk-sources";
import { encodeFrame, type Frame } from "../../protocol/peer-frames";
import type { PeerLink, RTCPeerConnectionCtor } from "../../client/peer-link";
import { FakeRTCPeerConnection } from "./fakes/fake-rtc";

const RTC = FakeRTCPeerConnection as unknown as RTCPeerConnectionCtor;
const ROOT = "cd".repeat(32);
const A = "peer-aaaaaaaa";
const B = "peer-bbbbbbbb";

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 5) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error("condition not reached");
}

/** Two meshes signalling directly; B answers requests with `answer`. */
function meshes(answer: (f: Frame & { type: "request" }, link: PeerLink) => void, bBits = new Uint8Array([0xff, 0xff])) {
  const m: Record<string, PeerMesh> = {};
  const closed: string[] = [];
  const mk = (me: string, other: string) =>
    new PeerMesh({
      localId: me, RTCPeerConnection: RTC, maxPeers: 4,
      signal: (root, to, data) => (setImmediate(() => m[to]!.handleSignal(root, me, data)), true),
      onRequest: (_p, f, link) => answer(f, link),
      onCancel: () => {},
      localHave: () => (me === B ? { count: 16, bits: bBits } : undefined),
      onChange: () => {},
      onLinkClosed: (p, r) => closed.push(`${me}->${p}:${r}`),
    });
  m[A] = mk(A, B);
  m[B] = mk(B, A);
  return { a: m[A]!, b: m[B]!, closed };
}

/** Meshes named by id, signalling directly, on a shared manual clock. */
function net(ids: string[], maxPeers: number) {
  const m: Record<string, PeerMesh> = {};
  const clock = { t: 0 };
  const closed: string[] = [];
  for (const me of ids) {
    m[me] = new PeerMesh({
      localId: me, RTCPeerConnection: RTC, maxPeers, now: () => clock.t,
      signal: (root, to, data) => (setImmediate(() => m[to]!.handleSignal(root, me, data)), true),
      onRequest: (_p, f, link) => void link.sendNow(encodeFrame({ type: "busy", reqId: f.reqId })),
      onCancel: () => {}, localHave: () => undefined, onChange: () => {},
      onLinkClosed: (p, r) => closed.push(`${me}->${p}:${r}`),
    });
  }
  return { m, clock, closed };
}

/** Asks B for one chunk; resolves with its bytes. */
function one(a: PeerMesh, index: number, length: number, peer = B): Promise<Uint8Array> {
  let got: Uint8Array | undefined;
  return a.request(peer, ROOT, [{ index, length }], (_i, bytes) => (got = bytes)).done.then(() => got!);
}

describe("peer mesh", () => {
  it("at the link limit, closes the longest-idle link to reach a new peer, never a busy one", async () => {
    const C = "peer-cccccccc";
    const { m, clock, closed } = net([A, B, C], 1);
    const a = m[A]!;
    a.connect(B, ROOT);
    await until(() => a.openPeers().length === 1);
    clock.t = 1_000;
    a.connect(C, ROOT); // B was used recently: no room
    expect(a.isLinked(C)).toBe(false);
    clock.t = 30_000;
    const inFlight = one(a, 0, 10).catch(() => "failed"); // B answers busy at once
    await inFlight;
    a.connect(C, ROOT); // B was just used again
    expect(a.isLinked(C)).toBe(false);
    clock.t = 31_000;
    a.connect(C, ROOT); // B was just used again, 1 s ago: still no room
    expect(a.isLinked(C)).toBe(false);
    clock.t = 32_500;
    a.connect(C, ROOT); // B idle for 2.5 s, nothing in flight: it makes room for a named holder
    expect(closed).toContain(`${A}->${B}:idle`);
    await until(() => a.openPeers().join() === C);
    expect(a.banned.size).toBe(0);
  });


  it("learns the remote's chunks from its have frame and assembles a chunk from DATA frames", async () => {
    const chunk = new Uint8Array(20_000).map((_, i) => i & 0xff);
    const { a } = meshes((f, link) => {
      link.sendNow(encodeFrame({ type: "data", reqId: f.reqId, index: f.indices[0]!, offset: 0, bytes: chunk.subarray(0, 16_000) }));
      link.sendNow(encodeFrame({ type: "data", reqId: f.reqId, index: f.indices[0]!, offset: 16_000, bytes: chunk.subarray(16_000) }));
    });
    a.connect(B, ROOT);
    await until(() => a.peersFor(ROOT).length === 1);
    expect(a.peersFor(ROOT)[0]!.has(15)).toBe(true);
    expect(a.peersFor(ROOT)[0]!.has(16)).toBe(false);
    // The kind the coordinator reported rides along to the picker; unknown stays absent.
    expect(a.peersFor(ROOT, [], (id) => (id === B ? "supernode" : undefined))[0]!.kind).toBe("supernode");
    expect(a.peersFor(ROOT)[0]!.kind).toBeUndefined();
    const got = await one(a, 3, chunk.length);
    expect([...got]).toEqual([...chunk]);
  });

  it("a HELLO and HAVE the answering side sent before the offerer's channel opened are sent again: the link carries chunks", async () => {
    // Firefox as the offerer drops what a Chromium answerer sends between its own open (DCEP OPEN)
    // and the offerer's (DCEP ACK); without the second introduction A never learns B's version.
    FakeRTCPeerConnection.offererOpenDelayMs = 20;
    try {
      const chunk = new Uint8Array(300).fill(7);
      const { a } = meshes((f, link) => void link.sendNow(encodeFrame({ type: "data", reqId: f.reqId, index: f.indices[0]!, offset: 0, bytes: chunk })));
      a.connect(B, ROOT);
      await until(() => a.peersFor(ROOT).length === 1);
      expect(a.connecting(ROOT)).toBe(false);
      expect([...(await one(a, 2, chunk.length))]).toEqual([...chunk]);
      const [d] = (await a.diagnose()).peers;
      expect(d!.helloAt).toBeGreaterThanOrEqual(d!.openedAt!);
    } finally {
      FakeRTCPeerConnection.offererOpenDelayMs = 0;
    }
  });

  it("announces our chunks to a peer that lacks some, not to one that holds them all", async () => {
    const mine = new Uint8Array([0x80, 0x00]); // chunk 0
    for (const [bBits, told] of [[new Uint8Array([0xff, 0xff]), false], [new Uint8Array([0xff, 0xfe]), true]] as const) {
      const { a, b } = meshes((f, link) => void link.sendNow(encodeFrame({ type: "error", reqId: f.reqId, code: "not-found" })), bBits);
      a.connect(B, ROOT);
      await until(() => a.peersFor(ROOT).length === 1);
      a.announce(ROOT, 16, mine);
      // One ordered channel: once B has answered a later request, it has seen any HAVE sent before.
      await one(a, 1, 10).catch(() => undefined);
      expect(b.peersFor(ROOT).map((p) => p.has(0))).toEqual(told ? [true] : []);
      a.close();
      b.close();
    }
  });

  it("rejects a request whose DATA comes out of order with 'protocol'", async () => {
    const { a } = meshes((f, link) => {
      link.sendNow(encodeFrame({ type: "data", reqId: f.reqId, index: f.indices[0]!, offset: 100, bytes: new Uint8Array(10) }));
    });
    a.connect(B, ROOT);
    await until(() => a.openPeers().length === 1);
    const err = await one(a, 0, 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerRequestError);
    expect((err as PeerRequestError).code).toBe("protocol");
  });

  it("maps busy and error frames to request error codes, and fails pending requests when the link closes", async () => {
    let mode: "busy" | "not-found" | "silent" = "busy";
    const { a, b } = meshes((f, link) => {
      if (mode === "busy") link.sendNow(encodeFrame({ type: "busy", reqId: f.reqId }));
      else if (mode === "not-found") link.sendNow(encodeFrame({ type: "error", reqId: f.reqId, code: "not-found" }));
    });
    a.connect(B, ROOT);
    await until(() => a.openPeers().length === 1);
    const code = (p: Promise<unknown>) => p.then(() => "ok", (e: PeerRequestError) => e.code);
    expect(await code(one(a, 0, 10))).toBe("busy");
    mode = "not-found";
    expect(await code(one(a, 0, 10))).toBe("not-found");
    mode = "silent";
    const pending = code(one(a, 0, 10));
    b.close();
    expect(await pending).toBe("gone");
  });

  it("bans a peer that sends a malformed frame", async () => {
    const { a, closed } = meshes((_f, link) => link.sendNow(new Uint8Array([2, 0, 0]))); // truncated DATA
    a.connect(B, ROOT);
    await until(() => a.openPeers().length === 1);
    const err = await one(a, 0, 10).catch((e: PeerRequestError) => e.code);
    expect(err).toBe("gone");
    expect(closed).toContain(`${A}->${B}:protocol`);
    expect([...a.banned]).toEqual([B]);
    a.connect(B, ROOT);
    expect(a.isLinked(B)).toBe(false);
  });

  it("a banned peer is disconnected, refused, and never linked again", async () => {
    const { a, b, closed } = meshes(() => {});
    a.connect(B, ROOT);
    await until(() => a.openPeers().length === 1);
    a.ban(B);
    expect(a.isLinked(B)).toBe(false);
    expect(closed).toContain(`${A}->${B}:banned`);
    a.connect(B, ROOT); // we do not dial it
    expect(a.isLinked(B)).toBe(false);
    b.connect(A, ROOT); // nor accept its offers
    await new Promise((r) => setTimeout(r, 30));
    expect(a.isLinked(B)).toBe(false);
    expect(a.peersFor(ROOT)).toEqual([]);
    expect([...a.banned]).toEqual([B]);
    const err = await one(a, 0, 10).catch((e: PeerRequestError) => e.code);
    expect(err).toBe("gone");
  });

  /**
   * A and B signalling directly; A's first `failures` connections fail (ICE/DTLS) right after they
   * are made, before any answer can open them — as libdatachannel's refused DTLS handshakes do.
   */
  function failing(failures: number) {
    const made: FakeRTCPeerConnection[] = [];
    class FailingRTC extends FakeRTCPeerConnection {
      constructor(config?: unknown) {
        super(config);
        made.push(this);
        if (made.length > failures) return;
        setImmediate(() => {
          this.iceConnectionState = "failed";
          this.oniceconnectionstatechange?.();
        });
      }
    }
    const m: Record<string, PeerMesh> = {};
    const closed: string[] = [];
    for (const [me, rtc] of [[A, FailingRTC], [B, FakeRTCPeerConnection]] as const) {
      m[me] = new PeerMesh({
        localId: me, RTCPeerConnection: rtc as unknown as RTCPeerConnectionCtor, maxPeers: 4,
        signal: (root, to, data) => (setImmediate(() => m[to]!.handleSignal(root, me, data)), true),
        onRequest: () => {}, onCancel: () => {}, localHave: () => undefined, onChange: () => {},
        onLinkClosed: (p, r) => closed.push(`${me}->${p}:${r}`),
      });
    }
    return { a: m[A]!, made, closed };
  }

  it("retries once a link it offered that failed before opening (ICE/DTLS), and the retry connects", async () => {
    const { a, made, closed } = failing(1);
    a.connect(B, ROOT);
    await until(() => closed.includes(`${A}->${B}:ice-failed`));
    expect(a.connecting(ROOT)).toBe(true); // the retry is pending: a download keeps waiting for it
    await until(() => a.openPeers().length === 1);
    expect(a.openPeers()).toEqual([B]);
    expect(made).toHaveLength(2);
  });

  it("gives up after one retry: a second failure leaves the peer alone", async () => {
    const { a, made, closed } = failing(5);
    a.connect(B, ROOT);
    await until(() => closed.filter((c) => c === `${A}->${B}:ice-failed`).length === 2);
    await new Promise((r) => setTimeout(r, 400)); // past the retry delay
    expect(made).toHaveLength(2);
    expect(a.connecting(ROOT)).toBe(false);
    expect(a.openPeers()).toEqual([]);
  });

  it("does not retry a peer that left the swarm meanwhile", async () => {
    const { a, made, closed } = failing(1);
    a.connect(B, ROOT);
    await until(() => closed.includes(`${A}->${B}:ice-failed`));
    a.peerLeft(ROOT, B);
    expect(a.connecting(ROOT)).toBe(false);
    await new Promise((r) => setTimeout(r, 400));
    expect(made).toHaveLength(1);
    expect(a.size).toBe(0);
  });
});

describe("peer mesh: asking linked peers what they hold", () => {
  const OTHER = "ef".repeat(32);
  const NOBODY = "01".repeat(32);
  /** A holds nothing; B holds all 16 chunks of ROOT and chunks 0–7 of OTHER (20 chunks); B answers requests with `fill`. */
  function pair() {
    const m: Record<string, PeerMesh> = {};
    const held: Record<string, Record<string, Uint8Array>> = { [A]: {}, [B]: { [ROOT]: new Uint8Array([0xff, 0xff]), [OTHER]: new Uint8Array([0xff, 0, 0]) } };
    const counts: Record<string, number> = { [ROOT]: 16, [OTHER]: 20 };
    const asked: string[] = [];
    for (const me of [A, B]) {
      m[me] = new PeerMesh({
        localId: me, RTCPeerConnection: RTC, maxPeers: 4,
        signal: (root, to, data) => (setImmediate(() => m[to]!.handleSignal(root, me, data)), true),
        onRequest: (_p, f, link) => {
          for (const index of f.indices) link.sendNow(encodeFrame({ type: "data", reqId: f.reqId, index, offset: 0, bytes: new Uint8Array(8).fill(index) }));
        },
        onCancel: () => {},
        localHave: (root, count) => {
          asked.push(`${me}:${root.slice(0, 2)}`);
          const bits = held[me]![root];
          return bits ? { count: counts[root] ?? count!, bits } : undefined;
        },
        onChange: () => {},
      });
    }
    return { a: m[A]!, b: m[B]!, asked };
  }

  it("a download's item is asked of open links: a linked holder is usable with no coordinator answer", async () => {
    const { a, b } = pair();
    a.connect(B, ROOT); // linked for another item
    await until(() => a.peersFor(ROOT).length === 1);
    expect(a.peersFor(OTHER)).toEqual([]); // nobody told A about OTHER
    const end = a.interest(OTHER, 20);
    await until(() => a.peersFor(OTHER).length === 1);
    const [p] = a.peersFor(OTHER);
    expect([p!.id, p!.has(7), p!.has(8)]).toEqual([B, true, false]);
    let got: Uint8Array | undefined;
    await a.request(B, OTHER, [{ index: 5, length: 8 }], (_i, bytes) => (got = bytes)).done;
    expect([...got!]).toEqual(Array(8).fill(5));
    // B's further chunks of OTHER reach A (B now knows A through OTHER).
    b.announce(OTHER, 20, new Uint8Array([0xff, 0xff, 0]));
    await until(() => a.peersFor(OTHER)[0]!.has(12));
    end();
    a.close();
    b.close();
  });

  it("a link opening during a download is asked on open; a question about an item nobody holds leaves no state", async () => {
    const { a, b, asked } = pair();
    const end = a.interest(OTHER, 20);
    a.interest(NOBODY, 3);
    a.connect(B, ROOT);
    await until(() => a.peersFor(OTHER).length === 1);
    await a.request(B, OTHER, [{ index: 0, length: 8 }], () => {}).done; // one ordered channel: B has read every HAVE
    expect(asked).toContain(`${B}:${NOBODY.slice(0, 2)}`);
    expect(a.peersFor(NOBODY)).toEqual([]);
    // B keeps A's all-zero question about OTHER (B holds it) but nothing about NOBODY.
    expect(b.peersFor(NOBODY)).toEqual([]);
    expect(b.peersFor(OTHER).map((p) => p.has(0))).toEqual([false]);
    end();
    a.close();
    b.close();
  });
});

describe("peer mesh: links made ahead", () => {
  it("a link made ahead takes a free slot only: at the limit it closes no idle link", async () => {
    const C = "peer-cccccccc";
    const { m, clock, closed } = net([A, B, C], 1);
    const a = m[A]!;
    a.connect(B, ROOT);
    await until(() => a.openPeers().length === 1);
    clock.t = 60_000; // B idle for a minute
    a.connect(C, ROOT, true);
    expect(a.isLinked(C)).toBe(false);
    expect(closed).toEqual([]);
    a.connect(C, ROOT); // a download's holder does make room
    expect(closed).toContain(`${A}->${B}:idle`);
  });
});

describe("peer mesh: an offer to a peer at its link limit", () => {
  it("is declined in so many words (no slot held until the connect timeout), not re-offered at once, and accepted once a link there is idle", async () => {
    const Cs = ["peer-c0000001", "peer-c0000002", "peer-c0000003", "peer-c0000004", "peer-c0000005"];
    const { m, clock } = net([A, B, ...Cs], 1); // B accepts maxPeers + 4 = 5 links
    for (const c of Cs) m[c]!.connect(B, ROOT);
    await until(() => m[B]!.openPeers().length === 5);
    const a = m[A]!;
    a.connect(B, ROOT);
    await until(() => !a.isLinked(B)); // declined: the slot is free again
    const [d] = (await a.diagnose()).peers;
    expect([d!.peerId, d!.reason, d!.detail]).toEqual([B, "signal-refused", "link-limit"]);
    expect(m[B]!.openPeers().length).toBe(5); // nobody was dropped for A: every link there is in use
    a.connect(B, ROOT); // declined a moment ago: not offered again yet
    expect(a.isLinked(B)).toBe(false);
    clock.t = 6_000; // B's links have been idle for 6 s; A's pause is over
    a.connect(B, ROOT);
    await until(() => a.openPeers().includes(B));
    expect(m[B]!.openPeers().length).toBe(5); // B closed its longest-idle link to take A
  });
});

/**
 * `swarm.diagnose()`'s pieces: reading the selected candidate pair out of `getStats()` reports as
 * Chromium, Firefox and node-datachannel shape them; naming why a link ended from what it saw; the
 * bounded history; and the mesh's report for links that open, time out, are refused or banned.
 * Real-browser readings (host candidates on the test netns, relay-only peers) are in test/e2e.
 */
import { describe, expect, it } from "vitest";
import { endReason, HISTORY_SIZE, LinkHistory, selectedPair, type PeerDiagnosis } from "../../client/peer-diagnostics";
import { PeerMesh } from "../../client/peer-mesh";
import type { PeerLink, RTCPeerConnectionCtor } from "../../client/peer-link";
import { createSwarm } from "../../client/swarm";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { FakeRTCPeerConnection } from "./fakes/fake-rtc";
import { FakeHub } from "./fakes/fake-coordinator";
import { fakeEdgeServer } from "./fakes/fake-edge";
import type { WebSocketCtor } from "../../client/swarm-client";

const EDGE = "https://edge.test";

const ROOT = "ab".repeat(32);
const A = "peer-aaaaaaaa";
const B = "peer-bbbbbbbb";

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 5) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error("condition not reached");
}

/** Chromium's shape: a transport entry names the selected pair; candidates carry `address`. */
const chromiumReport = () =>
  new Map<string, unknown>([
    ["T01", { id: "T01", type: "transport", selectedCandidatePairId: "CP2" }],
    ["CP1", { id: "CP1", type: "candidate-pair", nominated: false, state: "failed", localCandidateId: "L2", remoteCandidateId: "R1", bytesSent: 0, bytesReceived: 0 }],
    ["CP2", { id: "CP2", type: "candidate-pair", nominated: true, state: "succeeded", localCandidateId: "L1", remoteCandidateId: "R1", bytesSent: 4200, bytesReceived: 4_194_304, currentRoundTripTime: 0.0012 }],
    ["L1", { id: "L1", type: "local-candidate", candidateType: "host", protocol: "udp", address: "10.99.0.1", port: 50123 }],
    ["L2", { id: "L2", type: "local-candidate", candidateType: "relay", protocol: "udp", relayProtocol: "tls", address: "203.0.113.9", port: 3478 }],
    ["R1", { id: "R1", type: "remote-candidate", candidateType: "prflx", protocol: "udp", address: "10.99.0.1", port: 41000 }],
  ]);

/** A fake RTC that gathers typed candidates and reports them through getStats() once connected. */
class StatsRTC extends FakeRTCPeerConnection {
  static policy: RTCIceTransportPolicy = "all";
  getConfiguration() {
    return { iceTransportPolicy: StatsRTC.policy };
  }
  override async setLocalDescription(d: { type: string }) {
    // A relay-only connection without TURN gathers nothing (as Chromium does); else one host candidate.
    if (StatsRTC.policy === "relay") return;
    setImmediate(() => this.onicecandidate?.({ candidate: { candidate: `candidate:1 1 udp 2122260223 10.99.0.1 5${this.id} typ host generation 0`, sdpMid: "0", sdpMLineIndex: 0 } }));
    if (d.type === "answer") setImmediate(() => (this as unknown as { connect(): void }).connect());
  }
  async getStats() {
    if (this.closed || this.connectionState !== "connected") return new Map();
    return chromiumReport();
  }
}
const RTC = StatsRTC as unknown as RTCPeerConnectionCtor;

type SignalMode = "deliver" | "drop" | "unsent";

/** Meshes by id signalling directly (or dropping / failing to send, per `mode`). */
function net(ids: string[], o: { maxPeers?: number; mode?: SignalMode; connectTimeoutMs?: number } = {}) {
  const m: Record<string, PeerMesh> = {};
  for (const me of ids) {
    m[me] = new PeerMesh({
      localId: me, RTCPeerConnection: RTC, maxPeers: o.maxPeers ?? 4, connectTimeoutMs: o.connectTimeoutMs ?? 3000,
      signal: (root, to, data) => {
        if (o.mode === "unsent") return false;
        if (o.mode !== "drop") setImmediate(() => m[to]?.handleSignal(root, me, data));
        return true;
      },
      onRequest: () => {}, onCancel: () => {}, localHave: () => undefined, onChange: () => {},
    });
  }
  return m;
}

const only = (peers: PeerDiagnosis[], id: string) => {
  const found = peers.filter((p) => p.peerId === id);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe("selectedPair", () => {
  it("follows Chromium's transport.selectedCandidatePairId to the pair and its candidates", () => {
    expect(selectedPair(chromiumReport())).toEqual({
      local: { type: "host", protocol: "udp", address: "10.99.0.1", port: 50123 },
      remote: { type: "prflx", protocol: "udp", address: "10.99.0.1", port: 41000 },
      bytesSent: 4200, bytesReceived: 4_194_304, rttMs: 1.2,
    });
  });

  it("without a transport entry (Firefox) takes the nominated, succeeded pair; reads `ip` (node-datachannel)", () => {
    const r = new Map<string, unknown>([
      ["p", { id: "p", type: "candidate-pair", nominated: true, state: "succeeded", localCandidateId: "l", remoteCandidateId: "r", bytesSent: 5, bytesReceived: 7, currentRoundTripTime: 12 }],
      ["q", { id: "q", type: "candidate-pair", nominated: true, state: "in-progress", localCandidateId: "x", remoteCandidateId: "r" }],
      ["l", { id: "l", type: "local-candidate", candidateType: "relay", protocol: "udp", relayProtocol: "tcp", ip: "198.51.100.7", port: 9 }],
      ["r", { id: "r", type: "remote-candidate", candidateType: "srflx", ip: "192.0.2.4", port: 10 }],
    ]);
    expect(selectedPair(r)).toEqual({
      local: { type: "relay", protocol: "udp", relayProtocol: "tcp", address: "198.51.100.7", port: 9 },
      remote: { type: "srflx", address: "192.0.2.4", port: 10 },
      bytesSent: 5, bytesReceived: 7, rttMs: 12, // node-datachannel reports ms
    });
    (r.get("p") as { currentRoundTripTime: number }).currentRoundTripTime = -1; // libdatachannel: no RTT yet
    expect(selectedPair(r)?.rttMs).toBeUndefined();
  });

  it("is undefined before ICE selected a pair", () => {
    expect(selectedPair(new Map([["c", { id: "c", type: "candidate-pair", nominated: false, state: "in-progress" }]]))).toBeUndefined();
    expect(selectedPair(new Map())).toBeUndefined();
  });
});

describe("endReason", () => {
  const f = { opened: false, local: { host: 2 }, remote: 3, iceTransportPolicy: "all" as RTCIceTransportPolicy };
  it.each([
    ["timeout", f, "failed", "connect-timeout"],
    ["timeout", { ...f, iceTransportPolicy: "relay" as const, local: {} }, "failed", "relay-policy"],
    ["ice-failed", { ...f, iceTransportPolicy: "relay" as const, local: { relay: 1 } }, "failed", "ice-failed"],
    ["timeout", { ...f, signalError: "peer-gone" }, "failed", "signal-refused"],
    ["timeout", { ...f, signalError: "unsent" }, "failed", "signal-unsent"],
    ["timeout", { ...f, remote: 0 }, "failed", "no-remote-candidates"],
    ["ice-failed", { ...f, opened: true }, "failed", "ice-failed"],
    ["channel-closed", f, "failed", "channel-closed"],
    ["channel-closed", { ...f, opened: true }, "closed", "channel-closed"],
    ["peer-left", f, "failed", "peer-left"],
    ["idle", { ...f, opened: true }, "closed", "idle"],
    ["local", f, "closed", "local"],
    ["protocol", { ...f, opened: true }, "failed", "protocol"],
    ["banned", { ...f, opened: true }, "failed", "banned"],
  ] as const)("%s with %j → %s %s", (raw, facts, state, reason) => {
    expect(endReason(raw, facts)).toMatchObject({ state, reason });
  });

  it("keeps a signalling error's message as the detail", () => {
    expect(endReason("signal-error: Failed to parse SessionDescription", f)).toEqual({ state: "failed", reason: "signal-error", detail: "Failed to parse SessionDescription" });
  });
});

describe("LinkHistory", () => {
  const ended = (i: number, reason: PeerDiagnosis["reason"] = "connect-timeout"): PeerDiagnosis => ({
    peerId: `peer-${i}`, roots: [ROOT], state: "failed", offeredBy: "local", iceConnectionState: "checking", startedAt: i, endedAt: i, reason, candidates: { local: {}, remote: 0 },
  });

  it(`keeps the newest ${HISTORY_SIZE} ended links, newest first`, () => {
    const h = new LinkHistory();
    for (let i = 0; i < 200; i++) h.add(ended(i));
    const l = h.list();
    expect(l).toHaveLength(HISTORY_SIZE);
    expect(l[0]!.peerId).toBe("peer-199");
    expect(l.at(-1)!.peerId).toBe(`peer-${200 - HISTORY_SIZE}`);
  });

  it("folds repeats of one peer and reason into one entry with a count, so they cannot flush the rest", () => {
    const h = new LinkHistory(4);
    h.add(ended(1));
    h.add(ended(2));
    for (let i = 0; i < 50; i++) h.add(ended(3, "link-limit"));
    h.add(ended(3, "banned"));
    expect(h.list().map((d) => [d.peerId, d.reason, d.attempts])).toEqual([
      ["peer-3", "banned", undefined], ["peer-3", "link-limit", 50], ["peer-2", "connect-timeout", undefined], ["peer-1", "connect-timeout", undefined],
    ]);
  });
});

describe("PeerMesh.diagnose", () => {
  it("reports a connected link on both sides: who offered, ICE state, the selected pair's types and bytes", async () => {
    StatsRTC.policy = "all";
    const m = net([A, B]);
    m[A]!.connect(B, ROOT);
    await until(() => m[A]!.openPeers().length === 1 && m[B]!.openPeers().length === 1);
    // The channel can open before B's trickled candidate reaches A: wait for it, as it is counted.
    const linkOf = (x: PeerMesh, id: string) => (x as unknown as { entries: Map<string, { link: PeerLink }> }).entries.get(id)!.link;
    await until(() => linkOf(m[A]!, B).facts.remote === 1 && linkOf(m[B]!, A).facts.remote === 1);
    const a = await m[A]!.diagnose();
    const b = await m[B]!.diagnose();
    const ab = only(a.peers, B);
    expect(ab).toMatchObject({ state: "connected", offeredBy: "local", roots: [ROOT], candidates: { local: { host: 1 }, remote: 1 } });
    expect(ab.pair).toMatchObject({ local: { type: "host", address: "10.99.0.1", protocol: "udp" }, remote: { type: "prflx" }, bytesReceived: 4_194_304, rttMs: 1.2 });
    expect(ab.openedAt).toBeGreaterThanOrEqual(ab.startedAt);
    expect(only(b.peers, A)).toMatchObject({ state: "connected", offeredBy: "remote" });
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);

    m[A]!.close();
    const after = only((await m[A]!.diagnose()).peers, B);
    // An ended link keeps its last reading of the pair.
    expect(after).toMatchObject({ state: "closed", reason: "local", pair: { local: { type: "host" } } });
    expect(after.endedAt).toBeGreaterThanOrEqual(after.openedAt!);
    m[B]!.close();
  });

  it("a relay-only link that gathered no relay candidate fails as relay-policy", async () => {
    StatsRTC.policy = "relay";
    try {
      const m = net([A, B], { connectTimeoutMs: 50 });
      m[A]!.connect(B, ROOT);
      await until(() => !m[A]!.isLinked(B) && !m[B]!.isLinked(A));
      const a = only((await m[A]!.diagnose()).peers, B);
      expect(a).toMatchObject({ state: "failed", reason: "relay-policy", offeredBy: "local", candidates: { local: {}, remote: 0 } });
      expect(a.pair).toBeUndefined();
      expect(only((await m[B]!.diagnose()).peers, A)).toMatchObject({ state: "failed", reason: "relay-policy", offeredBy: "remote" });
    } finally {
      StatsRTC.policy = "all";
    }
  });

  it("names why a link never opened: no answer, no socket for the signal, a signal the coordinator refused", async () => {
    const dropped = net([A], { mode: "drop", connectTimeoutMs: 50 });
    dropped[A]!.connect(B, ROOT);
    await until(() => !dropped[A]!.isLinked(B));
    expect(only((await dropped[A]!.diagnose()).peers, B)).toMatchObject({ state: "failed", reason: "no-remote-candidates", candidates: { local: { host: 1 }, remote: 0 } });

    const unsent = net([A], { mode: "unsent", connectTimeoutMs: 50 });
    unsent[A]!.connect(B, ROOT);
    await until(() => !unsent[A]!.isLinked(B));
    expect(only((await unsent[A]!.diagnose()).peers, B)).toMatchObject({ state: "failed", reason: "signal-unsent", detail: "unsent" });

    // peer-gone: the link closes at once (no slot held until the timeout); only the named peer's.
    const gone = net([A], { mode: "drop", connectTimeoutMs: 60_000 });
    gone[A]!.connect(B, ROOT);
    gone[A]!.connect("peer-cccccccc", ROOT);
    gone[A]!.signalRefused(ROOT, "peer-gone", `peer ${B} is not in this swarm`);
    expect(gone[A]!.isLinked(B)).toBe(false);
    expect(gone[A]!.isLinked("peer-cccccccc")).toBe(true);
    const d = (await gone[A]!.diagnose()).peers;
    expect(only(d, B)).toMatchObject({ state: "failed", reason: "signal-refused", detail: "peer-gone" });
    expect(only(d, "peer-cccccccc")).toMatchObject({ state: "connecting" });
    gone[A]!.close();

    // target-busy is transient: the link keeps trying, and its timeout names the refusal.
    const busy = net([A], { mode: "drop", connectTimeoutMs: 100 });
    busy[A]!.connect(B, ROOT);
    busy[A]!.signalRefused(ROOT, "target-busy", `peer ${B} receives too many signals; try later`);
    expect(busy[A]!.isLinked(B)).toBe(true);
    await until(() => !busy[A]!.isLinked(B));
    expect(only((await busy[A]!.diagnose()).peers, B)).toMatchObject({ state: "failed", reason: "signal-refused", detail: "target-busy" });
  });

  it("a failed attempt and the mesh's retry of it fold into one entry that counts both", async () => {
    const m = net([A], { mode: "drop", connectTimeoutMs: 40 });
    m[A]!.connect(B, ROOT);
    // Connecting covers the retry's wait: done once the one retry (peer-mesh.ts RETRYABLE) failed too.
    await until(() => !m[A]!.isLinked(B) && !m[A]!.connecting(ROOT));
    const d = (await m[A]!.diagnose()).peers;
    expect(d.map((p) => [p.peerId, p.state, p.reason, p.attempts])).toEqual([[B, "failed", "no-remote-candidates", 2]]);
  });

  it("records peers not tried at the link limit and banned peers, folding repeats", async () => {
    const m = net([A, B, "peer-cccccccc"], { maxPeers: 1 });
    m[A]!.connect(B, ROOT);
    await until(() => m[A]!.openPeers().length === 1);
    m[A]!.connect("peer-cccccccc", ROOT); // B was used just now: no room
    m[A]!.connect("peer-cccccccc", ROOT);
    m[A]!.ban(B);
    m[A]!.connect(B, ROOT);
    await until(() => m[B]!.size === 0);
    const peers = (await m[A]!.diagnose()).peers;
    expect(peers.map((p) => [p.peerId, p.state, p.reason, p.attempts])).toEqual([
      [B, "failed", "banned", undefined], // refused again after the ban
      [B, "failed", "banned", undefined], // the open link, closed by the ban
      ["peer-cccccccc", "failed", "link-limit", 2],
    ]);
    expect(peers[1]!.openedAt).toBeDefined();
    for (const x of Object.values(m)) x.close();
  });

  it("lists ICE server URLs only: TURN usernames and credentials never appear", async () => {
    const m = net([A]);
    m[A]!.iceServers = [{ urls: "stun:stun.cloudflare.com:3478" }, { urls: ["turn:turn.example:3478?transport=udp", "turns:turn.example:5349"], username: "1767225600:pk_x", credential: "s3cr3t-hmac" }];
    const d = await m[A]!.diagnose();
    expect(d.iceServers).toEqual(["stun:stun.cloudflare.com:3478", "turn:turn.example:3478?transport=udp", "turns:turn.example:5349"]);
    expect(JSON.stringify(d)).not.toMatch(/s3cr3t|1767225600/);
  });
});

describe("Swarm.diagnose", () => {
  it("a holder that left before our offer reached it: the coordinator's peer-gone fails the link as signal-refused", async () => {
    const edge = await fakeEdgeServer(EDGE, { "/demo/a.bin": { size: 8 * 16384 } });
    const hub = new FakeHub();
    const root = (await (await edge.fetch(`${EDGE}/m/demo/a.bin`)).json() as { manifest: { root: string } }).manifest.root;
    // A ghost member: listed in `peers` answers as holding everything, gone by the time we signal it
    // (the race the real coordinator answers with peer-gone).
    const GHOST = "pk_ghostghostghostghostghostghos";
    const members = hub.members(root);
    members.set(GHOST, { ws: { deliver() {} } as never, bits: new Uint8Array([0xff]), hello: true, items: new Map() });
    const get = members.get.bind(members);
    members.get = (id: string) => (id === GHOST ? undefined : get(id));
    const a = createSwarm({
      edge: EDGE, fetch: edge.fetch, WebSocket: hub.socketClass() as unknown as WebSocketCtor, RTCPeerConnection: RTC,
      // The download waits for the swarm to settle (the `peers` answer, then the ghost's link
      // failing), not for a wall-clock grace: on a loaded machine a short peerWaitMs could let it
      // end from the edge before the answer came, and nobody would offer to the ghost at all.
      store: await store(), peerWaitMs: 60_000,
    });
    try {
      const res = await a.fetch("/c/demo/a.bin");
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      // The offer and the refusal travel asynchronously beside the download: poll, bounded.
      let d = await a.diagnose();
      for (let t = 0; t < 3000 && !d.peers.some((p) => p.peerId === GHOST && p.state === "failed"); t += 10) {
        await new Promise((r) => setTimeout(r, 10));
        d = await a.diagnose();
      }
      expect(d.p2p).toBe("on");
      expect(d.peers.filter((p) => p.peerId === GHOST)).toEqual([expect.objectContaining({ state: "failed", reason: "signal-refused", detail: "peer-gone", offeredBy: "local" })]);
      expect(hub.log.some((l) => l.type === "signal" && l.raw.includes(GHOST))).toBe(true);
    } finally {
      a.close();
    }
  });

  const store = () => ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 1 << 20 });

  it("says why the peer side is off: no WebRTC, or no consent yet", async () => {
    const none = createSwarm({ edge: "https://cdn.test", RTCPeerConnection: null, store: await store(), iceTransportPolicy: "relay" });
    expect(await none.diagnose()).toEqual({ peerId: await none.ready, p2p: "unsupported", iceTransportPolicy: "relay", iceServers: [], peers: [] });
    none.close();
    const waiting = createSwarm({
      edge: "https://cdn.test", RTCPeerConnection: RTC, WebSocket: class {} as never, store: await store(),
      consent: () => new Promise<boolean>(() => {}),
    });
    expect(await waiting.diagnose()).toMatchObject({ p2p: "no-consent", iceTransportPolicy: "all", peers: [] });
    waiting.close();
  });
});

/**
 * The SDK's swarm-health counters (issue 16): counted once from the typed events (`peer-stats.ts`),
 * turned into the coordinator's `stats` frame on the peer side (`content-swarm.ts` `statsReport`),
 * and sent in the existing batched report — here from a real download that meets a lying seeder.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createSwarm, type Swarm } from "../../client/swarm";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { statsReport } from "../../client/content-swarm";
import { ByteTally } from "../../client/peer-stats";
import type { RTCPeerConnectionCtor } from "../../client/peer-link";
import type { WebSocketCtor } from "../../client/swarm-client";
import { parseClientMessage } from "../../protocol/swarm-protocol";
import { digestOf } from "./helpers";
import { LyingChunkBackend } from "./fakes/lying-backend";
import { FakeRTCPeerConnection } from "./fakes/fake-rtc";
import { FakeHub } from "./fakes/fake-coordinator";
import { fakeEdgeServer } from "./fakes/fake-edge";

const EDGE = "https://edge.test";
const CS = 16 * 1024;
const URL_A = `${EDGE}/c/demo/a.bin`;
const live: Swarm[] = [];
afterEach(() => {
  for (const s of live.splice(0)) s.close();
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 10) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error("condition not reached");
}

describe("health counters", () => {
  it("a tally counts hash failures, distinct refused peers, lane and deadline edge bytes; the report carries them", () => {
    const t = new ByteTally();
    t.add("chunk", { url: URL_A, index: 0, bytes: 100, source: "edge", why: "lane" });
    t.add("chunk", { url: URL_A, index: 1, bytes: 70, source: "edge", why: "deadline" });
    t.add("chunk", { url: URL_A, index: 2, bytes: 30, source: "edge", why: "start" });
    t.add("chunk", { url: URL_A, index: 3, bytes: 50, source: "peer", peerId: "p1" });
    t.add("hash-failure", { url: URL_A, index: 4, peerId: "bad1", bytes: 64 });
    t.add("hash-failure", { url: URL_A, index: 5, peerId: "bad1", bytes: 64 });
    t.add("hash-failure", { url: URL_A, index: 6, peerId: "bad2", bytes: 64 });
    t.add("upload", { root: "r", peerId: "p2", bytes: 9 });
    expect(statsReport(t)).toEqual({
      fromPeers: 50, fromEdge: 200, uploaded: 9, hashFailures: 3, bannedPeers: 2, edgeLaneBytes: 100, deadlineFallbackBytes: 70,
    });
    // Nothing counted yet: all zero, and a valid frame.
    const empty = statsReport(undefined);
    expect(Object.values(empty).every((v) => v === 0)).toBe(true);
    const parsed = parseClientMessage(JSON.stringify({ type: "stats", ...statsReport(t) }));
    expect(parsed.ok && parsed.value).toEqual({ type: "stats", ...statsReport(t) });
  });

  it("a download that meets a lying seeder reports its hash failures and the ban in its coordinator stats frame", async () => {
    const edge = await fakeEdgeServer(EDGE, { "/demo/a.bin": { size: 40 * CS + 999 } });
    const hub = new FakeHub();
    const peer = async (backend: MemoryChunkBackend) => {
      const s = createSwarm({
        edge: EDGE, fetch: edge.fetch, WebSocket: hub.socketClass() as unknown as WebSocketCtor,
        RTCPeerConnection: FakeRTCPeerConnection as unknown as RTCPeerConnectionCtor,
        store: await ChunkStore.open(backend, { quotaBytes: 64 << 20 }), peerWaitMs: 3000,
      });
      live.push(s);
      return s;
    };
    const evil = await peer(new LyingChunkBackend());
    await (await evil.fetch("/c/demo/a.bin")).arrayBuffer();
    await until(() => hub.log.some((l) => l.peerId === evil.peerId && l.type === "have" && l.raw.includes("40")));
    const b = await peer(new MemoryChunkBackend());
    const bytes = new Uint8Array(await (await b.fetch("/c/demo/a.bin")).arrayBuffer());
    expect(digestOf(bytes)).toEqual(digestOf(edge.items.get("/demo/a.bin")!.bytes));
    const st = b.stats();
    expect(st.hashFailures).toBeGreaterThan(0);
    b.close(); // leaving sends the last report (the runtime otherwise reports every 5 s)
    const frames = hub.log.filter((l) => l.peerId === b.peerId && l.type === "stats").map((l) => parseClientMessage(l.raw));
    const last = frames.at(-1);
    expect(last?.ok).toBe(true);
    const c = st.contents[URL_A]!;
    expect(last!.ok && last!.value).toEqual({
      type: "stats", fromPeers: st.fromPeers, fromEdge: st.fromEdge, uploaded: st.uploaded,
      hashFailures: st.hashFailures, bannedPeers: 1,
      edgeLaneBytes: c.edgeWhy.lane ?? 0, deadlineFallbackBytes: c.edgeWhy.deadline ?? 0,
    });
  });
});

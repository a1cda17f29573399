/**
 * Collection swarms on the SDK side (`collection-socket.ts`, `p2p-runtime.ts`): items of one
 * collection share one coordinator socket, an instance holds at most `maxCoordinatorSockets`
 * (least recently used left with `bye`), and a two-hour live session keeps sockets, items and
 * timers flat (fake clock).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { createSwarm, type Swarm } from "../../client/swarm";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { P2PRuntime } from "../../client/p2p-runtime";
import type { RTCPeerConnectionCtor } from "../../client/peer-link";
import type { WebSocketCtor } from "../../client/swarm-client";
import type { ManifestResponse } from "../../protocol/manifest";
import { MAX_ITEMS_PER_MEMBER } from "../../protocol/collection";
import { digestOf } from "./helpers";
import { FakeRTCPeerConnection } from "./fakes/fake-rtc";
import { FakeHub } from "./fakes/fake-coordinator";
import { fakeEdgeServer } from "./fakes/fake-edge";

const EDGE = "https://edge.test";
const CS = 16 * 1024;
const hex = (n: number) => n.toString(16).padStart(64, "0");
const live: Swarm[] = [];
afterEach(() => {
  for (const s of live.splice(0)) s.close();
  vi.useRealTimers();
});

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 10) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error("condition not reached");
}

describe("collection sockets", () => {
  it("40 segments of one stream: one socket per viewer, the second viewer gets every segment from the first, bytes equal the edge's, ≤ 10 coordinator frames per segment", async () => {
    const STREAM = hex(0xc011);
    const files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`/demo/live/seg-${i}.m4s`, { size: 3 * CS + 100, seed: i + 1, swarm: STREAM }]));
    const edge = await fakeEdgeServer(EDGE, files);
    const hub = new FakeHub();
    const viewer = async () => {
      const s = createSwarm({
        edge: EDGE, fetch: edge.fetch, WebSocket: hub.socketClass() as unknown as WebSocketCtor,
        RTCPeerConnection: FakeRTCPeerConnection as unknown as RTCPeerConnectionCtor,
        store: await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 64 << 20 }), peerWaitMs: 3000,
        // The fake edge answers at once: a peer-path test, not a race (edge lane slack).
        scheduler: { laneSlackMs: 60_000 },
      });
      live.push(s);
      return s;
    };
    const a = await viewer();
    for (const path of Object.keys(files)) await (await a.fetch(`/c${path}`)).arrayBuffer();
    await until(() => hub.log.filter((l) => l.peerId === a.peerId && l.type === "have").length >= 40);
    const b = await viewer();
    for (const path of Object.keys(files)) {
      const got = new Uint8Array(await (await b.fetch(`/c${path}`)).arrayBuffer());
      expect(digestOf(got)).toEqual(digestOf(edge.items.get(path)!.bytes));
    }
    const st = b.stats();
    // Every segment after the first found the first viewer through the shared socket (how many of
    // its chunks the edge lane races is the download core's policy, not the swarm's).
    const fromPeers = Object.keys(files).slice(1).map((p) => st.contents[`${EDGE}/c${p}`]?.fromPeers ?? 0);
    expect(fromPeers.filter((n) => n === 0)).toEqual([]);
    expect(hub.opened.get(a.peerId)).toBe(1);
    expect(hub.opened.get(b.peerId)).toBe(1);
    // Every item frame names its item; the collection's socket went to the stream's swarm.
    expect(hub.log.filter((l) => l.peerId === b.peerId && (l.type === "have" || l.type === "want")).every((l) => l.raw.includes('"item"'))).toBe(true);
    expect(new Set(hub.log.filter((l) => l.peerId === b.peerId).map((l) => l.root))).toEqual(new Set([STREAM]));
    const framesB = hub.log.filter((l) => l.peerId === b.peerId).length + (hub.sent.get(b.peerId) ?? 0);
    expect(framesB / 40).toBeLessThanOrEqual(10);
  });

  it("items of six swarms: at most 4 sockets open, the least recently used left with bye", async () => {
    const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`/demo/s${i}/a.bin`, { size: CS, seed: i + 1, swarm: hex(0x5000 + i) }]));
    const edge = await fakeEdgeServer(EDGE, files);
    const hub = new FakeHub();
    const s = createSwarm({
      edge: EDGE, fetch: edge.fetch, WebSocket: hub.socketClass() as unknown as WebSocketCtor,
      RTCPeerConnection: FakeRTCPeerConnection as unknown as RTCPeerConnectionCtor,
      store: await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 64 << 20 }), peerWaitMs: 200,
    });
    live.push(s);
    for (const path of Object.keys(files)) {
      await (await s.fetch(`/c${path}`)).arrayBuffer();
      expect(hub.liveCount(s.peerId)).toBeLessThanOrEqual(4);
    }
    expect(hub.opened.get(s.peerId)).toBe(6);
    expect(hub.liveCount(s.peerId)).toBe(4);
    const byes = hub.log.filter((l) => l.peerId === s.peerId && l.type === "bye").map((l) => l.root);
    expect(byes).toEqual([hex(0x5000), hex(0x5001)]);
  });

  it("a two-hour live session (a segment every 2 s) keeps one socket, a bounded item window and flat timers", async () => {
    vi.useFakeTimers();
    const hub = new FakeHub();
    const STREAM = hex(0x11fe);
    const held = new Set<string>();
    const rt = new P2PRuntime({
      peerId: "viewer-0001", edge: EDGE, kind: "browser", maxPeers: 8, uploadSlots: 4, maxUploadBytesPerSec: 0,
      RTCPeerConnection: FakeRTCPeerConnection as unknown as RTCPeerConnectionCtor, WebSocket: hub.socketClass() as unknown as WebSocketCtor,
      store: { has: (r) => held.has(r), held: (r) => (held.has(r) ? [0] : []), get: async () => undefined },
      seeding: () => true, rejoin: async () => { throw new Error("no rejoin"); }, emit: () => {}, counters: () => undefined,
    });
    const segment = (i: number): ManifestResponse => ({
      manifest: { url: `/c/live/seg-${i}.m4s`, version: "", size: CS, type: "video/iso.segment", chunkSize: CS, chunks: [hex(i + 1)], root: hex(0x100000 + i) },
      join: { peerId: "viewer-0001", token: "viewer-0001", expires: Date.now() + 4 * 3600_000, url: `/swarm/${STREAM}`, swarm: STREAM },
      iceServers: [],
    });
    let timersEarly = 0;
    let timersLate = 0;
    const SEGMENTS = 3600; // 2 h of 2 s segments
    for (let i = 0; i < SEGMENTS; i++) {
      const cs = rt.join(segment(i), new URL(`${EDGE}/c/live/seg-${i}.m4s`));
      const end = cs.startDownload();
      held.add(cs.root);
      cs.announce(0);
      await vi.advanceTimersByTimeAsync(2000);
      end();
      // Flat: the last hour needs no more timers than the first five minutes.
      if (i <= 150) timersEarly = Math.max(timersEarly, vi.getTimerCount());
      if (i >= SEGMENTS - 1800) timersLate = Math.max(timersLate, vi.getTimerCount());
      expect(rt.socketCount).toBe(1);
      expect(rt.itemCount).toBeLessThanOrEqual(MAX_ITEMS_PER_MEMBER);
    }
    expect(timersLate).toBeLessThanOrEqual(timersEarly);
    expect(hub.opened.get("viewer-0001")).toBe(1);
    // The coordinator side of the window is bounded the same way.
    expect(hub.members(STREAM).get("viewer-0001")!.items!.size).toBeLessThanOrEqual(MAX_ITEMS_PER_MEMBER);
    const frames = hub.log.filter((l) => l.peerId === "viewer-0001" && l.type !== "stats").length;
    expect(frames / SEGMENTS).toBeLessThanOrEqual(3); // a want and a have per segment (+ hello)
    rt.close();
  });
});

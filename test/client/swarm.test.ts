import { afterEach, describe, expect, it, vi } from "vitest";
import { createSwarm, type Swarm, type SwarmOptions } from "../../client/swarm";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { LyingChunkBackend } from "./fakes/lying-backend";
import type { RTCPeerConnectionCtor } from "../../client/peer-link";
import type { WebSocketCtor } from "../../client/swarm-client";
import { digestOf } from "./helpers";
import { FakeRTCPeerConnection } from "./fakes/fake-rtc";
import { FakeHub } from "./fakes/fake-coordinator";
import { fakeEdgeServer } from "./fakes/fake-edge";

const EDGE = "https://edge.test";
const CS = 16 * 1024;
const live: Swarm[] = [];
afterEach(() => {
  for (const s of live.splice(0)) s.close();
});

async function world(files: Parameters<typeof fakeEdgeServer>[1] = { "/demo/a.bin": { size: 40 * CS + 999 } }) {
  const edge = await fakeEdgeServer(EDGE, files);
  const hub = new FakeHub();
  const peer = async (opts: Partial<SwarmOptions> = {}) => {
    const s = createSwarm({
      edge: EDGE, fetch: edge.fetch, WebSocket: hub.socketClass() as unknown as WebSocketCtor,
      RTCPeerConnection: FakeRTCPeerConnection as unknown as RTCPeerConnectionCtor,
      store: await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 64 << 20 }),
      // The fake edge answers at once: these tests are about the peer path, not the race, so the
      // edge lane's slack lets peers take up to a minute beyond the edge alone's schedule.
      peerWaitMs: 3000, scheduler: { laneSlackMs: 60_000 }, ...opts,
    });
    live.push(s);
    return s;
  };
  return { edge, hub, peer };
}

async function body(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

/** Waits (bounded) until `cond` holds. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 10) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error("condition not reached");
}

describe("swarm.fetch", () => {
  it("streams a whole item with the origin's type and length (edge only, no WebRTC)", async () => {
    const { edge, peer } = await world();
    const s = await peer({ RTCPeerConnection: null });
    const res = await s.fetch("/c/demo/a.bin");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("video/mp4");
    expect(res.headers.get("content-length")).toBe(String(40 * CS + 999));
    expect(res.headers.get("x-edgeswarm")).toBe("p2p");
    const item = edge.items.get("/demo/a.bin")!;
    expect(digestOf(await body(res))).toEqual(digestOf(item.bytes));
    expect(s.stats().fromEdge).toBe(item.bytes.length);
    expect(s.stats().contents[`${EDGE}/c/demo/a.bin`]).toMatchObject({ size: item.bytes.length, received: item.bytes.length, fromEdge: item.bytes.length });
    // Large contiguous ranges, not chunk dribbles: the fast-start chunk plus one request.
    expect(edge.hits.ranges.length).toBeLessThanOrEqual(2);
  });

  it("says in each edge chunk's progress event why the edge served it", async () => {
    const { edge, peer } = await world();
    const s = await peer({ RTCPeerConnection: null });
    const whys: (string | undefined)[] = [];
    s.addEventListener("progress", (e) => whys.push((e as CustomEvent).detail.why));
    const item = edge.items.get("/demo/a.bin")!;
    expect(digestOf(await body(await s.fetch("/c/demo/a.bin")))).toEqual(digestOf(item.bytes));
    expect(whys.length).toBe(41);
    // No peer side at all: the first chunk is the fast start, the rest no peer could serve.
    expect(whys[0]).toBe("start");
    expect(new Set(whys.slice(1))).toEqual(new Set(["orphan"]));
  });

  it("answers Range requests with 206 and exact bytes, 416 when unsatisfiable", async () => {
    const { edge, peer } = await world();
    const s = await peer({ RTCPeerConnection: null });
    const bytes = edge.items.get("/demo/a.bin")!.bytes;
    const size = bytes.length;
    for (const [h, start, end] of [
      ["bytes=0-0", 0, 1], [`bytes=${CS - 1}-${CS}`, CS - 1, CS + 1], [`bytes=${3 * CS}-`, 3 * CS, size],
      ["bytes=-100", size - 100, size], [`bytes=${5 * CS + 3}-${9 * CS - 4}`, 5 * CS + 3, 9 * CS - 3],
    ] as [string, number, number][]) {
      const res = await s.fetch(`${EDGE}/c/demo/a.bin`, { headers: { Range: h } });
      expect(res.status).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end - 1}/${size}`);
      expect(res.headers.get("content-length")).toBe(String(end - start));
      expect(digestOf(await body(res))).toEqual(digestOf(bytes.slice(start, end)));
    }
    const r416 = await s.fetch("/c/demo/a.bin", { headers: { range: `bytes=${size}-` } });
    expect(r416.status).toBe(416);
    expect(r416.headers.get("content-range")).toBe(`bytes */${size}`);
    // Reversed and past the end: invalid, so ignored (RFC 9110 §14.1.1) → the whole item, as the edge answers.
    const reversed = await s.fetch("/c/demo/a.bin", { headers: { range: `bytes=${2 * size}-${size}` } });
    expect(reversed.status).toBe(200);
    expect(reversed.headers.get("content-range")).toBeNull();
    expect(digestOf(await body(reversed))).toEqual(digestOf(bytes));
  });

  it("falls back to a plain edge fetch for ineligible content and never joins its swarm", async () => {
    const { edge, hub, peer } = await world({ "/demo/private.bin": { size: 3 * CS, ineligible: true } });
    const s = await peer();
    const res = await s.fetch("/c/demo/private.bin");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-edgeswarm")).toBeNull();
    expect(digestOf(await body(res))).toEqual(digestOf(edge.items.get("/demo/private.bin")!.bytes));
    expect(hub.log.length).toBe(0);
  });

  it("passes through what is not edge content, and plain-fetches when the manifest fails", async () => {
    const { edge, peer } = await world();
    const s = await peer();
    expect((await s.fetch("https://elsewhere.test/x")).status).toBe(404);
    expect((await s.fetch("/c/demo/missing.bin")).status).toBe(404); // what the edge itself says
    const post = await s.fetch("/c/demo/a.bin", { method: "POST", body: "x" });
    expect(post.headers.get("x-edgeswarm")).toBeNull();
    expect(edge.hits.manifest).toBe(1);
  });

  it("leaves conditional requests and insecure contexts (no WebCrypto) to the edge", async () => {
    const { edge, peer } = await world();
    const s = await peer({ RTCPeerConnection: null });
    for (const h of ["If-None-Match", "If-Modified-Since", "If-Range"]) {
      const res = await s.fetch("/c/demo/a.bin", { headers: { [h]: "x" } });
      expect(res.headers.get("x-edgeswarm")).toBeNull();
    }
    expect(edge.hits.manifest).toBe(0);
    vi.stubGlobal("crypto", { getRandomValues: (b: Uint8Array) => b });
    try {
      const res = await s.fetch("/c/demo/a.bin");
      expect(res.headers.get("x-edgeswarm")).toBeNull();
      expect(digestOf(await body(res))).toEqual(digestOf(edge.items.get("/demo/a.bin")!.bytes));
    } finally {
      vi.unstubAllGlobals();
    }
    expect(edge.hits.manifest).toBe(0);
  });

  it("honours AbortSignal like fetch: rejects when aborted before, errors the body when aborted during", async () => {
    const { peer } = await world();
    const s = await peer({ RTCPeerConnection: null });
    await expect(s.fetch("/c/demo/a.bin", { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
    const ctrl = new AbortController();
    const res = await s.fetch("/c/demo/a.bin", { signal: ctrl.signal });
    expect(res.headers.get("x-edgeswarm")).toBe("p2p");
    const reader = res.body!.getReader();
    await reader.read();
    ctrl.abort();
    await expect((async () => { for (;;) if ((await reader.read()).done) return "done"; })()).rejects.toMatchObject({ name: "AbortError" });
  });

  it("second peer gets the item from the first over peer links, verified, origin/edge spared", async () => {
    const { edge, hub, peer } = await world();
    const item = edge.items.get("/demo/a.bin")!;
    const a = await peer();
    expect(digestOf(await body(await s(a)))).toEqual(digestOf(item.bytes));
    await until(() => hub.announced(a.peerId) === 41); // every chunk announced (batches of 50 ms)
    const edgeBytesBefore = edge.hits.bytes;
    const b = await peer();
    const progress: string[] = [];
    b.addEventListener("progress", (e) => progress.push((e as CustomEvent).detail.source));
    expect(digestOf(await body(await s(b)))).toEqual(digestOf(item.bytes));
    const st = b.stats();
    expect(st.fromPeers / item.bytes.length).toBeGreaterThanOrEqual(0.75);
    expect(st.contents[`${EDGE}/c/demo/a.bin`]!.byPeer[a.peerId]).toBe(st.fromPeers);
    expect(edge.hits.bytes - edgeBytesBefore).toBeLessThanOrEqual(CS); // the fast-start chunk at most
    expect(progress).toContain("peer");
    await until(() => a.stats().uploaded >= st.fromPeers);
    expect(a.stats().uploaded).toBe(st.fromPeers);
    expect(b.stats().peersConnected).toBe(1);
  });

  it("a page that scribbles over and transfers away the chunks it reads cannot change what its store serves to peers", async () => {
    const { edge, hub, peer } = await world();
    const item = edge.items.get("/demo/a.bin")!;
    const a = await peer();
    await body(await s(a));
    await until(() => hub.announced(a.peerId) === 41);
    const backend = new MemoryChunkBackend();
    const b = await peer({ store: await ChunkStore.open(backend, { quotaBytes: 64 << 20 }) });
    const reader = (await s(b)).body!.getReader();
    let read = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      read += value.length;
      value.fill(0xee);
      structuredClone(value.buffer, { transfer: [value.buffer] }); // detached, as the service worker bridge does
    }
    expect(read).toBe(item.bytes.length);
    expect(b.stats().fromPeers).toBeGreaterThanOrEqual(item.bytes.length - CS);
    await until(() => hub.announced(b.peerId) === 41);
    // The store holds the item's own bytes, chunk by chunk.
    expect(backend.chunks.size).toBe(41);
    for (const [key, bytes] of backend.chunks) {
      const i = Number(key.split("/")[1]);
      expect(digestOf(bytes)).toEqual(digestOf(item.bytes.subarray(i * CS, (i + 1) * CS)));
    }
    // And a third peer, with b as its only seeder, gets them verified.
    a.close();
    const c = await peer();
    expect(digestOf(await body(await s(c)))).toEqual(digestOf(item.bytes));
    const st = c.stats();
    expect(st.hashFailures).toBe(0);
    expect(st.bannedPeers).toEqual([]);
    expect(st.contents[`${EDGE}/c/demo/a.bin`]!.byPeer[b.peerId]).toBeGreaterThanOrEqual(item.bytes.length - CS);
  });

  it("bans a seeder that uploads corrupted bytes; the page gets only correct bytes", async () => {
    const { edge, hub, peer } = await world();
    const item = edge.items.get("/demo/a.bin")!;
    // The only seeder is poisoned: its store hands out altered bytes (with a good one too, the good one may serve everything before the
    // evil link opens; the scheduler tests cover re-fetching from a good peer deterministically).
    const evil = await peer({ store: await ChunkStore.open(new LyingChunkBackend(), { quotaBytes: 64 << 20 }) });
    await body(await s(evil));
    await until(() => hub.announced(evil.peerId) === 41);
    const b = await peer();
    expect(digestOf(await body(await s(b)))).toEqual(digestOf(item.bytes));
    const st = b.stats();
    expect(st.bannedPeers).toEqual([evil.peerId]);
    expect(st.hashFailures).toBeGreaterThan(0);
    expect(st.contents[`${EDGE}/c/demo/a.bin`]!.byPeer[evil.peerId]).toBeUndefined();
    expect(st.fromPeers).toBe(0);
    expect(st.peersConnected).toBe(0);
  });

  it("typed events: stats() equals what the events said; progress, chunk, peer-up and hash-failure type-check", async () => {
    const { hub, peer } = await world();
    const evil = await peer({ store: await ChunkStore.open(new LyingChunkBackend(), { quotaBytes: 64 << 20 }) });
    await body(await s(evil));
    await until(() => hub.announced(evil.peerId) === 41);
    const b = await peer();
    const seen = { progress: 0, fromEdge: 0, fromPeers: 0, refused: 0, up: [] as string[], received: 0 };
    // Under `strict`: `e.detail` is ProgressDetail / ChunkDetail / … with no cast (issue 15 item 3).
    b.addEventListener("progress", (e) => {
      seen.progress++;
      seen.received = e.detail.received;
    });
    b.addEventListener("chunk", (e) => {
      if (e.detail.source === "edge") seen.fromEdge += e.detail.bytes;
      if (e.detail.source === "peer") seen.fromPeers += e.detail.bytes;
    });
    b.addEventListener("hash-failure", (e) => (seen.refused += e.detail.bytes));
    b.addEventListener("peer-up", (e) => seen.up.push(e.detail.peerId));
    await body(await s(b));
    const st = b.stats();
    expect(seen.up).toEqual([evil.peerId]);
    expect(seen.refused).toBeGreaterThanOrEqual(CS);
    expect(st.hashFailures).toBeGreaterThan(0);
    expect(st.hashRefusedBytes).toBe(seen.refused);
    expect([st.fromEdge, st.fromPeers]).toEqual([seen.fromEdge, seen.fromPeers]);
    expect(seen.received).toBe(40 * CS + 999);
    expect(seen.progress).toBe(41);
  });

  it("does not upload when seeding is off", async () => {
    const { edge, peer } = await world();
    const item = edge.items.get("/demo/a.bin")!;
    const a = await peer({ seed: false });
    await body(await s(a));
    const b = await peer({ chunkDeadlineMs: 500 });
    expect(digestOf(await body(await s(b)))).toEqual(digestOf(item.bytes));
    expect(b.stats().fromPeers).toBe(0);
    expect(a.stats().uploaded).toBe(0);
  });

  it("re-joins the swarms of held items on start and seeds them (reload)", async () => {
    const { edge, hub, peer } = await world();
    const item = edge.items.get("/demo/a.bin")!;
    const backend = new MemoryChunkBackend();
    const a = await peer({ store: await ChunkStore.open(backend, { quotaBytes: 64 << 20 }) });
    await body(await s(a));
    await until(() => backend.records.size === 1 && backend.records.values().next().value!.chunks.length === 41);
    a.close();
    const reloaded = await peer({ store: await ChunkStore.open(backend, { quotaBytes: 64 << 20 }) });
    await until(() => hub.log.some((l) => l.peerId === reloaded.peerId && l.type === "hello"));
    const b = await peer();
    expect(digestOf(await body(await s(b)))).toEqual(digestOf(item.bytes));
    expect(b.stats().contents[`${EDGE}/c/demo/a.bin`]!.byPeer[reloaded.peerId]).toBeGreaterThanOrEqual(item.bytes.length - CS);
  });
});

function s(sw: Swarm): Promise<Response> {
  return sw.fetch("/c/demo/a.bin");
}

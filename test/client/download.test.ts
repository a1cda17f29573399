import { DEFAULTS } from "../../client/defaults";
import { describe, expect, it } from "vitest";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { FakeClock, FakePeers, content, drain, fakeEdge, range, digestOf, on, settle, verify, counted } from "./helpers";

const CS = 16 * 1024;
/** The fast start as it was before the start grace: the first chunk from the edge at once. */
const OLD = { startGraceMs: 0 };
const SIZE = 40 * CS + 1234; // 41 chunks, the last one short

async function setup(opts: { piece?: number; msPerPiece?: number } = {}) {
  const { bytes, manifest } = await content(SIZE, CS);
  const clock = new FakeClock();
  const edge = fakeEdge(bytes, { clock, ...opts });
  const peers = new FakePeers(bytes, CS);
  return { bytes, manifest, clock, edge, peers };
}

describe("download scheduler", () => {
  it("with no swarm, fetches everything from the edge in long contiguous ranges, byte-exact", async () => {
    const { bytes, manifest, clock, edge } = await setup();
    const d = counted({ manifest, ...OLD, edge: edge.fetch, clock, verify });
    const out = await drain(d.stream, clock);
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(edge.requests).toEqual([[0, SIZE]]);
    expect(d.stats.fromEdge).toBe(SIZE);
  });

  it("uses the WebCrypto verifier by default", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    peers.add("peer-aaaaaaaa", range(41));
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock });
    const out = await drain(d.stream, clock);
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(d.stats.fromPeers).toBe(SIZE - CS);
  });

  it("takes the first chunk from the edge and the rest from several peers in parallel, ≤ K each", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    const ps = ["peer-aaaaaaaa", "peer-bbbbbbbb", "peer-cccccccc"].map((id) => peers.add(id, range(41), "ok", true));
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify, maxInFlightPerPeer: 2 });
    const reading = drain(d.stream, clock);
    // Answer peers round-robin until all requests are served.
    for (let k = 0; k < 500; k++) {
      await settle();
      let any = false;
      for (const p of ps) if (peers.answer(p.id) !== undefined) any = true;
      if (!any && ps.every((p) => p.queue.length === 0) && k > 20) break;
    }
    const out = await reading;
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(edge.requests).toEqual([[0, CS]]);
    for (const p of ps) {
      expect(p.requests.length).toBeGreaterThan(5);
      expect(p.maxInFlight).toBe(2);
    }
    expect(Object.keys(d.stats.byPeer).sort()).toEqual(ps.map((p) => p.id));
    expect(d.stats.fromPeers + d.stats.fromEdge).toBe(SIZE);
  });

  it("sizes each peer's chunks in flight by its rate: what it delivers in peerQueueMs, from slowPeerInFlight to maxInFlightPerPeer", async () => {
    // 41 chunks of 16 KiB; peerQueueMs 250. A peer answering a chunk every 4 ms (4 KB/ms, slower
    // than the edge's assumed 6.25 KB/ms) delivers ≥ 8 chunks in 250 ms: it gets 8; one every 50 ms,
    // 5; one every 500 ms (33 B/ms) not even one: it stays at 3.
    for (const [msPerChunk, want] of [[4, 8], [50, 5], [500, 3]] as const) {
      const { bytes, manifest, clock, edge, peers } = await setup();
      const p = peers.add("peer-aaaaaaaa", range(41), "ok", true);
      const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify, maxInFlightPerPeer: 8, slowPeerInFlight: 3, peerQueueMs: 250, window: 40 });
      const reading = drain(d.stream, clock, 0);
      for (let k = 0; k < 200; k++) {
        await settle();
        clock.advance(msPerChunk);
        if (peers.answer(p.id) === undefined && k > 10 && !p.queue.length) break;
      }
      expect(digestOf(await reading)).toEqual(digestOf(bytes));
      expect(d.stats.fromPeers).toBe(SIZE - CS);
      expect(p.requestRuns[0]!.length).toBe(3); // before its first chunk: slowPeerInFlight
      expect(p.maxInFlight).toBe(want);
    }
  });

  it("asks for the rarest chunks first", async () => {
    const { manifest, clock, edge, peers } = await setup();
    const common = range(40, 1).filter((i) => i !== 6);
    const a = peers.add("peer-aaaaaaaa", [...common, 6], "ok", true);
    const b = peers.add("peer-bbbbbbbb", common, "ok", true);
    const c = peers.add("peer-cccccccc", common, "ok", true);
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify, maxInFlightPerPeer: 1 });
    await settle();
    expect(a.requests).toEqual([6]); // held only by A
    expect(b.requests).toEqual([1]);
    expect(c.requests).toEqual([2]);
    d.close();
  });

  it("keeps requests inside the window ahead of the reader", async () => {
    const { manifest, clock, edge, peers } = await setup();
    const a = peers.add("peer-aaaaaaaa", range(41), "ok", true);
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify, maxInFlightPerPeer: 10, slowPeerInFlight: 10, window: 4 });
    await settle();
    // One chunk (0, from the edge) sits in the stream queue, so the window is [1, 5).
    expect(a.requests).toEqual([1, 2, 3, 4]);
    d.close();
  });

  it("waits for peers while the swarm is connecting, then falls back to the edge after peerWaitMs", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    peers.isPending = true;
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify, peerWaitMs: 1000 });
    const reading = drain(d.stream, clock, 100);
    await settle(20);
    expect(edge.requests).toEqual([[0, CS]]); // only the fast start so far
    const out = await reading;
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(edge.requests.length).toBe(2);
    expect(edge.requests[1]).toEqual([CS, SIZE]);
    expect(peers.wants).toBeGreaterThan(0);
  });

  it("an item deadline brings the edge in early enough for the rest to arrive by it", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    // One peer holds everything but never answers; the per-chunk deadline (4 s) alone would be late.
    const slow = peers.add("peer-aaaaaaaa", range(41), "hang");
    const whys: [number, string | undefined][] = [];
    let lastAt = 0;
    // The edge's rate is known (41 chunks of 16 KiB ≈ 660 KB at 6.6 KB/ms: ~100 ms for all of it).
    const d = counted({
      manifest, ...OLD, edge: edge.fetch, peers, clock, verify, itemDeadlineMs: 600, edgeRate: 6.6,
      emit: on("chunk", (e) => (whys.push([e.index, e.why]), (lastAt = clock.t))),
    });
    await settle();
    expect(slow.requests.length).toBeGreaterThan(0); // peers are tried first
    // Everything the peer did not deliver came from the edge by the deadline (on the fake clock).
    const out = await drain(d.stream, clock, 25, 400);
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(lastAt).toBeLessThanOrEqual(600);
    expect(lastAt).toBeGreaterThan(0); // not at once: the peer had its chance first
    expect(d.tasks.get(40).status).toBe("done");
    expect(whys.filter(([i]) => i > 0).every(([, w]) => w === "deadline")).toBe(true);
    expect(d.stats.fromEdge).toBe(SIZE);
    const due = d.tasks.get(1).deadline;
    expect(due).toBe(600);
    expect(slow.cancels.length).toBe(slow.requests.length); // every peer request was called off
  });

  it("sends a late peer's chunk to the edge at the deadline and drops the late data", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    const slow = peers.add("peer-aaaaaaaa", [3], "hang");
    const other = peers.add("peer-bbbbbbbb", range(41).filter((i) => i !== 3));
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify, chunkDeadlineMs: 1000 });
    await settle();
    expect(slow.requests).toEqual([3]);
    // Another peer gets chunk 3 meanwhile: still, a missed deadline sends the chunk to the edge (the
    // issue's rule: P2P must never make a download much slower than the edge alone).
    other.has.add(3);
    peers.changed();
    const out = await drain(d.stream, clock, 100);
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(d.stats.deadlineMisses).toBe(1);
    expect(slow.requests).toEqual([3]);
    expect(slow.cancels).toEqual([3]);
    expect(edge.requests).toContainEqual([3 * CS, 4 * CS]);
    expect(other.requests).not.toContain(3);
    expect(d.stats.byPeer["peer-aaaaaaaa"]).toBeUndefined();
    // Late data after the deadline is ignored (the request was cancelled; nothing changes).
    expect(peers.answer("peer-aaaaaaaa")).toBeUndefined();
  });

  it("bans a peer whose chunk fails its hash, re-fetches the chunk, and emits no bad byte", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    const bad = peers.add("peer-evilevil", range(41), "corrupt");
    const good = peers.add("peer-goodgood", range(41));
    const failures: [string, number][] = [];
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify, emit: on("hash-failure", (e) => failures.push([e.peerId, e.index])) });
    const out = await drain(d.stream, clock);
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(peers.banned).toEqual(["peer-evilevil"]);
    // The first bad chunk bans it and cancels the rest of its request; chunks of that request
    // already being verified may fail too, each counted once.
    expect(d.stats.hashFailures).toBeGreaterThanOrEqual(1);
    expect(d.stats.hashFailures).toBe(failures.length);
    expect(failures.length).toBeLessThanOrEqual(bad.requests.length);
    expect(failures.every(([p]) => p === "peer-evilevil")).toBe(true);
    expect(d.stats.byPeer["peer-evilevil"]).toBeUndefined();
    // Every chunk the bad peer was asked for was fetched again from the good peer.
    for (const i of bad.requests) expect(good.requests).toContain(i);
    expect(d.stats.fromPeers).toBe(SIZE - CS);
  });

  it("re-requests elsewhere when a peer leaves mid-chunk", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    const a = peers.add("peer-aaaaaaaa", range(41), "ok", true);
    const b = peers.add("peer-bbbbbbbb", range(41));
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify });
    const reading = drain(d.stream, clock);
    await settle();
    peers.answer(a.id);
    await settle();
    const lost = a.queue.map((q) => q.index);
    expect(lost.length).toBeGreaterThan(0);
    peers.leave(a.id);
    const out = await reading;
    expect(digestOf(out)).toEqual(digestOf(bytes));
    for (const i of lost) expect(b.requests).toContain(i);
  });

  it("finishes from the edge when the only peer leaves", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    const a = peers.add("peer-aaaaaaaa", range(41), "ok", true);
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify });
    const reading = drain(d.stream, clock);
    await settle();
    peers.answer(a.id);
    peers.leave(a.id);
    expect(digestOf(await reading)).toEqual(digestOf(bytes));
    expect(d.stats.fromPeers).toBe(CS);
  });

  it("treats busy peers as temporarily full, not as failed", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    const p = peers.add("peer-aaaaaaaa", range(41), "busy");
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify, chunkDeadlineMs: 1000 });
    const reading = drain(d.stream, clock, 100);
    await settle(10);
    p.behaviour = "ok";
    expect(digestOf(await reading)).toEqual(digestOf(bytes));
    expect(d.stats.fromPeers).toBeGreaterThan(SIZE / 2);
  });

  it("stops asking a peer that does not upload at all (seeding off), and lets others serve", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    const off = peers.add("peer-offoffof", range(41), "unavailable");
    peers.add("peer-bbbbbbbb", range(41));
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify });
    expect(digestOf(await drain(d.stream, clock))).toEqual(digestOf(bytes));
    expect(off.requests.length).toBeGreaterThan(0); // it was asked (it holds everything)...
    expect(off.requests.length).toBeLessThanOrEqual(DEFAULTS.maxInFlightPerPeer); // ...by the first pump's one request, then never again
    expect(d.stats.byPeer["peer-bbbbbbbb"]).toBe(SIZE - CS);
    expect(peers.banned).toEqual([]); // not a misbehaving peer: no ban
  });

  it("cuts an edge request short when a peer turns up holding the rest", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup({ piece: 4096, msPerPiece: 10 });
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify });
    const reading = drain(d.stream, clock, 10);
    for (let k = 0; k < 30; k++) { await settle(); clock.advance(10); }
    peers.add("peer-aaaaaaaa", range(41));
    const out = await reading;
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(edge.requests[0]).toEqual([0, SIZE]);
    expect(d.stats.fromPeers).toBeGreaterThan(SIZE / 2);
  });

  it("serves held chunks from the store, and re-fetches a stored chunk that fails verification", async () => {
    const { bytes, manifest, clock, edge } = await setup();
    const backend = new MemoryChunkBackend();
    const store = await ChunkStore.open(backend, { quotaBytes: 1 << 30 });
    const info = { root: manifest.root, url: manifest.url, size: manifest.size, chunkSize: CS, type: manifest.type };
    for (const i of range(10)) await store.put(info, i, bytes.slice(i * CS, (i + 1) * CS));
    backend.chunks.get(`${manifest.root}/4`)![0]! ^= 1; // storage corruption
    const stored: number[] = [];
    const d = counted({ manifest, ...OLD, edge: edge.fetch, store, clock, verify, emit: on("stored", (e) => stored.push(e.index)) });
    const out = await drain(d.stream, clock);
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(d.stats.fromStore).toBe(9 * CS);
    expect(edge.requests).toContainEqual([4 * CS, 5 * CS]);
    await settle();
    expect(store.held(manifest.root)).toEqual(range(41));
    expect(stored).toContain(4);
  });

  it("emits exactly the requested byte ranges, across chunk boundaries", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    peers.add("peer-aaaaaaaa", range(41));
    const ranges = [
      { start: 0, end: 1 }, { start: CS - 1, end: CS + 1 }, { start: 3 * CS, end: 5 * CS },
      { start: 5 * CS + 7, end: 9 * CS - 3 }, { start: SIZE - 10, end: SIZE }, { start: 100, end: SIZE },
    ];
    for (const r of ranges) {
      const d = counted({ manifest, ...OLD, range: r, edge: edge.fetch, peers, clock, verify });
      const out = await drain(d.stream, clock);
      expect(digestOf(out)).toEqual(digestOf(bytes.slice(r.start, r.end)));
    }
  });

  it("finishes with plain edge bytes when the edge contradicts its manifest", async () => {
    const { bytes, manifest, clock } = await setup();
    const bad = fakeEdge(bytes, { corrupt: (o) => o === 2 * CS + 5 });
    const plain = fakeEdge(bytes);
    const d = counted({ manifest, ...OLD, edge: bad.fetch, clock, verify, fallback: (s, e) => plain.fetch(s, e, new AbortController().signal) });
    const out = await drain(d.stream, clock);
    // The page gets the bytes a plain fetch would have given (not an error): verified chunks 0–1,
    // then the rest of the range straight from the edge.
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(plain.requests).toEqual([[2 * CS, SIZE]]);
  });

  it("stops all transfers when the reader cancels", async () => {
    const { manifest, clock, edge, peers } = await setup();
    const a = peers.add("peer-aaaaaaaa", range(41), "hang");
    const d = counted({ manifest, ...OLD, edge: edge.fetch, peers, clock, verify });
    await settle();
    expect(a.requests.length).toBe(DEFAULTS.slowPeerInFlight); // not yet proven as fast as the edge
    expect(a.requestRuns.length).toBe(1); // one request for the run
    await d.stream.cancel();
    expect(a.cancels.sort()).toEqual(a.requests.sort());
  });

  describe("start grace (startGraceMs > 0)", () => {
    it("asks a linked peer holding the first chunk instead of the edge: no edge byte at all", async () => {
      const { bytes, manifest, clock, edge, peers } = await setup();
      peers.add("peer-aaaaaaaa", range(41));
      const whys: (string | undefined)[] = [];
      const d = counted({ manifest, edge: edge.fetch, peers, clock, verify, startGraceMs: 300, emit: on("chunk", (e) => whys.push(e.why)) });
      const out = await drain(d.stream, clock);
      expect(digestOf(out)).toEqual(digestOf(bytes));
      expect(edge.requests).toEqual([]);
      expect(d.stats.fromPeers).toBe(SIZE);
      expect(whys.every((w) => w === undefined)).toBe(true);
    });

    it("waits the grace for a peer while the swarm is connecting; one that turns up in time serves chunk 0", async () => {
      const { bytes, manifest, clock, edge, peers } = await setup();
      peers.isPending = true;
      const d = counted({ manifest, edge: edge.fetch, peers, clock, verify, startGraceMs: 300 });
      await settle(20);
      clock.advance(200);
      await settle(20);
      expect(edge.requests).toEqual([]); // within the grace: nothing from the edge yet
      peers.add("peer-aaaaaaaa", range(41));
      peers.isPending = false;
      const out = await drain(d.stream, clock);
      expect(digestOf(out)).toEqual(digestOf(bytes));
      expect(edge.requests).toEqual([]);
      expect(d.stats.fromPeers).toBe(SIZE);
    });

    it("takes the first chunk from the edge when the grace runs out with no holder linked", async () => {
      const { bytes, manifest, clock, edge, peers } = await setup();
      peers.isPending = true;
      const whys: [number, string | undefined][] = [];
      const d = counted({
        manifest, edge: edge.fetch, peers, clock, verify, startGraceMs: 300, peerWaitMs: 1000, emit: on("chunk", (e) => whys.push([e.index, e.why])),
      });
      await settle(20);
      clock.advance(299);
      await settle(20);
      expect(edge.requests).toEqual([]);
      clock.advance(1);
      await settle(20);
      expect(edge.requests).toEqual([[0, CS]]); // the fast start, after the grace
      const out = await drain(d.stream, clock, 100);
      expect(digestOf(out)).toEqual(digestOf(bytes));
      expect(edge.requests[1]).toEqual([CS, SIZE]); // the rest once peerWaitMs ran out
      expect(whys[0]).toEqual([0, "start"]);
      expect(whys.slice(1).every(([, w]) => w === "wait")).toBe(true);
    });

    it("takes the first chunk from the edge at once when the swarm answered with no holder", async () => {
      const { manifest, clock, edge, peers } = await setup();
      const d = counted({ manifest, edge: edge.fetch, peers, clock, verify, startGraceMs: 300 });
      await settle(20);
      expect(edge.requests[0]).toEqual([0, SIZE]); // settled, nobody holds anything: one run, no wait
      d.close();
    });

    it("gives a slow peer min(1 s, deadlineMs) for the first chunk, then the edge takes it", async () => {
      const { bytes, manifest, clock, edge, peers } = await setup();
      const slow = peers.add("peer-aaaaaaaa", [0], "hang");
      peers.add("peer-bbbbbbbb", range(40, 1));
      const whys: [number, string | undefined][] = [];
      const d = counted({
        manifest, edge: edge.fetch, peers, clock, verify, startGraceMs: 300, chunkDeadlineMs: 500, emit: on("chunk", (e) => whys.push([e.index, e.why])),
      });
      await settle(20);
      expect(slow.requests).toEqual([0]);
      clock.advance(499);
      await settle(20);
      expect(edge.requests).toEqual([]);
      const out = await drain(d.stream, clock, 1);
      expect(digestOf(out)).toEqual(digestOf(bytes));
      expect(slow.cancels).toEqual([0]);
      expect(edge.requests).toEqual([[0, CS]]);
      expect(d.stats.deadlineMisses).toBe(1);
      expect(whys).toContainEqual([0, "deadline"]);
      expect(d.stats.fromPeers).toBe(SIZE - CS);
    });
  });
});

/**
 * The edge lane on the projected finish (client/edge-lane.ts `edgeNeed`): the edge takes exactly the
 * bytes the peers cannot deliver by the time the edge alone would have finished — nothing more while
 * on-time peers' links come up, the deficit when they are slow. Fake clock, a fake edge whose
 * concurrent requests share one link, fake peers answered at a fixed fake-time pace.
 */
import { describe, expect, it } from "vitest";
import { edgeLane } from "../../client/edge-lane";
import type { DownloadOptions } from "../../client/download";
import { FakeClock, FakePeers, content, counted, digestOf, fakeEdge, range, readWithClock, verify } from "./helpers";

const CS = 16 * 1024;
const N = 81;
/** Fake ms per chunk at the edge: 81 chunks ≈ 1.6 s edge-only (819 B/ms). */
const EDGE_MS = 20;
const EDGE_RATE = CS / EDGE_MS;

/**
 * One download of N chunks. A holder of every chunk links at `linkAtMs` (null: none; the swarm is
 * "connecting" until then) and answers one chunk every `peerMs` fake ms (0: all it was asked, each step).
 */
async function download(o: { linkAtMs: number | null; peerMs: number; extra?: Partial<DownloadOptions>; chunks?: number; sharedLink?: boolean }) {
  const n = o.chunks ?? N;
  const { bytes, manifest } = await content(n * CS, CS);
  const clock = new FakeClock();
  const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: EDGE_MS, shared: true });
  const peers = new FakePeers(bytes, CS);
  peers.isPending = o.linkAtMs !== null && o.linkAtMs > 0;
  if (o.linkAtMs === 0) peers.add("peer-holder1", range(n), "ok", true);
  const d = counted({ manifest, lane: edgeLane, edge: edge.fetch, peers, clock, verify, startGraceMs: 300, assumedEdgeBytesPerMs: EDGE_RATE, ...o.extra });
  let last = 0;
  /** `sharedLink`: the holder's chunks cross the edge's link, each in a slot of its own that ends when it arrives. */
  let slotEnd = -1;
  const { bytes: got, t } = await readWithClock(d, clock, () => {
    if (o.linkAtMs !== null && clock.t >= o.linkAtMs && peers.isPending) {
      peers.add("peer-holder1", range(n), "ok", true);
      peers.isPending = false;
      peers.changed();
    }
    if (peers.peerMap.size) {
      if (o.sharedLink) {
        if (slotEnd < 0 && clock.t - last >= o.peerMs && peers.peerMap.get("peer-holder1")!.queue.length) slotEnd = edge.reserve(EDGE_MS);
        if (slotEnd >= 0 && clock.t >= slotEnd && peers.answer("peer-holder1") !== undefined) [last, slotEnd] = [clock.t, -1];
      } else if (o.peerMs === 0) while (peers.answer("peer-holder1") !== undefined);
      else if (clock.t - last >= o.peerMs && peers.answer("peer-holder1") !== undefined) last = clock.t;
    }
  });
  expect(digestOf(got)).toEqual(digestOf(bytes));
  return { d, t };
}

describe("edge lane: the projected deficit", () => {
  it("on-time peers whose link opens within assumedLinkMs keep all their chunks (this instance has seen peers outrun the edge)", async () => {
    const alone = await download({ linkAtMs: null, peerMs: 0 });
    // Carried over from earlier downloads: a peer delivered at 5× the edge alone's rate, so peers do
    // not share the edge's link.
    const { d, t } = await download({ linkAtMs: 300, peerMs: 0, extra: { peerRate: 5 * EDGE_RATE, assumedLinkMs: 400 } });
    // The old lane streamed from the first millisecond (the download lags the edge alone's schedule
    // until a link is up) and took 15–30 chunks here. Now: at most the fast-start chunk.
    expect(d.stats.fromEdge).toBeLessThanOrEqual(CS);
    expect(d.stats.laneRuns).toBe(0);
    expect(t).toBeLessThanOrEqual(alone.t);
  });

  it("a fast peer shows mid-download that it does not share the edge's link: the edge's claims beyond the deficit go back to it", async () => {
    // Nothing carried over: the download starts on the edge alone's schedule (a whole window to the
    // edge while no peer is linked); the link opens at 300 ms and the holder delivers 3 chunks per
    // 10 ms (6× the edge), after which the lane keeps only the deficit.
    const alone = await download({ linkAtMs: null, peerMs: 0 });
    const { d, t } = await download({ linkAtMs: 300, peerMs: 0 });
    expect(d.stats.fromPeers).toBeGreaterThanOrEqual((N - 300 / EDGE_MS - 10) * CS);
    expect(t).toBeLessThanOrEqual(alone.t);
  });

  it("a small item with a fast holder linked from the start: the lane leaves it chunks to show its pace, then the peer takes the rest", async () => {
    // 12 chunks (less than half the window): the schedule's first run would take all 11 after the
    // start grace's chunk 0, and the peer would never show it is faster than the edge.
    const { d } = await download({ linkAtMs: 0, peerMs: 0, chunks: 12 });
    expect(d.lane?.unshared).toBe(true);
    expect(d.stats.fromPeers).toBeGreaterThanOrEqual(9 * CS);
  });

  it("peers that share the edge's link (bench §5): the edge keeps the link full on the edge alone's schedule", async () => {
    // A holder at half the edge's pace, linked from the start, its chunks crossing the edge's link:
    // together they never outrun the edge alone, so the download is held to the edge alone's
    // schedule (the lane opens below 0.9 of it) but for the peer's chunks in flight at the end.
    const alone = await download({ linkAtMs: null, peerMs: 0 });
    const { d, t } = await download({ linkAtMs: 0, peerMs: 2 * EDGE_MS, sharedLink: true });
    expect(d.stats.laneRuns).toBeGreaterThan(0);
    expect(d.stats.fromPeers).toBeGreaterThan(0);
    expect(d.lane?.unshared).toBe(false);
    expect(t).toBeLessThanOrEqual(alone.t / 0.9 + 2 * 2 * EDGE_MS);
  });

  it("a holder slower than the edge on a path of its own (bench §1): edge and peer together outrun the edge alone; the peer keeps what it delivers in time", async () => {
    // The holder answers a chunk every 30 ms (0.67× the edge, like §1's 4 MiB/s seeders beside a
    // 50 Mbit/s edge), linked from the start: never faster than the edge alone on its own. Before,
    // the download stayed on the schedule, which leaves a fresh peer its slots and the lane only
    // what it lags: 58 chunks from the peer, done at 1,740 ms against the edge alone's 1,620.
    const alone = await download({ linkAtMs: null, peerMs: 0 });
    const { d, t } = await download({ linkAtMs: 0, peerMs: 30 });
    expect(d.lane?.unshared).toBe(true);
    expect(d.lane?.peerBest).toBeLessThan(EDGE_RATE);
    // On the projection the edge takes the deficit: the peer brings what it can by the edge alone's
    // finish (0.67 × 81 ≈ 54 chunks), and the item is not later than the edge alone.
    expect(d.stats.fromPeers).toBeGreaterThanOrEqual(45 * CS);
    expect(t).toBeLessThanOrEqual(alone.t);
  });

  it("a holder linked after the lane claimed the rest of the item gets chunks to show its pace; on its own path it then takes a share", async () => {
    // 32 chunks (640 ms from the edge alone), the holder links at 300 ms and answers a chunk every
    // 30 ms (0.67× the edge). Before, the lane's runs held every chunk not yet delivered, the peer
    // had nothing to pick (0 chunks) and the item ended at 690 ms.
    const extra = { assumedPeerBytesPerMs: 0.67 * EDGE_RATE };
    const alone = await download({ linkAtMs: null, peerMs: 0, chunks: 32, extra });
    const { d, t } = await download({ linkAtMs: 300, peerMs: 30, chunks: 32, extra });
    expect(d.lane?.unshared).toBe(true);
    expect(d.stats.fromPeers).toBeGreaterThanOrEqual(8 * CS);
    expect(t).toBeLessThanOrEqual(alone.t);
    // The same holder crossing the edge's link at a fifth of its pace (bench §5's 10 Mbit/s seeders):
    // too slow to be given the item's tail before the schedule's end, so the item is not later for it.
    const before = await download({ linkAtMs: null, peerMs: 0, chunks: 32, extra });
    const shared = await download({ linkAtMs: 300, peerMs: 5 * EDGE_MS, chunks: 32, extra, sharedLink: true });
    expect(shared.d.lane?.unshared).toBe(false);
    expect(shared.t).toBeLessThanOrEqual(before.t + 3 * EDGE_MS);
  });

  it("a lagging download gets exactly the deficit from the edge: a linked peer at half the edge's pace leaves it about half", async () => {
    const alone = await download({ linkAtMs: null, peerMs: 0 });
    // The peer answers a chunk every 40 ms (the edge 20): over the 1.64 s the edge alone needs it
    // brings ~41 chunks; the edge must bring the other ~40, and they share no link here.
    const { d, t } = await download({ linkAtMs: 0, peerMs: 2 * EDGE_MS, extra: { peerRate: 10 * EDGE_RATE } });
    expect(d.stats.fromEdge).toBeGreaterThanOrEqual(30 * CS);
    expect(d.stats.fromEdge).toBeLessThanOrEqual(46 * CS);
    expect(d.stats.fromPeers + d.stats.fromEdge).toBe(N * CS);
    expect(t).toBeLessThanOrEqual(alone.t + 2 * 2 * EDGE_MS); // the peer's chunk in flight at the end
  });
});

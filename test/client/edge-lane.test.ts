/**
 * The edge lane (client/edge-lane.ts): the scheduler races the edge at the item level, so peers
 * slower than the edge cannot make an item finish later than the edge alone would. Fake clock,
 * fake edge (rate = bytes per fake ms) and manual fake peers answered at a fixed fake-time rate.
 */
import { describe, expect, it } from "vitest";
import { EdgeLane, edgeLane, edgeNeed, OUTRUN_MIN_MS } from "../../client/edge-lane";
import type { DownloadTuning } from "../../client/defaults";
import { FakeClock, FakePeers, concat, content, digestOf, fakeEdge, on, range, settle, verify, counted } from "./helpers";

const CS = 16 * 1024;
const STEP = 10;
/** Edge-first fast start and a lane that races from the first sign of slow peers (no slack). */
const OLD = { startGraceMs: 0, laneSlackMs: 0 };

/** Reads `d` to the end, advancing the fake clock STEP ms at a time; `tick` runs every step. */
async function run(d: ReturnType<typeof counted>, clock: FakeClock, tick: (t: number) => void = () => {}): Promise<{ bytes: Uint8Array; t: number }> {
  const parts: Uint8Array[] = [];
  let done = false;
  let t = -1;
  const reader = d.stream.getReader();
  void (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
    }
    t = clock.t;
    done = true;
  })();
  for (let k = 0; k < 5000 && !done; k++) {
    await settle();
    tick(clock.t);
    await settle();
    if (!done) clock.advance(STEP);
  }
  if (!done) throw new Error("stream did not finish");
  return { bytes: concat(parts), t };
}

/** Answers the peer's oldest request every `period()` fake ms (its upload rate), all at once when 0. */
function pacer(peers: FakePeers, id: string, period: (t: number) => number) {
  let last = 0;
  return (t: number) => {
    const p = period(t);
    if (p === 0) {
      while (peers.answer(id) !== undefined);
      last = t;
    } else if (t - last >= p && peers.answer(id) !== undefined) last = t;
  };
}

async function edgeOnlyTime(bytes: Uint8Array, manifest: Parameters<typeof fakeDl>[0], msPerChunk: number): Promise<number> {
  const clock = new FakeClock();
  const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: msPerChunk });
  const d = counted({ manifest, lane: edgeLane, ...OLD, edge: edge.fetch, clock, verify });
  const r = await run(d, clock);
  expect(digestOf(r.bytes)).toEqual(digestOf(bytes));
  return r.t;
}
type Manifest = Awaited<ReturnType<typeof content>>["manifest"];
const fakeDl = (m: Manifest) => m;

describe("edge lane with slack (laneSlackMs)", () => {
  it("leaves a peer half the edge's speed alone when it finishes within edge-only + slack", async () => {
    const { bytes, manifest } = await content(41 * CS, CS);
    const tEdge = await edgeOnlyTime(bytes, manifest, 10);
    const slacks = [0, 1000];
    const results = [];
    for (const laneSlackMs of slacks) {
      const clock = new FakeClock();
      const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: 10 });
      const peers = new FakePeers(bytes, CS);
      peers.add("peer-halfhalf", range(41), "ok", true);
      const d = counted({ manifest, lane: edgeLane, edge: edge.fetch, peers, clock, verify, laneWindowMs: 200, laneSlackMs });
      const r = await run(d, clock, pacer(peers, "peer-halfhalf", () => 20));
      expect(digestOf(r.bytes)).toEqual(digestOf(bytes));
      results.push({ t: r.t, laneRuns: d.stats.laneRuns, fromEdge: d.stats.fromEdge });
    }
    expect(results[0]!.laneRuns).toBeGreaterThan(0); // no slack: the lane races at once
    expect(results[1]!.laneRuns).toBe(0); // with slack: peers take everything (the fast-start chunk at most aside)
    expect(results[1]!.fromEdge).toBeLessThanOrEqual(CS);
    expect(results[1]!.t).toBeLessThanOrEqual(tEdge + 1000); // and still within the promise
  });

  it("races a peer too slow to finish within edge-only + slack, and ends near that bound", async () => {
    const { bytes, manifest } = await content(41 * CS, CS);
    const tEdge = await edgeOnlyTime(bytes, manifest, 10);
    const fromPeers: number[] = [];
    for (const laneSlackMs of [0, 1000]) {
      const clock = new FakeClock();
      const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: 10 });
      const peers = new FakePeers(bytes, CS);
      peers.add("peer-slowslow", range(41), "ok", true);
      // K = 3 chunks in flight at the peer: the tail it holds at the end is the bound's last term.
      const d = counted({ manifest, lane: edgeLane, edge: edge.fetch, peers, clock, verify, laneWindowMs: 200, laneSlackMs, maxInFlightPerPeer: 3 });
      const r = await run(d, clock, pacer(peers, "peer-slowslow", () => 100)); // alone: ~4.1 s
      expect(digestOf(r.bytes)).toEqual(digestOf(bytes));
      expect(d.stats.laneRuns).toBeGreaterThan(0);
      expect(r.t).toBeLessThanOrEqual(tEdge + laneSlackMs + 200 + 3 * 100);
      fromPeers.push(d.stats.fromPeers);
    }
    expect(fromPeers[1]).toBeGreaterThan(fromPeers[0]!); // the slack buys offload
  });
});

describe("edge lane tail (partial cancel)", () => {
  it("takes back the chunks a slow peer has queued at the end: the item ends one peer chunk after the edge, not eight", async () => {
    const { bytes, manifest } = await content(41 * CS, CS);
    const tEdge = await edgeOnlyTime(bytes, manifest, 10);
    const clock = new FakeClock();
    const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: 10 });
    const peers = new FakePeers(bytes, CS);
    const slow = peers.add("peer-slowslow", range(41), "ok", true);
    // 8 chunks queued at a peer 10× slower than the edge: without the tail cut the last of them
    // lands ~8 × 100 ms after the edge is done.
    const d = counted({ manifest, lane: edgeLane, ...OLD, edge: edge.fetch, peers, clock, verify, laneWindowMs: 200, maxInFlightPerPeer: 8, slowPeerInFlight: 8 });
    const r = await run(d, clock, pacer(peers, "peer-slowslow", () => 100));
    expect(digestOf(r.bytes)).toEqual(digestOf(bytes));
    expect(slow.cancels.length).toBeGreaterThan(0); // queued chunks were dropped at the peer
    expect(r.t).toBeLessThanOrEqual(tEdge + 200 + 2 * 100);
    expect(d.stats.fromEdge + d.stats.fromPeers).toBe(bytes.length); // a cut chunk is fetched once
    expect(d.stats.fromPeers).toBeGreaterThan(0);
  });

  it("leaves a peer's queue alone while it finishes within the schedule's slack", async () => {
    const { bytes, manifest } = await content(41 * CS, CS);
    const clock = new FakeClock();
    const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: 10 });
    const peers = new FakePeers(bytes, CS);
    const slow = peers.add("peer-slowslow", range(41), "ok", true);
    const d = counted({ manifest, lane: edgeLane, edge: edge.fetch, peers, clock, verify, laneWindowMs: 200, laneSlackMs: 60_000, maxInFlightPerPeer: 8, slowPeerInFlight: 8 });
    const r = await run(d, clock, pacer(peers, "peer-slowslow", () => 20));
    expect(digestOf(r.bytes)).toEqual(digestOf(bytes));
    expect(slow.cancels).toEqual([]);
    expect(d.stats.fromPeers).toBeGreaterThanOrEqual(40 * CS);
  });
});

describe("edge lane tuning", () => {
  it("reads laneSlackMs, the assumed edge rate and the assumed peer pace through the scheduler's tuning at each use", () => {
    // The scheduler owns its resolved tuning; bench §2 (BENCH_SDK_TUNING) changes it after the
    // lane was built, and the lane must judge with the values in effect.
    const t = { laneWindowMs: 100, laneSlackMs: 200_000, assumedEdgeBytesPerMs: 1000, assumedPeerBytesPerMs: 500, assumedLinkMs: 400, laneRunMax: 32 } as DownloadTuning;
    const lane = edgeLane(t);
    expect(lane.scheduleEnd(0, 100_000)).toBe(200_100); // the slack, then 100 KB at 1 KB/ms
    t.laneSlackMs = 0;
    expect(lane.scheduleEnd(0, 100_000)).toBe(100);
    t.assumedEdgeBytesPerMs = 2000;
    expect(lane.scheduleEnd(0, 100_000)).toBe(50);
    expect(lane.peerPrior).toBe(500);
    t.assumedPeerBytesPerMs = 3000;
    expect(lane.peerPrior).toBe(3000);
    expect(lane.linkMs).toBe(400);
  });
});

describe("edge lane without a fast-start measurement", () => {
  /** One slow peer (100 ms per chunk: ~4.1 s alone) holding all 41 chunks, an edge at 10 ms per chunk. */
  async function slowPeerRun(extra: { edgeRate?: number }) {
    const { bytes, manifest } = await content(41 * CS, CS);
    const clock = new FakeClock();
    const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: 10 });
    const peers = new FakePeers(bytes, CS);
    peers.add("peer-slowslow", range(41), "ok", true);
    const whys: (string | undefined)[] = [];
    const d = counted({
      manifest, lane: edgeLane, edge: edge.fetch, peers, clock, verify, laneWindowMs: 200, laneSlackMs: 1000, startGraceMs: 300, maxInFlightPerPeer: 3,
      emit: on("chunk", (e) => whys.push(e.why)), ...extra,
    });
    const r = await run(d, clock, pacer(peers, "peer-slowslow", () => 100));
    expect(digestOf(r.bytes)).toEqual(digestOf(bytes));
    return { d, r, whys, bytes, manifest };
  }

  it("a peer served the first chunk: the schedule runs on the assumed edge rate, no probe needed", async () => {
    const { d, r, whys, bytes, manifest } = await slowPeerRun({});
    const tEdge = await edgeOnlyTime(bytes, manifest, 10);
    expect(whys[0]).toBeUndefined(); // chunk 0 came from the peer (no fast start from the edge)
    expect(whys).not.toContain("probe");
    expect(d.stats.laneRuns).toBeGreaterThan(0);
    expect(r.t).toBeLessThanOrEqual(tEdge + 1000 + 2 * 100); // the slack, and the peer's chunk in flight
  });

  it("starts with the edge rate an earlier download measured", async () => {
    const { d, whys } = await slowPeerRun({ edgeRate: CS / 10 });
    expect(whys).not.toContain("probe");
    expect(d.stats.laneRuns).toBeGreaterThan(0);
  });
});

describe("edge lane", () => {
  it("a slow peer holding everything + a fast edge: the edge takes most chunks, the item ends ≈ edge-only", async () => {
    const { bytes, manifest } = await content(41 * CS, CS);
    const tEdge = await edgeOnlyTime(bytes, manifest, 10); // 1.6 KB/fake ms
    const clock = new FakeClock();
    const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: 10 });
    const peers = new FakePeers(bytes, CS);
    peers.add("peer-slowslow", range(41), "ok", true);
    const d = counted({ manifest, lane: edgeLane, ...OLD, edge: edge.fetch, peers, clock, verify, laneWindowMs: 200 });
    const r = await run(d, clock, pacer(peers, "peer-slowslow", () => 100)); // 10× slower than the edge
    expect(digestOf(r.bytes)).toEqual(digestOf(bytes));
    // Without the lane the peer's pace sets the finish: ~41 × 100 ms ≈ 4 s vs ~0.4 s edge-only.
    // With it: edge-only time + the window peers are watched for + the K = 3 peer chunks in flight at the end.
    expect(r.t).toBeLessThanOrEqual(tEdge + 200 + 3 * 100);
    expect(d.stats.laneRuns).toBeGreaterThan(0);
    expect(d.stats.fromEdge).toBeGreaterThanOrEqual(0.7 * bytes.length);
    expect(d.stats.fromPeers).toBeGreaterThan(0); // peers still contribute
    expect(d.stats.fromEdge + d.stats.fromPeers).toBe(bytes.length); // no chunk fetched twice
  });

  it("a fast peer + a slow edge: the edge gets the fast-start chunk and at most two short lane runs", async () => {
    const { bytes, manifest } = await content(41 * CS, CS);
    const clock = new FakeClock();
    const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: 100 });
    const peers = new FakePeers(bytes, CS);
    peers.add("peer-fastfast", range(41), "ok", true);
    const d = counted({ manifest, lane: edgeLane, ...OLD, edge: edge.fetch, peers, clock, verify, laneWindowMs: 50 });
    const r = await run(d, clock, pacer(peers, "peer-fastfast", () => 0));
    expect(digestOf(r.bytes)).toEqual(digestOf(bytes));
    // Nothing is known of either side at first (the edge is assumed 50 Mbit/s, faster than this
    // peer's 3 chunks per 10 ms): a lane run starts, and is cut short once a streak of 3 edge chunks
    // has measured the edge alone and the peer is ahead of that schedule — the fast-start chunk,
    // the streak and the chunk in flight.
    // Nothing is known of either side at first: the edge is assumed 50 Mbit/s and the peer, until
    // it has delivered 4 chunks, 4 MiB/s (the SDK's upload cap) — slower, so the edge is given the
    // deficit of that projection; once the edge has measured itself 10× slower than assumed and the
    // bytes have arrived faster than it (the peer's path is not the edge's), its runs are cut back
    // for the peer: the fast-start chunk, two short runs, their chunks in flight.
    expect(d.stats.laneRuns).toBeLessThanOrEqual(2);
    expect(d.stats.fromEdge).toBeLessThanOrEqual(16 * CS);
    expect(d.stats.fromPeers).toBeGreaterThanOrEqual(bytes.length - 16 * CS);
    expect(r.t).toBeLessThan(41 * 100); // far sooner than the edge alone
  });

  it("a peer that speeds up: the lane closes and the rest comes from the peer", async () => {
    const { bytes, manifest } = await content(160 * CS, CS);
    const clock = new FakeClock();
    const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: 40 });
    const peers = new FakePeers(bytes, CS);
    peers.add("peer-speedup", range(160), "ok", true);
    const got: { t: number; source: string }[] = [];
    const d = counted({
      manifest, lane: edgeLane, ...OLD, edge: edge.fetch, peers, clock, verify, laneWindowMs: 200, emit: on("chunk", (e) => got.push({ t: clock.t, source: e.source })),
    });
    const r = await run(d, clock, pacer(peers, "peer-speedup", (t) => (t < 1000 ? 200 : 0)));
    expect(digestOf(r.bytes)).toEqual(digestOf(bytes));
    expect(d.stats.laneRuns).toBeGreaterThan(0);
    const before = got.filter((g) => g.t < 1000 && g.source === "edge").length;
    expect(before).toBeGreaterThan(5); // the lane raced the slow peer
    // After the speed-up (+ the lane run's chunk in flight; a peer answering K chunks per step
    // outruns the edge within the first steps of its rate window): peers only.
    const late = got.filter((g) => g.t > 1000 + 2 * 40);
    expect(late.length).toBeGreaterThan(10);
    expect(late.every((g) => g.source === "peer")).toBe(true);
    expect(d.stats.fromEdge + d.stats.fromPeers).toBe(bytes.length);
  });

  it("measures the edge from its response on: request latency is not read as a slow edge", async () => {
    const { bytes, manifest } = await content(41 * CS, CS);
    const clock = new FakeClock();
    const edge = fakeEdge(bytes, { clock, piece: CS, msPerPiece: 10 });
    // 300 ms to the response headers, then 1.6 KB/ms: the first chunk takes 310 ms end to end
    // (53 B/ms), slower than the peer's 164 B/ms — yet the edge is 10× faster once it answers.
    const slowStart = async (s: number, e: number, sig: AbortSignal) => (await clock.sleep(300), edge.fetch(s, e, sig));
    const peers = new FakePeers(bytes, CS);
    peers.add("peer-slowslow", range(41), "ok", true);
    const d = counted({ manifest, lane: edgeLane, ...OLD, edge: slowStart, peers, clock, verify, laneWindowMs: 200 });
    const r = await run(d, clock, pacer(peers, "peer-slowslow", () => 100));
    expect(digestOf(r.bytes)).toEqual(digestOf(bytes));
    expect(d.stats.laneRuns).toBeGreaterThan(0);
    expect(d.stats.fromEdge).toBeGreaterThan(d.stats.fromPeers);
  });

  it("the edge's need: what is left less what the peers deliver by the edge alone's finish, each from when its bytes flow, together at most the link", () => {
    const base = { now: 0, end: 1000, left: 5_000_000, peerCap: 6250 };
    expect(edgeNeed({ ...base, peers: [] })).toBe(5_000_000); // no peer: the edge brings it all
    expect(edgeNeed({ ...base, peers: [{ rate: 3000, waitMs: 0 }] })).toBe(2_000_000); // a peer at 3 KB/ms for 1 s
    expect(edgeNeed({ ...base, peers: [{ rate: 3000, waitMs: 400 }] })).toBe(3_200_000); // …whose link opens in 400 ms
    expect(edgeNeed({ ...base, peers: [{ rate: 5000, waitMs: 0 }, { rate: 5000, waitMs: 0 }] })).toBe(0); // on time: nothing
    expect(edgeNeed({ ...base, left: 7_000_000, peers: [{ rate: 5000, waitMs: 0 }, { rate: 5000, waitMs: 0 }] })).toBe(750_000); // capped at the link
    expect(edgeNeed({ ...base, now: 1500, peers: [{ rate: 5000, waitMs: 0 }] })).toBe(5_000_000); // past the finish: all of it
  });

  it("edge rates from streaks and runs; whether peers share the edge's link, carried over", () => {
    const lane = new EdgeLane({ windowMs: 100, assumedRate: 100, assumedPeerRate: 40 });
    expect(lane.aloneRate).toBe(100); // assumed
    // A short run (the fast-start chunk) below the assumed rate does not replace it…
    lane.edgeSample(500, 10, 1);
    expect(lane.edgeRate).toBe(50);
    expect(lane.aloneRate).toBe(100);
    // …a streak of edge chunks with no peer chunk between them measures the edge alone.
    lane.delivered(1000, 100);
    lane.delivered(1000, 120);
    lane.peerDelivered(130, 1000); // breaks the streak
    lane.delivered(1000, 140);
    lane.delivered(1000, 150);
    expect(lane.edgeRate).toBe(50); // no streak of 3 yet
    lane.delivered(4000, 170);
    expect(lane.edgeRate).toBe(50); // 3 chunks, but within 50 ms
    lane.delivered(4000, 200);
    expect(lane.edgeRate).toBeCloseTo(9000 / 60); // from the streak's first chunk at 140: 9,000 B in 60 ms
    expect(lane.aloneRate).toBeCloseTo(150);
    // Until a peer has shown a pace well above the edge alone's, peers are taken to share its link.
    expect(lane.unshared).toBe(false);
    expect(lane.peerCap).toBeCloseTo(150);
    expect(lane.peerPrior).toBe(40);
    lane.notePeerPace(160); // 1.07× the edge alone: within its estimate's margin
    expect(lane.unshared).toBe(false);
    lane.notePeerPace(900); // 6×: a path the edge does not bottleneck
    expect(lane.unshared).toBe(true);
    expect(lane.peerCap).toBe(Infinity);
    expect(lane.peerPrior).toBe(900);
    const next = new EdgeLane({ windowMs: 100, assumedRate: 100 });
    next.notePeerPace(lane.peerBest); // carried over to the instance's next download
    expect(next.unshared).toBe(true);
  });

  it("sources that together outrun the edge alone show that peers do not share its link (bench §1: 4 MiB/s seeders beside a 50 Mbit/s edge)", () => {
    // The edge alone: 100 B/ms. A lane run asked at 0 brings 1,000 B every 10 ms from 10 ms on; a
    // peer asked at 30 ms brings 700 B every 10 ms (0.7× the edge: never above it on its own).
    const lane = new EdgeLane({ windowMs: 100, assumedRate: 100 });
    const seen: number[] = [];
    for (let t = 10; t <= 200 && !lane.unshared; t += 10) {
      lane.arrival(0, t, 1000, false);
      if (t >= 40) lane.arrival(30, t, 700, true);
      seen.push(t);
    }
    expect(lane.peerBest).toBe(0);
    expect(lane.unshared).toBe(true);
    // From the run's request at 0: t/10 × 1,000 + (t − 30)/10 × 700 > 1.1 × 100 × t from the first
    // window long enough to judge (OUTRUN_MIN_MS, 100 ms): 14,900 B > 11,000 B at 100 ms.
    expect(seen.at(-1)).toBe(OUTRUN_MIN_MS);
    expect(lane.outran).toBe(true);
    // Carried over to the instance's next download (`DownloadOptions.unshared`).
    const next = new EdgeLane({ windowMs: 100, assumedRate: 100 });
    expect(next.unshared).toBe(false);
    next.noteOutran();
    expect(next.unshared).toBe(true);
  });

  it("one shared link cannot fake it: a stalled event loop's burst, bytes that came with the manifest, an edge faster than assumed", () => {
    // Edge and peer share a 100 B/ms link. The event loop stalls from 0 to 500 ms: everything asked
    // at 0 that arrived meanwhile (50,000 B: the link's worth) is handed over at 500–505 ms.
    const lane = new EdgeLane({ windowMs: 100, assumedRate: 100 });
    for (let k = 0; k < 25; k++) lane.arrival(0, 500 + k / 5, 1000, false);
    for (let k = 0; k < 25; k++) lane.arrival(0, 505, 1000, true);
    // Then both share the link, each asked again at 505: 50 B/ms each.
    for (let t = 515; t <= 1500; t += 10) {
      lane.arrival(505, t, 500, false);
      lane.arrival(505, t, 500, true);
    }
    expect(lane.unshared).toBe(false);
    // Bytes asked for before the download began (a lead: `-Infinity`) prove nothing, however fast.
    const led = new EdgeLane({ windowMs: 100, assumedRate: 100 });
    for (let t = 10; t <= 300; t += 10) led.arrival(-Infinity, t, 5000, false);
    for (let t = 110; t <= 300; t += 10) led.arrival(100, t, 200, true);
    expect(led.unshared).toBe(false);
    // An edge faster than assumed (200 B/ms) with a trickle from peers: the edge's own speed is not
    // the peers' path (peers must bring a tenth of the edge alone's rate).
    const fast = new EdgeLane({ windowMs: 100, assumedRate: 100 });
    for (let t = 10; t <= 300; t += 10) {
      fast.arrival(0, t, 2000, false);
      if (t % 50 === 0) fast.arrival(0, t, 100, true);
    }
    expect(fast.unshared).toBe(false);
  });

  it("schedule (peers may share the edge's link): open below 0.9 of the edge alone's bytes by now, closed at 1", () => {
    const lane = new EdgeLane({ windowMs: 100, assumedRate: 100 });
    expect(lane.verdict(0, 0, 1e9)).toBeUndefined(); // nothing due yet
    expect(lane.verdict(10, 0, 1e9)).toBe("open"); // 1,000 B due, none obtained
    lane.peerDelivered(20, 1900);
    expect(lane.verdict(20, 0, 1e9)).toBe("open"); // 1,900 < 2,000: stays open (closes at 1×)
    lane.peerDelivered(20, 100);
    expect(lane.verdict(20, 0, 1e9)).toBeUndefined(); // 2,000 ≥ 2,000
    expect(lane.verdict(21, 0, 1e9)).toBeUndefined(); // 2,000 ≥ 0.9 × 2,100: stays closed
    expect(lane.verdict(30, 0, 1e9)).toBe("open"); // 2,000 < 0.9 × 3,000
  });

  it("keeps streaming while no peer is linked, even ahead of the schedule (the edge is the only source)", () => {
    const lane = new EdgeLane({ windowMs: 100, assumedRate: 100 });
    expect(lane.verdict(10, 0, 1e9, false)).toBe("open");
    lane.delivered(5000, 10);
    expect(lane.verdict(20, 0, 1e9, false)).toBe("open"); // 5,000 ≥ 2,000 due, but no peer linked
    expect(lane.verdict(20, 0, 1e9, true)).toBeUndefined(); // a peer linked: ahead, so it closes
    expect(lane.verdict(21, 0, 1e9, false)).toBeUndefined(); // and a closed lane opens only when behind
  });

  it("sizes lane runs to the edge's share of the window", () => {
    const lane = new EdgeLane({ windowMs: 100, runMax: 32 });
    expect(lane.runLength(0, 32)).toBe(32); // no peer linked: the whole window
    expect(lane.runLength(0, 32, true)).toBe(16); // linked, pace unknown: half
    lane.edgeRate = 100;
    lane.peerDelivered(50, 6000); // 60 B/ms over the 100 ms window: the edge's share is 0.4
    expect(lane.runLength(60, 32, true)).toBe(13);
    lane.peerDelivered(55, 20_000);
    expect(lane.runLength(60, 32, true)).toBe(2); // at least 2
  });
});

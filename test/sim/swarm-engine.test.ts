import { describe, expect, it } from "vitest";
import { EventQueue } from "../../sim/event-queue";
import { EDGE, FlowNetwork } from "../../sim/flow-network";
import { fallbackPicker, realPolicies, type PickerPeer } from "../../sim/policy-adapters";
import { Rng } from "../../sim/prng";
import { catalogueParams, POPULATION } from "../../sim/presets/swarm-defaults";
import { MSG, runSwarm, type SwarmParams } from "../../sim/swarm-engine";
import { lineChart, toCsv } from "../../sim/svg-chart";

describe("FlowNetwork (fluid fair share)", () => {
  it("shares an uplink between concurrent uploads and speeds up the survivor", () => {
    const q = new EventQueue();
    const down = Float64Array.from([100, 100, 100]);
    const up = Float64Array.from([10, 0, 0]);
    const net = new FlowNetwork(q, 1, down, up, 1000);
    const a = net.start(0, 1, 100, 0, 0, 1); // 5 B/s while shared
    const b = net.start(0, 2, 50, 0, 0, 1);
    const done: [number, number][] = [];
    while (q.pop()) { done.push([q.a, q.now]); net.end(q.a); }
    // b: 50 B at 5 B/s → t=10. a: 50 B moved by t=10, then 50 B at 10 B/s → t=15.
    expect(done[0]?.[0]).toBe(b);
    expect(done[0]?.[1]).toBeCloseTo(10);
    expect(done[1]?.[0]).toBe(a);
    expect(done[1]?.[1]).toBeCloseTo(15);
  });

  it("caps a transfer by the downloader's share and the edge's per-connection rate", () => {
    const q = new EventQueue();
    const net = new FlowNetwork(q, 1, Float64Array.from([0, 40]), Float64Array.from([1000, 0]), 30);
    net.start(EDGE, 1, 30, 0, 0, 1); // min(40/2, 30) = 20 B/s while both run
    net.start(0, 1, 60, 0, 0, 1); // min(40/2, 1000) = 20 B/s
    const times: number[] = [];
    while (q.pop()) { times.push(q.now); net.end(q.a); }
    // edge: 30 B at 20 → 1.5 s; peer: 30 B by 1.5 s, then 30 B at 40 → 2.25 s.
    expect(times[0]).toBeCloseTo(1.5);
    expect(times[1]).toBeCloseTo(2.25);
  });
});

describe("real policies", () => {
  it("the client's picker agrees with the stand-in the engine was built against", () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + rng.int(16);
      const held = Array.from({ length: 6 }, () => Array.from({ length: n }, () => rng.next() < 0.5));
      const need = Array.from({ length: n }, () => rng.next() < 0.7);
      const peers: PickerPeer[] = held.map((h, k) => ({ id: `p${k}`, has: (i) => h[i] === true, free: rng.int(3), kind: rng.next() < 0.3 ? "supernode" : "browser" }));
      const input = { from: 0, to: n, needed: (i: number) => need[i] === true, peers };
      expect(realPolicies.pickChunks(input)).toEqual(fallbackPicker.pickChunks(input));
    }
    expect(realPolicies.source.ranking).toContain("durable/peer-ranking.ts");
    expect(realPolicies.source.picking).toContain("client/piece-picker.ts");
  });
});

describe("swarm engine end to end", () => {
  const small = (seed: number): SwarmParams => ({ ...catalogueParams(seed, 300), horizonS: 400, warmupS: 60, binS: 60 });

  it("is deterministic for a seed and differs across seeds", () => {
    const a = runSwarm(small(1), realPolicies).metrics;
    const b = runSwarm(small(1), realPolicies).metrics;
    const c = runSwarm(small(2), realPolicies).metrics;
    expect(a.totals).toEqual(b.totals);
    expect(a.ttc).toEqual(b.ttc);
    expect(a.perSecondMax).toEqual(b.perSecondMax);
    expect(c.totals).not.toEqual(a.totals);
  });

  it("moves bytes from peers and the edge, completes downloads, and counts coordinator frames", () => {
    const m = runSwarm(small(3), realPolicies).metrics;
    expect(m.totals.completed).toBeGreaterThan(50);
    expect(m.totals.peerBytes).toBeGreaterThan(0);
    expect(m.totals.edgeBytes).toBeGreaterThan(0);
    expect(m.offload).toBeGreaterThan(0);
    expect(m.offload).toBeLessThan(1);
    expect(m.totals.msgs).toBeGreaterThan(m.totals.completed);
    expect(Math.max(...m.perSecondMax)).toBeGreaterThan(0);
    expect(m.ttc.length).toBe(m.ttcEdgeOnly.length);
  });

  it("a flash crowd on one object exceeds what per-continent shards see", () => {
    const base: SwarmParams = { ...catalogueParams(5, 2000), workload: { kind: "flash", itemBytes: 4 << 20, rampS: 20, seedMeanS: 60 }, horizonS: 90, warmupS: 0, binS: 10 };
    const global = runSwarm({ ...base, shardBy: "global" }, realPolicies).metrics;
    const cont = runSwarm({ ...base, shardBy: "continent" }, realPolicies).metrics;
    expect(Math.max(...global.perSecondMax)).toBeGreaterThan(1.5 * Math.max(...cont.perSecondMax));
    expect(Math.max(...cont.perSecondObjects)).toBeGreaterThan(1);
    expect(Math.max(...global.perSecondObjects)).toBe(1);
  });

  it("a full shard refuses sockets (MAX_PEERS_PER_SHARD): refused peers still complete from the edge", () => {
    const base: SwarmParams = { ...catalogueParams(6, 1500), workload: { kind: "flash", itemBytes: 4 << 20, rampS: 20, seedMeanS: 60 }, shardBy: "global", horizonS: 90, warmupS: 0, binS: 10 };
    const open = runSwarm({ ...base, maxPeersPerShard: Infinity }, realPolicies).metrics;
    const capped = runSwarm({ ...base, maxPeersPerShard: 100, maxSubshards: 1 }, realPolicies).metrics;
    expect(open.totals.refused).toBe(0);
    expect(Math.max(...open.bins.maxSwarm)).toBeGreaterThan(100);
    expect(Math.max(...capped.bins.maxSwarm)).toBe(100);
    expect(capped.totals.refused).toBeGreaterThan(1000);
    expect(capped.totals.completed).toBe(1500);
    expect(capped.offload).toBeLessThan(open.offload - 0.2);
  });

  it("spill-over: a full shard places peers in sub-shards, nobody is refused while one has room", () => {
    const base: SwarmParams = { ...catalogueParams(6, 1500), workload: { kind: "flash", itemBytes: 4 << 20, rampS: 20, seedMeanS: 60 }, shardBy: "global", horizonS: 90, warmupS: 0, binS: 10 };
    const capped = runSwarm({ ...base, maxPeersPerShard: 100, maxSubshards: 1 }, realPolicies);
    const spill = runSwarm({ ...base, maxPeersPerShard: 100, maxSubshards: 16 }, realPolicies);
    const tight = runSwarm({ ...base, maxPeersPerShard: 100, maxSubshards: 3 }, realPolicies);
    expect(capped.objects).toBe(1);
    expect(spill.metrics.totals.refused).toBe(0);
    expect(Math.max(...spill.metrics.bins.maxSwarm)).toBe(100);
    expect(spill.objects).toBeGreaterThan(4);
    expect(spill.objects).toBeLessThanOrEqual(16);
    expect(spill.metrics.totals.spillHops).toBeGreaterThan(0);
    expect(spill.metrics.offload).toBeGreaterThan(capped.metrics.offload + 0.2);
    expect(Math.max(...spill.metrics.perSecondObjects)).toBeGreaterThan(4);
    // Three objects of 100 cannot hold the crowd: the last one tried refuses, as before.
    expect(tight.objects).toBe(3);
    expect(tight.metrics.totals.refused).toBeGreaterThan(100);
    expect(tight.metrics.totals.completed).toBe(1500);
  });

  it("request budget: busy sub-shards fill side by side, so the busiest object stays near the budget; nobody is refused", () => {
    // 3,000 arrivals in 10 s on one global shard (300/s): ~18 frames each is ~5,400 frames/s.
    const base: SwarmParams = { ...catalogueParams(9, 3000), workload: { kind: "flash", itemBytes: 8 << 20, rampS: 10, seedMeanS: 60 }, shardBy: "global", maxPeersPerShard: 5000, maxSubshards: 16, horizonS: 60, warmupS: 0, binS: 10 };
    const full = runSwarm(base, realPolicies);
    const budget = { frameBudget: 400, joinCost: 20, minSockets: 20 };
    const busy = runSwarm({ ...base, spillBudget: budget }, realPolicies);
    const peak = (r: typeof full) => Math.max(...r.metrics.perSecondMax);
    // Without the budget one object takes the whole crowd (it never reaches its 5,000 sockets).
    expect(full.objects).toBe(1);
    expect(peak(full)).toBeGreaterThan(3 * budget.frameBudget);
    expect(busy.objects).toBeGreaterThan(5);
    expect(busy.metrics.totals.refused).toBe(0);
    expect(busy.metrics.totals.completed).toBe(3000);
    expect(full.metrics.totals.completed).toBe(3000);
    expect(peak(busy)).toBeLessThan(1.5 * budget.frameBudget);
    expect(peak(busy)).toBeLessThan(peak(full) / 3);
  });

  it("a stream on one collection swarm: one socket per viewer for all segments, ≤ 10 frames per viewer per segment, peers serve most bytes", () => {
    for (const live of [false, true]) {
      const workload = { kind: "stream", live, segments: 40, segmentBytes: 512 * 1024, segmentS: 2, arrivalS: live ? 30 : 120, forwardBufferS: 30, liveSyncSegments: 3, seedMeanS: 30 } as const;
      const r = runSwarm({ ...catalogueParams(11, 300), workload, pieceBytes: 256 * 1024, horizonS: 300, warmupS: 0, binS: 10 }, realPolicies);
      const m = r.metrics;
      // Each viewer joined once (no cap reached: no spill hops), and left at most once (a few still seed at the horizon).
      expect(m.msgsByKind.join).toBe(300);
      expect(m.msgsByKind.bye).toBeLessThanOrEqual(300);
      expect(m.msgsByKind.bye).toBeGreaterThan(250);
      expect(m.totals.segments).toBe(live ? m.totals.completed + m.totals.localHits : 300 * 40);
      expect(m.totals.completed).toBeGreaterThan(300 * 20);
      expect(m.totals.msgs / m.totals.segments).toBeLessThanOrEqual(10);
      // Links persist across segments: fewer than one new link per segment.
      expect(m.msgsByKind.connect!).toBeLessThan(m.totals.segments * MSG.connect);
      expect(m.offload).toBeGreaterThan(0.5);
    }
  });

  it("counts the same frames per object under other shardings (alsoCount)", () => {
    const base: SwarmParams = { ...catalogueParams(8, 1200), workload: { kind: "flash", itemBytes: 4 << 20, rampS: 20, seedMeanS: 60 }, horizonS: 60, warmupS: 0, binS: 10 };
    const r = runSwarm({ ...base, shardBy: "continent", alsoCount: ["continent", "global", "colo"] }, realPolicies);
    const same = r.alsoCounted.get("continent")!, global = r.alsoCounted.get("global")!, colo = r.alsoCounted.get("colo")!;
    expect(same.perSecondMax).toEqual(r.metrics.perSecondMax); // same partition, other key scheme
    expect(same.perSecondObjects).toEqual(r.metrics.perSecondObjects);
    expect(Math.max(...global.perSecondObjects)).toBe(1);
    expect(Math.max(...colo.perSecondObjects)).toBeGreaterThan(6);
    r.metrics.perSecondMax.forEach((v, i) => {
      expect(global.perSecondMax[i]).toBeGreaterThanOrEqual(v);
      expect(colo.perSecondMax[i]).toBeLessThanOrEqual(v);
    });
  });

  it("no uplink means no offload", () => {
    const p = small(4);
    p.population = { ...POPULATION, upDownRatio: 0 };
    const m = runSwarm(p, realPolicies).metrics;
    expect(m.totals.peerBytes).toBe(0);
    expect(m.totals.completed).toBeGreaterThan(0);
  });
});

describe("chart and CSV writers", () => {
  it("renders one polyline per series and escapes text", () => {
    const svg = lineChart({ title: "a < b", xLabel: "x", yLabel: "y", series: [{ name: "s1", x: [1, 2, 3], y: [1, NaN, 3] }, { name: "s2", x: [1, 2], y: [2, 2] }], hLines: [{ y: 1.5, label: "limit" }] });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("a &lt; b");
    expect(svg.match(/<polyline/g)?.length).toBe(3); // s1 breaks at NaN into two one-point segments, + s2
    expect(toCsv(["a", "b"], [[1.23456789, "x,y"]])).toBe('a,b\n1.23457,"x,y"\n');
  });
});

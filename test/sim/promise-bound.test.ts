import { describe, expect, it } from "vitest";
import { MaxFlow } from "../../sim/max-flow";
import { offloadLimit, type TraceEvent } from "../../sim/offload-limit";
import { promiseBound } from "../../sim/promise-bound";
import { Rng } from "../../sim/prng";

const on = (t: number, peer: number): TraceEvent => ({ t, type: "on", peer });
const off = (t: number, peer: number): TraceEvent => ({ t, type: "off", peer });
const req = (t: number, peer: number, item: number): TraceEvent => ({ t, type: "request", peer, item });
const MB = 1e6;
/** 8 MB items, 4 MB/s uploads, an 8 MB/s edge with no fixed cost: a request's window is 1 s. */
const opts = { sizeOf: () => 8 * MB, uploadBytesPerSec: 4 * MB, edgeBytesPerSec: 8 * MB, edgeOverheadS: 0 };

describe("MaxFlow", () => {
  it("finds the maximum flow where a greedy path would block (needs a residual edge)", () => {
    // s→a→b→t is the greedy first path; the max flow (2) has to undo it through b→a.
    const g = new MaxFlow();
    const [s, a, b, t] = [g.node(), g.node(), g.node(), g.node()];
    g.edge(s, a, 1);
    g.edge(s, b, 1);
    g.edge(a, b, 1);
    g.edge(a, t, 1);
    g.edge(b, t, 1);
    expect(g.solve(s, t)).toBeCloseTo(2);
  });

  it("is bounded by the cut, and reports the flow per edge", () => {
    const g = new MaxFlow();
    const [s, a, b, t] = [g.node(), g.node(), g.node(), g.node()];
    const sa = g.edge(s, a, 10);
    const sb = g.edge(s, b, 10);
    g.edge(a, t, 2.5);
    g.edge(b, t, 4);
    g.edge(a, b, 3);
    expect(g.solve(s, t)).toBeCloseTo(6.5);
    expect(g.flowOn(sa) + g.flowOn(sb)).toBeCloseTo(6.5);
  });

  it("rejects a negative capacity", () => {
    const g = new MaxFlow();
    expect(() => g.edge(g.node(), g.node(), -1)).toThrow(RangeError);
  });
});

describe("promiseBound (offload that keeps the edge-alone promise under upload caps)", () => {
  it("one holder's uplink carries only its rate × the edge-alone window", () => {
    const r = promiseBound([on(0, 1), on(0, 2), req(0, 1, 7), req(1, 2, 7)], opts);
    expect(r.perRequest[0]).toBe(0); // nobody held it
    expect(r.perRequest[1]).toBeCloseTo(4 * MB); // 4 MB/s × 1 s, not the whole 8 MB
    expect(r.offload).toBeCloseTo(4 / 16);
    expect(offloadLimit([on(0, 1), on(0, 2), req(0, 1, 7), req(1, 2, 7)], { shardOf: () => 0, sizeOf: () => 8 * MB }).offload).toBeCloseTo(0.5);
  });

  it("two holders together carry the whole item, never more than its size", () => {
    const r = promiseBound([on(0, 1), on(0, 2), on(0, 3), req(0, 1, 7), req(0, 2, 7), req(5, 3, 7)], opts);
    expect(r.perRequest[2]).toBeCloseTo(8 * MB);
    const three = promiseBound([on(0, 1), on(0, 2), on(0, 3), on(0, 4), req(0, 1, 7), req(0, 2, 7), req(0, 3, 7), req(5, 4, 7)], opts);
    expect(three.perRequest[3]).toBeCloseTo(8 * MB);
  });

  it("a holder's uplink is shared by the requests it serves at the same time", () => {
    // Holder 1 alone holds items 7 and 8; 2 and 3 ask for one each over the same second: 4 MB in
    // all, however it is split.
    const base = [on(0, 1), on(0, 2), on(0, 3), req(0, 1, 7), req(0, 1, 8)];
    const r = promiseBound([...base, req(10, 2, 7), req(10, 3, 8)], opts);
    expect(r.perRequest[2]! + r.perRequest[3]!).toBeCloseTo(4 * MB);
    // Half a second apart, the windows overlap for half of each: 4 MB/s × 1.5 s = 6 MB.
    const staggered = promiseBound([...base, req(10, 2, 7), req(10.5, 3, 8)], opts);
    expect(staggered.peerBytes).toBeCloseTo(6 * MB);
  });

  it("a holder counts only while online, and only if it held the item at the request's start", () => {
    const leaves = promiseBound([on(0, 1), on(0, 2), req(0, 1, 7), req(1, 2, 7), off(1.25, 1)], opts);
    expect(leaves.perRequest[1]).toBeCloseTo(1 * MB); // online for a quarter of the window
    // Peer 2 starts its own request half-way through 3's window: like the trace limit, it is no holder
    // for 3 (not one at 3's start), but 3 is one for 2.
    const late = promiseBound([on(0, 1), on(0, 2), on(0, 3), req(0, 1, 7), off(0.1, 1), req(1, 3, 8), req(1.5, 2, 8)], {
      ...opts,
      sizeOf: (i) => (i === 8 ? 8 * MB : 1),
    });
    expect(late.perRequest[1]).toBe(0);
    expect(late.perRequest[2]).toBeCloseTo(4 * MB); // 3 started at 1 s, 2's window is [1.5, 2.5]
  });

  it("meets the trace limit when uplinks are fast and counts repeat views as the limit does", () => {
    const rng = new Rng(7).random;
    const trace: TraceEvent[] = [];
    for (let p = 0; p < 12; p++) trace.push(on(p * 0.5, p));
    for (let k = 0; k < 40; k++) trace.push(req(6 + k * 0.25, Math.floor(rng() * 12), Math.floor(rng() * 5)));
    trace.push(off(9, 3), off(11, 7));
    trace.sort((a, b) => a.t - b.t);
    const live = trace.filter((e) => !(e.type === "request" && ((e.peer === 3 && e.t >= 9) || (e.peer === 7 && e.t >= 11))));
    const sizeOf = (i: number) => (i + 1) * MB;
    const limit = offloadLimit(live, { shardOf: () => 0, sizeOf });
    const bound = promiseBound(live, { sizeOf, uploadBytesPerSec: 1e12, edgeBytesPerSec: 8 * MB, edgeOverheadS: 0.1 });
    expect(limit.localHits).toBeGreaterThan(0);
    expect(bound.offload).toBeCloseTo(limit.offload, 6);
    const capped = promiseBound(live, { sizeOf, uploadBytesPerSec: 2 * MB, edgeBytesPerSec: 8 * MB, edgeOverheadS: 0.1 });
    expect(capped.offload).toBeLessThan(limit.offload);
  });
});

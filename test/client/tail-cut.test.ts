/** The tail race's cut (client/tail-cut.ts): where a slow peer's queued run is cut for the edge. */
import { describe, expect, it } from "vitest";
import { planTailCuts } from "../../client/tail-cut";

const C = 1000;
const base = { now: 0, chunkBytes: C, edgeRate: 10, edgeBytes: 0, scheduleEnd: 0 };

describe("planTailCuts", () => {
  it("cuts a peer 10× slower than the edge after the chunk it is sending", () => {
    // peer: 100 ms a chunk; edge: 100 ms for all 7 of the rest → max(100, 700/10=70) < keeping more
    expect(planTailCuts([{ waiting: [30, 31, 32, 33, 34, 35, 36, 37], rate: 10 }], { ...base, edgeRate: 100 })).toEqual([31]);
  });

  it("balances the peer's and the edge's finish, the edge's queue counted", () => {
    // equal rates: 8 chunks split 4/4; with 4 chunks already on the edge, the peer keeps 6
    expect(planTailCuts([{ waiting: [0, 1, 2, 3, 4, 5, 6, 7], rate: 10 }], base)).toEqual([4]);
    expect(planTailCuts([{ waiting: [0, 1, 2, 3, 4, 5, 6, 7], rate: 10 }], { ...base, edgeBytes: 4 * C })).toEqual([6]);
  });

  it("leaves a run the peer finishes by the schedule's end, a single chunk, and a run no cut speeds up", () => {
    expect(planTailCuts([{ waiting: [0, 1, 2], rate: 1 }], { ...base, scheduleEnd: 3 * C })).toEqual([undefined]);
    expect(planTailCuts([{ waiting: [5], rate: 0.001 }], base)).toEqual([undefined]);
    expect(planTailCuts([{ waiting: [0, 1], rate: 100 }], base)).toEqual([undefined]);
    expect(planTailCuts([{ waiting: [0, 1], rate: 1 }], { ...base, edgeRate: 0 })).toEqual([undefined]);
  });

  it("each cut adds to the edge's share for the next run", () => {
    const runs = [{ waiting: [0, 1, 2, 3], rate: 1 }, { waiting: [10, 11, 12, 13], rate: 1 }];
    const [a, b] = planTailCuts(runs, { ...base, edgeRate: 3 });
    expect(a).toBe(1);
    // the edge now brings 3 chunks (1 s): the second peer keeps 2 (2 s) rather than 1
    expect(b).toBe(12);
  });
});

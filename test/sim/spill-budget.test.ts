import { describe, expect, it } from "vitest";
import { DEFAULT_SPILL_BUDGET, SpillBudget } from "../../durable/spill-budget";
import { MAX_BUSY_HOPS, SpillHints, spillOrder, spreadOffset, walkOrder } from "../../durable/subshards";
import { SwarmObjects } from "../../sim/swarm-objects";

describe("SpillBudget (one coordinator object's request budget)", () => {
  it("is busy once the requests of the last second reach the budget, and not after a quiet second", () => {
    const b = new SpillBudget({ frameBudget: 100, joinCost: 10, minSockets: 0 });
    const t = 50_000;
    for (let i = 0; i < 99; i++) b.request(t + i);
    expect(b.busy(t + 100, 500)).toBe(false);
    b.request(t + 100);
    expect(b.busy(t + 100, 500)).toBe(true);
    // Half a second later, half of the previous second still counts: 100 × 0.4 in the window.
    expect(b.rate(t + 1_600)).toBeCloseTo(100 * (1 - 0.6), 5);
    expect(b.busy(t + 1_600, 500)).toBe(false);
    expect(b.rate(t + 3_000)).toBe(0);
  });

  it("charges each join its expected frames up front, draining at the budget per second", () => {
    const b = new SpillBudget({ frameBudget: 100, joinCost: 10, minSockets: 0 });
    const t = 7_000;
    let admitted = 0;
    while (!b.busy(t, 500)) { b.joined(t); admitted++; }
    expect(admitted).toBe(10); // budget ÷ cost joins at once
    expect(b.busy(t + 99, 500)).toBe(true);
    expect(b.busy(t + 100, 500)).toBe(false); // 10 frames drained: room for one more join
    b.joined(t + 100);
    expect(b.busy(t + 100, 500)).toBe(true);
    // A clock that goes backwards neither refills nor breaks it.
    expect(b.busy(t, 500)).toBe(true);
  });

  it("a small swarm is never busy, whatever its rate", () => {
    const b = new SpillBudget({ frameBudget: 100, joinCost: 10, minSockets: 50 });
    for (let i = 0; i < 500; i++) b.request(1_000);
    for (let i = 0; i < 40; i++) b.joined(1_000);
    expect(b.busy(1_000, 49)).toBe(false);
    expect(b.busy(1_000, 50)).toBe(true);
  });

  it("deployed budget: 80 % of the ~1,000 req/s soft limit, a join charged about a viral requester's frames", () => {
    expect(DEFAULT_SPILL_BUDGET).toEqual({ frameBudget: 800, joinCost: 20, minSockets: 100 });
  });
});

describe("busy spread (durable/subshards.ts spillOrder)", () => {
  it("a busy answer widens the spread to the object after it; full hints still move the start", () => {
    const hints = new SpillHints();
    expect(spillOrder(hints, "s", "p", 0, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    hints.busy("s", 0, 0); // joins may now start at 0 or 1
    const starts = new Set<number>();
    for (let i = 0; i < 64; i++) starts.add(spillOrder(hints, "s", `peer-${i}`, 10, 8)[0]!);
    expect([...starts].sort()).toEqual([0, 1]);
    hints.busy("s", 1, 20);
    hints.busy("s", 2, 20); // [0, 4)
    for (let i = 0; i < 64; i++) {
      const id = `peer-${i}`;
      expect(spillOrder(hints, "s", id, 30, 8)).toEqual(walkOrder(0, spreadOffset(id, 4), 8));
    }
    // A busy answer from a lower object never narrows it.
    hints.busy("s", 0, 40);
    expect(hints.spreadEnd("s", 40)).toBe(4);
    // Full sub-shards 0 and 1: start at 2, spread over [2, 4) — no narrower than the spill window.
    hints.full("s", 0, 50);
    hints.full("s", 1, 50);
    expect(spillOrder(hints, "s", "x", 60, 8)[0]).toBeGreaterThanOrEqual(2);
    // The busy spread lasts 30 s after its last renewal; then the cold path again (hint expired too).
    expect(hints.spreadEnd("s", 40 + 30_000)).toBe(0);
    expect(spillOrder(hints, "s", "p", 40 + 30_000, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("placement: a busy object sends joins on, the one after at most MAX_BUSY_HOPS busy answers takes them, a full one still refuses", () => {
    expect(MAX_BUSY_HOPS).toBe(2);
    // Budget of 2 joins at once per object (cost 50 of 100).
    const objs = new SwarmObjects(1000, 4, 4, { frameBudget: 100, joinCost: 50, minSockets: 0 });
    const placed = Array.from({ length: 40 }, (_, p) => objs.join(0, p, p, `peer-${p}`, 1));
    expect(placed.every((r) => r.object >= 0)).toBe(true);
    const per = [0, 1, 2, 3].map((k) => objs.members(k).length);
    // All four objects took joins, and each was busy after 2: the rest went to whichever object
    // came after MAX_BUSY_HOPS busy answers (or the last tried), never refused.
    expect(per.every((n) => n >= 2)).toBe(true);
    expect(per.reduce((a, b) => a + b)).toBe(40);
    for (const r of placed) expect(r.tried.length).toBeLessThanOrEqual(MAX_BUSY_HOPS + 1);
    // Full is still full: a 1-socket, 1-object shard refuses the second join even though not busy.
    const tiny = new SwarmObjects(1, 1, 4, { frameBudget: 100, joinCost: 1, minSockets: 0 });
    expect(tiny.join(0, 0, 0, "a", 0).object).toBe(0);
    expect(tiny.join(0, 1, 1, "b", 0).object).toBe(-1);
  });
});

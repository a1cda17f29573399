import { describe, expect, it } from "vitest";
import { SpillHints, spreadOffset } from "../../durable/subshards";
import { DEFAULT_MAX_SUBSHARDS, SPILL_WINDOW, SwarmObjects, placementOrder } from "../../sim/swarm-objects";

/** A peer id whose FNV-1a offset in the spill window is `want`. */
function peerWithOffset(want: number, tag: string): string {
  for (let i = 0; ; i++) if (spreadOffset(`${tag}-${i}`, SPILL_WINDOW) === want) return `${tag}-${i}`;
}

describe("spill-over placement (the Worker's rule, durable/subshards.ts)", () => {
  it("uses the deployed constants: window 4, 16 objects per shard", () => {
    expect(SPILL_WINDOW).toBe(4);
    expect(DEFAULT_MAX_SUBSHARDS).toBe(16);
  });

  it("no hint: the cold path from sub-shard 0; with hint h: h + FNV-1a(peerId) mod 4 up to the last, then wrap to h", () => {
    const hints = new SpillHints();
    expect(placementOrder(hints, "s", "any", 0, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    hints.full("s", 0, 0);
    hints.full("s", 1, 0); // hint h = 2
    const p3 = peerWithOffset(3, "a"), p0 = peerWithOffset(0, "b");
    expect(placementOrder(hints, "s", p3, 1000, 8)).toEqual([5, 6, 7, 2, 3, 4]);
    expect(placementOrder(hints, "s", p0, 1000, 8)).toEqual([2, 3, 4, 5, 6, 7]);
    // The start is clamped to the last sub-shard; the hint lives 5 s, then joins start at 0 again.
    expect(placementOrder(hints, "s", p3, 1000, 4)).toEqual([3, 2]);
    expect(placementOrder(hints, "s", p3, 5000, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("fills sub-shard 0, then spreads over a window of 4; members only ever see their own object", () => {
    const objs = new SwarmObjects(2, 8);
    const placed: number[] = [];
    const tried: number[][] = [];
    for (let peer = 0; peer < 12; peer++) {
      const r = objs.join(7, peer, peer, `peer-${peer}`, 0);
      placed.push(r.object);
      tried.push(r.tried);
    }
    expect(tried[2]).toEqual([56, 57]);
    expect(placed.slice(0, 2)).toEqual([56, 56]); // object key = shard key 7 × 8 + k
    // The third join walked past full sub-shard 0 (a 503) to 1; later ones start at h + offset.
    const k = placed.map((o) => o - 56);
    expect(k[2]).toBe(1);
    expect(k[3]).toBe(1 + spreadOffset("peer-3", SPILL_WINDOW)); // hint 1, its object has room
    for (let peer = 3; peer < 12; peer++) {
      const h = k.slice(0, peer).filter((x) => x === 0).length >= 2 ? 1 : 0;
      expect(k[peer]).toBeGreaterThanOrEqual(h);
    }
    const counts = new Map<number, number>();
    for (const o of placed) counts.set(o, (counts.get(o) ?? 0) + 1);
    for (const [o, n] of counts) {
      expect(n).toBeLessThanOrEqual(2);
      expect(objs.members(o).length).toBe(n);
      for (const peer of objs.members(o)) expect(placed[peer]).toBe(o);
    }
    expect(objs.shardKeyOf(placed[11]!)).toBe(7);
  });

  it("refuses only when every sub-shard tried is full; a leave makes room again", () => {
    const objs = new SwarmObjects(1, 3);
    expect([0, 1, 2].map((p) => objs.join(0, p, p, `p${p}`, 0).object).sort()).toEqual([0, 1, 2]);
    const refused = objs.join(0, 3, 3, "p3", 0);
    expect(refused.object).toBe(-1);
    expect(refused.tried.length).toBeGreaterThan(0);
    expect(new Set(refused.tried).size).toBe(refused.tried.length); // no object asked twice
    const freed = objs.objectOf(1);
    expect(objs.leave(1, 1)).toBe(freed);
    expect(objs.leave(1, 1)).toBe(-1);
    // Hint expired (t = 10 s): the walk starts at 0 and finds the freed object.
    expect(objs.join(0, 3, 3, "p3", 10).object).toBe(freed);
    // An existing member is let back into its own object.
    expect(objs.join(0, 3, 3, "p3", 10)).toEqual({ object: freed, tried: [freed] });
  });

  it("maxSubshards 1 is the hard cap: one object, refused beyond cap", () => {
    const objs = new SwarmObjects(2, 1);
    expect([0, 1, 2].map((p) => objs.join(5, p, p, `p${p}`, 0).object)).toEqual([5, 5, -1]);
  });
});

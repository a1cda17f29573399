import { describe, expect, it } from "vitest";
import { availability, pickChunks, pickEdgeRun } from "../../client/piece-picker";

const peer = (id: string, held: number[] | "all", free = 4) => ({ id, has: (i: number) => held === "all" || held.includes(i), free });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
const supernode = (id: string, held: number[] | "all", free = 4) => ({ ...peer(id, held, free), kind: "supernode" as const });
const browser = (id: string, held: number[] | "all", free = 4) => ({ ...peer(id, held, free), kind: "browser" as const });

describe("piece picker", () => {
  it("picks the rarest chunks first, nearest first among equals", () => {
    const picks = pickChunks({
      from: 0, to: 10, needed: () => true,
      peers: [peer("a", "all", 3), peer("b", [0, 1, 2, 3, 4, 5, 6, 7, 8], 3), peer("c", [0, 1, 2, 3, 4, 5, 6, 7], 3)],
    });
    // chunk 9: only a; chunk 8: a, b; then the rest in order.
    expect(picks.slice(0, 2)).toEqual([{ peerId: "a", index: 9 }, { peerId: "b", index: 8 }]);
    expect(picks.map((p) => p.index).slice(2)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("gives each peer at most its free slots and spreads load to the least busy holder", () => {
    const picks = pickChunks({ from: 0, to: 20, needed: () => true, peers: [peer("a", "all", 2), peer("b", "all", 3), peer("c", "all", 0)] });
    const count = (id: string) => picks.filter((p) => p.peerId === id).length;
    expect([count("a"), count("b"), count("c")]).toEqual([2, 3, 0]);
    expect(picks.map((p) => p.index)).toEqual([0, 1, 2, 3, 4]);
    expect(picks[0]!.peerId).toBe("b"); // most free first
  });

  it("stays inside the window and skips chunks not needed or held by nobody", () => {
    const picks = pickChunks({ from: 5, to: 9, needed: (i) => i !== 6, peers: [peer("a", [4, 5, 6, 7, 9, 10], 10)] });
    expect(picks).toEqual([{ peerId: "a", index: 5 }, { peerId: "a", index: 7 }]);
  });

  it("asks a browser holder before a supernode, even a better-ranked supernode with more free slots", () => {
    const picks = pickChunks({ from: 0, to: 4, needed: () => true, peers: [supernode("s", "all", 8), browser("b", "all", 4)] });
    expect(picks).toEqual([0, 1, 2, 3].map((index) => ({ peerId: "b", index })));
  });

  it("gives a supernode only what no browser with a free slot holds", () => {
    // The browser can take 3 of 10 chunks and lacks chunk 7: the supernode gets chunk 7 (rarest,
    // picked first) and the overflow once the browser is saturated.
    const picks = pickChunks({
      from: 0, to: 10, needed: () => true,
      peers: [supernode("s", "all", 10), browser("b", [0, 1, 2, 3, 4, 5, 6, 8, 9], 3)],
    });
    expect(picks[0]).toEqual({ peerId: "s", index: 7 });
    expect(picks.filter((p) => p.peerId === "b").map((p) => p.index)).toEqual([0, 1, 2]);
    expect(picks.filter((p) => p.peerId === "s").map((p) => p.index)).toEqual([7, 3, 4, 5, 6, 8, 9]);
  });

  it("overflows a busy browser's chunks to a supernode only within supernodeReach of the reader", () => {
    const picks = pickChunks({
      from: 10, to: 30, needed: () => true, supernodeReach: 4,
      peers: [browser("b", range(0, 25), 1), supernode("s", "all", 10)],
    });
    // 25..29: no browser holds them, so reach does not apply; 10: the browser's one slot;
    // 11..13: near the reader, the browser is full → supernode; 14..24 wait for the browser.
    expect(picks.filter((p) => p.peerId === "b").map((p) => p.index)).toEqual([10]);
    expect(picks.filter((p) => p.peerId === "s").map((p) => p.index).sort((x, y) => x - y)).toEqual([11, 12, 13, 25, 26, 27, 28, 29]);
  });

  it("asks a supernode when it is the only holder", () => {
    const picks = pickChunks({ from: 0, to: 6, needed: () => true, peers: [browser("b", [0, 1, 2], 4), supernode("s", [5], 4)] });
    expect(picks).toEqual([{ peerId: "b", index: 0 }, { peerId: "b", index: 1 }, { peerId: "b", index: 2 }, { peerId: "s", index: 5 }]);
  });

  it("treats a peer of unknown kind as a browser, and spreads among browsers by free slots", () => {
    const picks = pickChunks({ from: 0, to: 3, needed: () => true, peers: [supernode("s", "all", 5), peer("u", "all", 1), browser("b", "all", 2)] });
    expect(picks.map((p) => p.peerId).sort()).toEqual(["b", "b", "u"]);
  });

  it("picks nothing when no peer has a free slot", () => {
    expect(pickChunks({ from: 0, to: 5, needed: () => true, peers: [peer("a", "all", 0)] })).toEqual([]);
  });

  it("counts availability", () => {
    expect(availability([peer("a", [0, 1]), peer("b", [1])], 0, 3)).toEqual([1, 2, 0]);
  });

  it("plans long contiguous edge runs, bounded and starting inside the window", () => {
    expect(pickEdgeRun({ from: 0, to: 100, needed: () => true, edgeable: () => true, maxRun: 16 })).toEqual([0, 16]);
    expect(pickEdgeRun({ from: 0, to: 100, needed: (i) => i >= 3, edgeable: (i) => i < 40, maxRun: 64 })).toEqual([3, 40]);
    expect(pickEdgeRun({ from: 0, to: 100, needed: () => true, edgeable: (i) => i === 7 || i === 9, maxRun: 64 })).toEqual([7, 8]);
    expect(pickEdgeRun({ from: 0, startBy: 5, to: 100, needed: () => true, edgeable: (i) => i >= 6, maxRun: 64 })).toBeNull();
    expect(pickEdgeRun({ from: 0, to: 10, needed: () => false, edgeable: () => true, maxRun: 4 })).toBeNull();
  });
});

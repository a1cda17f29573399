import { describe, expect, it } from "vitest";
import { ANY_CHUNK, ChunkWaiters, MAX_WAITS_PER_PEER, unservedOf } from "../../durable/chunk-waiters";

describe("ChunkWaiters", () => {
  it("finds the waiters of exactly the chunks asked, fresh ones only, each once; a want replaces a wait; settle answers it once", () => {
    const w = new ChunkWaiters();
    w.set("a", [3, 9], 100);
    w.set("b", [3], 50);
    w.set("c", [ANY_CHUNK], 100);
    expect(w.waitersOf([3, 9], 0).sort()).toEqual(["a", "b", "c"]);
    expect(w.waitersOf([3], 60).sort()).toEqual(["a", "c"]); // b's wait is older than the window
    expect(w.waitersOf([7], 0)).toEqual(["c"]); // "any chunk" waits for anything
    w.set("a", [4], 200); // its next want: 3 and 9 are served now
    expect(w.waitersOf([9], 0)).toEqual(["c"]);
    w.settle([3]);
    expect(w.waitersOf([3, 9], 0)).toEqual([]);
    expect(w.waitersOf([4], 0)).toEqual(["a"]);
    w.remove("a");
    expect(w.size).toBe(0);
  });

  it("stays bounded: ≤ MAX_WAITS_PER_PEER per member however many chunks a want names, nothing left after leaves", () => {
    const w = new ChunkWaiters();
    const many = Array.from({ length: 4096 }, (_, i) => i);
    for (let p = 0; p < 50; p++) w.set(`p${p}`, many, 1);
    expect(w.waitersOf([MAX_WAITS_PER_PEER - 1], 0)).toHaveLength(50);
    expect(w.waitersOf([MAX_WAITS_PER_PEER], 0)).toEqual([]);
    for (let p = 0; p < 50; p++) w.remove(`p${p}`);
    expect(w.size).toBe(0);
    expect(w.waitersOf(many.slice(0, 300), 0)).toEqual([]);
  });

  it("unservedOf keeps the chunks no member can serve", () => {
    expect(unservedOf([1, 2, 3], { all: (i) => (i === 2 ? 1 : 0) })).toEqual([1, 3]);
  });
});

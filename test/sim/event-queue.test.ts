import { describe, expect, it } from "vitest";
import { EventQueue } from "../../sim/event-queue";
import { Rng } from "../../sim/prng";

const drain = (q: EventQueue) => {
  const out: [number, number][] = [];
  while (q.pop()) out.push([q.now, q.a]);
  return out;
};

describe("EventQueue", () => {
  it("pops events in time order", () => {
    const q = new EventQueue();
    for (const [t, a] of [[5, 1], [1, 2], [3, 3], [2, 4], [4, 5]] as const) q.push(t, 0, a, 0);
    expect(drain(q)).toEqual([[1, 2], [2, 4], [3, 3], [4, 5], [5, 1]]);
  });

  it("breaks ties by insertion order (FIFO)", () => {
    const q = new EventQueue();
    for (let a = 0; a < 50; a++) q.push(a % 2 === 0 ? 7 : 3, 0, a, 0);
    const got = drain(q).map(([, a]) => a);
    expect(got).toEqual([...Array.from({ length: 25 }, (_, i) => 2 * i + 1), ...Array.from({ length: 25 }, (_, i) => 2 * i)]);
  });

  it("cancels pending events, and a stale handle does nothing", () => {
    const q = new EventQueue();
    const h1 = q.push(1, 0, 1, 0);
    const h2 = q.push(2, 0, 2, 0);
    q.push(3, 0, 3, 0);
    expect(q.cancel(h2)).toBe(true);
    expect(q.cancel(h2)).toBe(false);
    expect(q.pop()).toBe(true);
    expect(q.a).toBe(1);
    expect(q.cancel(h1)).toBe(false); // already ran
    // The freed slot is reused by a new event; the old handle must not cancel it.
    const h4 = q.push(4, 0, 4, 0);
    expect(q.cancel(h1)).toBe(false);
    expect(q.cancel(h2)).toBe(false);
    expect(drain(q)).toEqual([[3, 3], [4, 4]]);
    expect(q.cancel(h4)).toBe(false);
  });

  it("rejects events in the past", () => {
    const q = new EventQueue();
    q.push(10, 0, 0, 0);
    q.pop();
    expect(() => q.push(9, 0, 0, 0)).toThrow(RangeError);
  });

  it("matches a sorted reference under random pushes and cancels", () => {
    const rng = new Rng(99);
    const q = new EventQueue();
    const live = new Map<number, { t: number; seq: number; a: number }>();
    let seq = 0;
    for (let i = 0; i < 5000; i++) {
      const t = Math.floor(rng.next() * 100); // many ties
      const h = q.push(t, 0, i, 0);
      live.set(h, { t, seq: seq++, a: i });
      if (rng.next() < 0.3) {
        const keys = [...live.keys()];
        const k = keys[rng.int(keys.length)] as number;
        expect(q.cancel(k)).toBe(true);
        live.delete(k);
      }
    }
    const expected = [...live.values()].sort((x, y) => x.t - y.t || x.seq - y.seq).map((e) => e.a);
    expect(q.length).toBe(expected.length);
    expect(drain(q).map(([, a]) => a)).toEqual(expected);
  });
});

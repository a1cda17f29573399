import { describe, expect, it, vi } from "vitest";
import { Backoff, sleep } from "../../supernode/backoff";

describe("backoff", () => {
  it("doubles from the base up to the cap, with delays in [step/2, step)", () => {
    const lo = new Backoff({ baseMs: 1000, maxMs: 8000, random: () => 0 });
    expect(Array.from({ length: 6 }, () => lo.next())).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    const hi = new Backoff({ baseMs: 1000, maxMs: 8000, random: () => 0.9999999 });
    const his = Array.from({ length: 6 }, () => hi.next());
    expect(his.every((d, i) => d < [1000, 2000, 4000, 8000, 8000, 8000][i]!)).toBe(true);
    expect(his[5]).toBeGreaterThanOrEqual(7999);
  });

  it("starts over after reset and counts attempts", () => {
    const b = new Backoff({ baseMs: 100, maxMs: 10_000, random: () => 0 });
    b.next();
    b.next();
    expect(b.attempt).toBe(2);
    expect(b.ceiling()).toBe(400);
    b.reset();
    expect(b.attempt).toBe(0);
    expect(b.next()).toBe(50);
  });

  it("stays finite after very many failures", () => {
    const b = new Backoff({ baseMs: 1000, maxMs: 60_000, random: () => 0.5 });
    for (let i = 0; i < 10_000; i++) b.next();
    expect(b.next()).toBe(45_000);
  });

  it("sleep ends early when its signal aborts, and clears its timer", async () => {
    // Fake timers never fire by themselves: only the abort can settle these promises.
    vi.useFakeTimers();
    try {
      const ctrl = new AbortController();
      const p = sleep(60_000, ctrl.signal);
      expect(vi.getTimerCount()).toBe(1);
      ctrl.abort();
      await p;
      expect(vi.getTimerCount()).toBe(0);
      await sleep(1_000_000, ctrl.signal); // already aborted: returns at once
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

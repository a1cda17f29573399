import { describe, expect, it } from "vitest";
import { hashUnit, Rng } from "../../sim/prng";
import { ZipfSampler } from "../../sim/zipf";

describe("Rng", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xa = Array.from({ length: 20 }, () => a.nextU32());
    const xb = Array.from({ length: 20 }, () => b.nextU32());
    const xc = Array.from({ length: 20 }, () => c.nextU32());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });

  it("draws uniforms in [0, 1) with the right mean, and exponentials with the right mean", () => {
    const r = new Rng(7);
    let s = 0, e = 0, min = 1, max = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) { const u = r.next(); s += u; min = Math.min(min, u); max = Math.max(max, u); e += r.exp(227); }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(s / n).toBeCloseTo(0.5, 2);
    expect(Math.abs(e / n - 227)).toBeLessThan(3);
  });

  it("forks independent, reproducible streams", () => {
    const f1 = new Rng(5).fork(1).next(), f1b = new Rng(5).fork(1).next(), f2 = new Rng(5).fork(2).next();
    expect(f1).toBe(f1b);
    expect(f1).not.toBe(f2);
  });

  it("hashUnit gives random access to a stream", () => {
    expect(hashUnit(1, 2, 3)).toBe(hashUnit(1, 2, 3));
    expect(hashUnit(1, 2, 3)).not.toBe(hashUnit(1, 2, 4));
    let s = 0;
    for (let j = 0; j < 50_000; j++) s += hashUnit(9, j, 0);
    expect(s / 50_000).toBeCloseTo(0.5, 2);
  });
});

describe("ZipfSampler", () => {
  it("stays in range and matches the exact probabilities on a small catalogue", () => {
    const z = new ZipfSampler(10, 0.8);
    const r = new Rng(1);
    const counts = new Array(10).fill(0);
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      counts[z.sample(r.random)]++;
    }
    expect(counts.length).toBe(10); // an out-of-range rank would have added a key
    expect(counts.reduce((a: number, b: number) => a + b, 0)).toBe(n);
    for (let k = 0; k < 10; k++) expect(Math.abs(counts[k] / n - z.probability(k))).toBeLessThan(0.005);
  });

  it("follows the rank law on a large catalogue (rank 1 vs rank 10 ≈ 10^s)", () => {
    const z = new ZipfSampler(16_000_000, 1.0);
    const r = new Rng(2);
    let c0 = 0, c9 = 0;
    for (let i = 0; i < 400_000; i++) { const k = z.sample(r.random); if (k === 0) c0++; else if (k === 9) c9++; }
    expect(c0 / c9).toBeGreaterThan(8.5);
    expect(c0 / c9).toBeLessThan(11.5);
  });

  it("rejects bad parameters", () => {
    expect(() => new ZipfSampler(0, 1)).toThrow(RangeError);
    expect(() => new ZipfSampler(10, 0)).toThrow(RangeError);
  });
});

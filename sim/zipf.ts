/**
 * Zipf popularity: rank k ∈ [0, n) is drawn with probability ∝ 1 / (k + 1)^s.
 *
 * Rejection-inversion (W. Hörmann, G. Derflinger, "Rejection-inversion to generate variates from
 * monotone discrete distributions", ACM TOMACS 6(3), 1996) — O(1) memory and expected O(1) time
 * for any n, so a 16-million-item catalogue needs no table. Same construction as Apache Commons
 * RNG's RejectionInversionZipfSampler.
 */
export class ZipfSampler {
  private readonly hX1: number;
  private readonly hN: number;
  private readonly sGuard: number;

  /**
   * @param n number of items (≥ 1)
   * @param s exponent (> 0; web objects are typically 0.6–1.0)
   * @example
   * const z = new ZipfSampler(16_000_000, 0.8);
   * const item = z.sample(rng.random); // 0 is the most popular
   */
  constructor(readonly n: number, readonly s: number) {
    if (!(n >= 1) || !(s > 0)) throw new RangeError("ZipfSampler: need n ≥ 1 and s > 0");
    this.hX1 = this.hIntegral(1.5) - 1;
    this.hN = this.hIntegral(n + 0.5);
    this.sGuard = 2 - this.hIntegralInverse(this.hIntegral(2.5) - this.h(2));
  }

  /** One rank in [0, n), using uniforms from `random`. */
  sample(random: () => number): number {
    for (;;) {
      const u = this.hN + random() * (this.hX1 - this.hN);
      const x = this.hIntegralInverse(u);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > this.n) k = this.n;
      if (k - x <= this.sGuard || u >= this.hIntegral(k + 0.5) - this.h(k)) return k - 1;
    }
  }

  /** Probability of rank `k` (0-based); O(n) normaliser computed once on first call. */
  probability(k: number): number {
    if (this.norm === 0) {
      let z = 0;
      for (let i = this.n; i >= 1; i--) z += Math.pow(i, -this.s);
      this.norm = z;
    }
    return Math.pow(k + 1, -this.s) / this.norm;
  }
  private norm = 0;

  private h(x: number): number {
    return Math.exp(-this.s * Math.log(x));
  }
  private hIntegral(x: number): number {
    const logX = Math.log(x);
    return helper2((1 - this.s) * logX) * logX;
  }
  private hIntegralInverse(x: number): number {
    let t = x * (1 - this.s);
    if (t < -1) t = -1; // numerical guard, as in the reference implementation
    return Math.exp(helper1(t) * x);
  }
}

/** log1p(x) / x, stable near 0. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}
/** expm1(x) / x, stable near 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + (x / 3) * (1 + 0.25 * x));
}

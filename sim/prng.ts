/**
 * Seeded pseudo-random numbers for the simulator. Nothing in `sim/` may call `Math.random` or read
 * the clock: every draw comes from a {@link Rng} derived from the run's seed, so a seed fixes every
 * number a run prints.
 *
 * Generator: xoshiro128** 1.0 (Blackman & Vigna, https://prng.di.unimi.it/), 128-bit state, seeded
 * through splitmix32 so that nearby seeds give unrelated streams.
 */

/** splitmix32 step: a well-mixed 32-bit hash of `x` (also used to seed xoshiro). */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Hashes three integers to a uniform float in [0, 1): random access into a stream without state. */
export function hashUnit(a: number, b: number, c: number): number {
  return mix32(mix32(mix32(a) ^ b) ^ c) / 4294967296;
}

/**
 * A seeded generator with the draws the model needs.
 * @example
 * const rng = new Rng(42);
 * rng.next();          // uniform [0, 1)
 * rng.exp(227);        // exponential, mean 227
 * rng.fork(7).next();  // an independent stream, e.g. one per preset point
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** `next` bound to this generator, for APIs that take a `() => number`. */
  readonly random: () => number;

  constructor(seed: number) {
    let s = seed >>> 0;
    this.a = s = mix32(s);
    this.b = s = mix32(s);
    this.c = s = mix32(s);
    this.d = mix32(s);
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1; // all-zero state is a fixed point
    this.random = () => this.next();
  }

  /** Next raw 32-bit output (xoshiro128**). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Exponential with the given mean (inverse CDF; 1 - u keeps log away from 0). */
  exp(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Log-normal with the given median and sigma (of the underlying normal). */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Standard normal (Box–Muller; one of the pair is discarded to keep the stream simple). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Index drawn with probability proportional to `weights[i]`. */
  pick(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i] ?? 0;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** An independent generator for sub-stream `k` (deterministic in this generator's seed and k). */
  fork(k: number): Rng {
    return new Rng(mix32(this.nextU32() ^ mix32(k)));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

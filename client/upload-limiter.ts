/**
 * Upload limits of a seeder: a token bucket for the byte rate and a counter of upload slots
 * (concurrent chunk uploads). Time is injected so tests drive it with a fake clock.
 */

/** Time as the limiter needs it. */
export interface LimiterClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/** The real clock (`performance.now()` where present, `setTimeout`). */
export const systemClock: LimiterClock = {
  now: () => (globalThis.performance ? performance.now() : Date.now()),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface UploadLimiterOptions {
  /** Bytes per second; `Infinity` or ≤ 0 = unlimited. */
  bytesPerSec: number;
  /** Bucket size in bytes (the largest burst); default one second of rate, at least 64 KiB. */
  burst?: number;
  /** Concurrent uploads allowed; 0 disables uploading. */
  slots: number;
  clock?: LimiterClock;
}

/**
 * Token bucket plus slot counter.
 *
 * `take(n)` lets the bucket go into debt and then sleeps until the debt is repaid: a 16 KiB frame
 * never waits for a bucket larger than its burst to fill, concurrent uploaders queue behind each
 * other's debt, and the long-run rate is exactly `bytesPerSec`.
 *
 * @example
 * const limiter = new UploadLimiter({ bytesPerSec: 1 << 20, slots: 4 });
 * const release = limiter.acquireSlot();
 * if (release) { await limiter.take(16384); channel.send(frame); release(); }
 */
export class UploadLimiter {
  readonly slots: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly clock: LimiterClock;
  private tokens: number;
  private last: number;
  private used = 0;

  constructor(opts: UploadLimiterOptions) {
    this.rate = opts.bytesPerSec > 0 ? opts.bytesPerSec : Infinity;
    this.burst = opts.burst ?? Math.max(64 * 1024, Number.isFinite(this.rate) ? this.rate : 0);
    this.slots = Math.max(0, Math.floor(opts.slots));
    this.clock = opts.clock ?? systemClock;
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  /** Slots in use now. */
  get inUse(): number {
    return this.used;
  }

  /** Slots free now. */
  get free(): number {
    return this.slots - this.used;
  }

  /** Takes a slot: returns its (idempotent) release function, or `null` when all are in use. */
  acquireSlot(): (() => void) | null {
    if (this.used >= this.slots) return null;
    this.used++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.used--;
      }
    };
  }

  /** Milliseconds to wait after taking `n` bytes now (0 = go ahead); takes them either way. */
  reserve(n: number): number {
    if (!Number.isFinite(this.rate)) return 0;
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate;
  }

  /** Waits `ms` milliseconds on the limiter's clock (after {@link reserve} asked for it). */
  delay(ms: number): Promise<void> {
    return this.clock.sleep(ms);
  }

  /** Takes `n` bytes from the bucket, waiting as long as the rate requires. */
  async take(n: number): Promise<void> {
    const wait = this.reserve(n);
    if (wait > 0) await this.clock.sleep(wait);
  }
}

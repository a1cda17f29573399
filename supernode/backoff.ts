/**
 * Exponential backoff with jitter for the supernode's retries (pinning while the edge is down,
 * re-checking pins). "Equal jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * half the delay is fixed, half random, so many supernodes restarted together do not retry in
 * lockstep, yet none retries sooner than half its step.
 */

/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** First delay, ms (default 1000). */
  baseMs?: number;
  /** Largest delay, ms (default 60000). */
  maxMs?: number;
  /** Growth per failure (default 2). */
  factor?: number;
  /** Random source in [0, 1) (default Math.random). */
  random?: () => number;
}

/**
 * Delay sequence: `next()` after each failure, `reset()` after a success.
 *
 * @example
 * const b = new Backoff({ baseMs: 1000, maxMs: 60_000 });
 * for (;;) { try { await pin(); b.reset(); break; } catch { await sleep(b.next()); } }
 */
export class Backoff {
  /** Failures since the last reset. */
  attempt = 0;
  private readonly base: number;
  private readonly max: number;
  private readonly factor: number;
  private readonly random: () => number;

  constructor(o: BackoffOptions = {}) {
    this.base = Math.max(1, o.baseMs ?? 1000);
    this.max = Math.max(this.base, o.maxMs ?? 60_000);
    this.factor = Math.max(1, o.factor ?? 2);
    this.random = o.random ?? Math.random;
  }

  /** The step before jitter for the current attempt: base × factor^attempt, capped. */
  ceiling(): number {
    return Math.min(this.max, this.base * this.factor ** Math.min(this.attempt, 64));
  }

  /** The next delay, ms, in [ceiling/2, ceiling); counts one more failure. */
  next(): number {
    const c = this.ceiling();
    this.attempt++;
    return Math.floor(c / 2 + (c / 2) * Math.min(0.999999, Math.max(0, this.random())));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (the caller checks `signal.aborted`).
 *
 * @example
 * await sleep(b.next(), stop.signal);
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

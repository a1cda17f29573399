/**
 * Token buckets by key (peer id), in instance memory, with a bound on how many keys are kept: the
 * per-peer-id connect limit and the per-target signal budget. Memory only on purpose — both limit
 * bursts over seconds, and an object under such a burst is awake (events keep it from hibernating);
 * a fresh instance hands an abuser one more burst at most. Oldest keys are dropped past the bound
 * (a dropped key starts full again: the bound trades a little precision for bounded memory).
 */
import { type BucketLimits, type BucketState, fullBucket, takeToken } from "./token-bucket";

/**
 * @example
 * const connects = new KeyedBuckets(() => ({ perSecond: 0.2, burst: 10 }), 10_000);
 * if (!connects.take(peerId, now)) return tooMany();
 */
export class KeyedBuckets {
  readonly #buckets = new Map<string, BucketState>();

  constructor(readonly limits: () => BucketLimits, readonly maxKeys: number) {}

  /** Takes `cost` tokens from `key`'s bucket; false (nothing taken) when it has fewer. */
  take(key: string, now: number, cost = 1): boolean {
    const limits = this.limits();
    const cur = this.#buckets.get(key) ?? fullBucket(limits, now);
    const r = takeToken(cur, limits, now, cost);
    // Re-insert: Map order is insertion order, so the first key is the least recently used.
    this.#buckets.delete(key);
    this.#buckets.set(key, r.state);
    if (this.#buckets.size > this.maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
    return r.ok;
  }

  /** Forgets `key` (its member left). */
  delete(key: string): void {
    this.#buckets.delete(key);
  }

  get size(): number {
    return this.#buckets.size;
  }
}

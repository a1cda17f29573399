/**
 * Token-bucket rate limiting over a plain, serialisable state, so the bucket of each WebSocket lives
 * in its attachment and survives hibernation (a bucket in instance memory would reset whenever the
 * object is evicted, handing a flooder a fresh burst). Pure; time is passed in.
 */

/** Bucket state: tokens left and when they were last refilled (ms). */
export interface BucketState {
  tokens: number;
  at: number;
}

/** Refill rate and capacity. */
export interface BucketLimits {
  perSecond: number;
  burst: number;
}

/** A full bucket at time `now`. */
export function fullBucket(limits: BucketLimits, now: number): BucketState {
  return { tokens: limits.burst, at: now };
}

/**
 * Tries to take `cost` tokens (one by default: a frame; more for frames whose work grows with their size). Returns the new state and whether the frame may pass.
 * @example
 * let b = fullBucket({ perSecond: 50, burst: 100 }, now);
 * const r = takeToken(b, { perSecond: 50, burst: 100 }, now); // { ok: true, state: {tokens: 99, at: now} }
 */
export function takeToken(state: BucketState, limits: BucketLimits, now: number, cost = 1): { ok: boolean; state: BucketState } {
  // A clock that goes backwards (or a corrupt state) must not mint tokens: clamp elapsed at 0.
  const elapsed = Math.max(0, now - state.at) / 1000;
  const tokens = Math.min(limits.burst, (Number.isFinite(state.tokens) ? state.tokens : 0) + elapsed * limits.perSecond);
  if (tokens < cost) return { ok: false, state: { tokens, at: now } };
  return { ok: true, state: { tokens: tokens - cost, at: now } };
}

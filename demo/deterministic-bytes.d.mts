/** Types of demo/deterministic-bytes.mjs, for TypeScript callers (the Worker suite's stub origin). */

/** Deterministic bytes from `seed` (xorshift32); call the fill repeatedly to continue the sequence. */
export function prng(seed: number): (out: Uint8Array) => void;

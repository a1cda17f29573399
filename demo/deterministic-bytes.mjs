/**
 * Deterministic bytes: the demo origin's generated assets and the Worker suite's stub origin both
 * serve them, so a test recomputes the expected bytes (and their SHA-256) from a seed alone. Pure
 * JavaScript with no Node imports: it runs in Node and in the workerd test isolate alike.
 */

/**
 * xorshift32 (Marsaglia 2003, shifts 13/17/5) from `seed`, written as little-endian 32-bit words.
 * Call the returned fill repeatedly with buffers whose lengths are multiples of 4 to continue the
 * same sequence; a buffer's trailing 1–3 bytes are `index & 0xff` and do not advance it.
 * @example
 * const fill = prng(3); const b = new Uint8Array(1024); fill(b);
 */
export function prng(seed) {
  let x = seed >>> 0 || 0x9e3779b9; // xorshift's state must not be 0
  return (out) => {
    const words = new Uint32Array(out.buffer, out.byteOffset, out.byteLength >>> 2);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      words[i] = x;
    }
    for (let i = words.length * 4; i < out.byteLength; i++) out[i] = i & 0xff;
  };
}

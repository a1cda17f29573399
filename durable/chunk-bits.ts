/**
 * A growable chunk bitfield over bytes, in the wire layout of {@link Bitfield} (bit `i` is the
 * MSB-first bit `i & 7` of byte `i >> 3`, as BitTorrent BEP 3). The coordinator stores these bytes
 * in SQLite per peer and hands them to the ranking as a {@link ChunkSet}. Pure, no platform imports.
 */
import { bitfieldToBytes, bytesToBitfield, type Bitfield } from "../protocol/chunk-bitfield";
import { MAX_CHUNKS } from "../protocol/manifest";
import type { ChunkSet } from "./peer-ranking";

/** Highest chunk count the coordinator tracks: the manifest's. */
export const MAX_TRACKED_CHUNKS = MAX_CHUNKS;

/**
 * Held chunks of one peer.
 * @example
 * const bits = ChunkBits.fromBase64("wA=="); // chunks 0 and 1
 * bits.add(9); bits.has(9); // true
 */
export class ChunkBits implements ChunkSet {
  #bytes: Uint8Array;
  #size: number;

  constructor(bytes: Uint8Array = new Uint8Array(0)) {
    this.#bytes = bytes.length > MAX_TRACKED_CHUNKS / 8 ? bytes.slice(0, MAX_TRACKED_CHUNKS / 8) : bytes;
    let n = 0;
    for (const b of this.#bytes) n += popcount(b);
    this.#size = n;
  }

  /**
   * Parses a wire bitfield, keeping only chunks below `limit` (the item's chunk count, from the join
   * token): a peer cannot claim chunks the item does not have, so its set costs what the item is, not
   * 65,536. Invalid base64 yields an empty set (the validator already checked the alphabet).
   */
  static fromBase64(bits: Bitfield, limit = MAX_TRACKED_CHUNKS): ChunkBits {
    const cap = Math.max(0, Math.min(limit, MAX_TRACKED_CHUNKS));
    const bytes = bitfieldToBytes(bits);
    const n = Math.min(bytes.length, Math.ceil(cap / 8));
    const out = bytes.length === n ? bytes : bytes.slice(0, n);
    // Bits of the last byte at or past the cap are padding (BEP 3): cleared, never claimed.
    if (n > 0 && n * 8 > cap) out[n - 1]! &= (0xff00 >> (cap - (n - 1) * 8)) & 0xff;
    return new ChunkBits(out);
  }

  get size(): number {
    return this.#size;
  }

  /** The raw bytes (shared, do not mutate). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  has(chunk: number): boolean {
    const byte = chunk >> 3;
    return chunk >= 0 && byte < this.#bytes.length && (this.#bytes[byte]! & (0x80 >> (chunk & 7))) !== 0;
  }

  /** Marks `chunk` held; returns true when it was new. Indices ≥ {@link MAX_TRACKED_CHUNKS} are refused. */
  add(chunk: number): boolean {
    if (!Number.isInteger(chunk) || chunk < 0 || chunk >= MAX_TRACKED_CHUNKS) return false;
    if (this.has(chunk)) return false;
    const byte = chunk >> 3;
    if (byte >= this.#bytes.length) {
      const grown = new Uint8Array(byte + 1);
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    this.#bytes[byte]! |= 0x80 >> (chunk & 7);
    this.#size++;
    return true;
  }

  *[Symbol.iterator](): Iterator<number> {
    const b = this.#bytes;
    for (let i = 0; i < b.length; i++) {
      const v = b[i]!;
      if (v === 0) continue;
      for (let j = 0; j < 8; j++) if (v & (0x80 >> j)) yield i * 8 + j;
    }
  }

  /** The wire form. */
  toBase64(): Bitfield {
    return bytesToBitfield(this.#bytes);
  }
}

function popcount(b: number): number {
  let n = 0;
  for (let v = b; v; v &= v - 1) n++;
  return n;
}

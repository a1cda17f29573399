/**
 * HTTP byte ranges (RFC 9110 §14): parse a request's `Range` against a known size, and map a byte
 * range onto chunks. Only single ranges are served; a multi-range request is answered with the
 * whole representation, which §14.2 allows ("a server MAY ignore the Range header field").
 */
import { parseByteRange } from "../protocol/byte-range";

/**
 * A byte span `[start, end)`: end-exclusive, unlike the header's inclusive last-pos and the edge's
 * inclusive `ByteRange` (functions/byte-range.ts) — hence its own name.
 */
export interface ByteSpan {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header for a representation of `size` bytes.
 * Returns the range, `null` to serve the whole thing (no header, unknown unit, multiple ranges,
 * malformed or reversed — §14.2 says to ignore an invalid Range), or `"unsatisfiable"` for a 416.
 * Thin adapter over the shared parser in `protocol/byte-range.ts` (inclusive → end-exclusive).
 *
 * @example
 * parseByteSpan("bytes=0-99", 1000);   // { start: 0, end: 100 }
 * parseByteSpan("bytes=-100", 1000);   // { start: 900, end: 1000 }
 * parseByteSpan("bytes=2000-", 1000);  // "unsatisfiable"
 * parseByteSpan("bytes=2000-1000", 1000); // null (reversed: invalid, so ignored)
 */
export function parseByteSpan(header: string | null | undefined, size: number): ByteSpan | null | "unsatisfiable" {
  const r = parseByteRange(header, size);
  if (r === null) return null;
  if (r === "unsatisfiable") return r;
  return { start: r.first, end: r.last + 1 };
}

/** `Content-Range` value of a 206 (`bytes 0-99/1000`) or, with no range, of a 416 (`bytes *\/1000`). */
export function contentRange(range: ByteSpan | null, size: number): string {
  return range ? `bytes ${range.start}-${range.end - 1}/${size}` : `bytes */${size}`;
}

/** Chunks covering a byte range: `[first, end)` chunk indices. */
export function chunkSpan(range: ByteSpan, chunkSize: number): [number, number] {
  if (range.end <= range.start) return [0, 0];
  return [Math.floor(range.start / chunkSize), Math.ceil(range.end / chunkSize)];
}

/** The part of chunk `index` (whose bytes are `chunk`) that lies inside `range`. */
export function sliceChunk(chunk: Uint8Array, index: number, chunkSize: number, range: ByteSpan): Uint8Array {
  const base = index * chunkSize;
  const from = Math.max(0, range.start - base);
  const to = Math.min(chunk.length, range.end - base);
  return from === 0 && to === chunk.length ? chunk : chunk.subarray(from, Math.max(from, to));
}

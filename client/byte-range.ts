/**
 * HTTP byte ranges (RFC 9110 §14): parse a request's `Range` against a known size, and map a byte
 * range onto chunks. Only single ranges are served; a multi-range request is answered with the
 * whole representation, which §14.2 allows ("a server MAY ignore the Range header field").
 */

/** A byte range `[start, end)` (end exclusive, unlike the header's inclusive last-pos). */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header for a representation of `size` bytes.
 * Returns the range, `null` to serve the whole thing (no header, unknown unit, multiple ranges,
 * malformed — §14.2 says to ignore an invalid Range), or `"unsatisfiable"` for a 416.
 *
 * @example
 * parseRange("bytes=0-99", 1000);   // { start: 0, end: 100 }
 * parseRange("bytes=-100", 1000);   // { start: 900, end: 1000 }
 * parseRange("bytes=2000-", 1000);  // "unsatisfiable"
 */
export function parseRange(header: string | null | undefined, size: number): ByteRange | null | "unsatisfiable" {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") return null;
  if (a === "") {
    // suffix-byte-range-spec: the last N bytes (§14.1.1); N = 0 is unsatisfiable.
    const n = Number(b);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size };
  }
  const start = Number(a);
  if (start >= size) return "unsatisfiable";
  const last = b === "" ? size - 1 : Number(b);
  if (last < start) return null;
  return { start, end: Math.min(size, last + 1) };
}

/** `Content-Range` value of a 206 (`bytes 0-99/1000`) or, with no range, of a 416 (`bytes *\/1000`). */
export function contentRange(range: ByteRange | null, size: number): string {
  return range ? `bytes ${range.start}-${range.end - 1}/${size}` : `bytes */${size}`;
}

/** Chunks covering a byte range: `[first, end)` chunk indices. */
export function chunkSpan(range: ByteRange, chunkSize: number): [number, number] {
  if (range.end <= range.start) return [0, 0];
  return [Math.floor(range.start / chunkSize), Math.ceil(range.end / chunkSize)];
}

/** The part of chunk `index` (whose bytes are `chunk`) that lies inside `range`. */
export function sliceChunk(chunk: Uint8Array, index: number, chunkSize: number, range: ByteRange): Uint8Array {
  const base = index * chunkSize;
  const from = Math.max(0, range.start - base);
  const to = Math.min(chunk.length, range.end - base);
  return from === 0 && to === chunk.length ? chunk : chunk.subarray(from, Math.max(from, to));
}

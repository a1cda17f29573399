/**
 * Single byte ranges (RFC 9110 §14): parsing a `Range` header against a known size, and slicing a
 * stream to a range without buffering it.
 */
import { parseByteRange } from "../protocol/byte-range";

/** An inclusive byte range within an object of `size` bytes. */
export interface ByteRange {
  start: number;
  end: number;
  size: number;
}

/**
 * Parses `Range` for an object of `size` bytes: a {@link ByteRange}, `"unsatisfiable"` (→ 416), or
 * `null` when the header must be ignored (absent, malformed, non-bytes unit, several ranges, or an
 * invalid reversed range — RFC 9110 §14.2 lets a server ignore Range and send 200, which beats
 * multipart for a CDN). Thin adapter over the shared parser in `protocol/byte-range.ts`.
 * @example
 * parseRange("bytes=0-99", 1000);  // { start: 0, end: 99, size: 1000 }
 * parseRange("bytes=-10", 1000);   // { start: 990, end: 999, size: 1000 }
 * parseRange("bytes=5000-", 1000); // "unsatisfiable"
 */
export function parseRange(header: string | null, size: number): ByteRange | "unsatisfiable" | null {
  const r = parseByteRange(header, size);
  if (r === null) return null;
  if (r === "unsatisfiable") return r;
  return { start: r.first, end: r.last, size };
}

/** `Content-Range` value of a range, or of an unsatisfiable request (`bytes *\/size`). */
export function contentRange(r: ByteRange | { size: number }): string {
  return "start" in r ? `bytes ${r.start}-${r.end}/${r.size}` : `bytes */${r.size}`;
}

/**
 * Slices bytes `[start, end]` out of a stream, reading only up to `end` and then cancelling the
 * source (a cancelled fanout branch lets the cache branch finish alone).
 */
export function sliceStream(source: ReadableStream<Uint8Array>, start: number, end: number): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let pos = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        const from = pos;
        pos += value.byteLength;
        if (pos <= start) continue;
        const lo = Math.max(0, start - from);
        const hi = Math.min(value.byteLength, end + 1 - from);
        controller.enqueue(value.subarray(lo, hi));
        if (pos > end) {
          controller.close();
          reader.cancel("range complete").catch(() => {});
        }
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

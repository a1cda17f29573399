/**
 * The one parser of HTTP `Range: bytes=…` headers (RFC 9110 §14.1), shared by the edge
 * (`functions/byte-range.ts`, inclusive ranges with the size) and the SDK (`client/byte-span.ts`,
 * end-exclusive ranges). Each side adapts the result to its own convention; the grammar, the suffix
 * rule and the satisfiability rule live only here.
 *
 * Only a single `int-range` or `suffix-range` is understood. Anything else — no header, another
 * unit, several ranges, `other-range`, bad syntax — is reported as "ignore": RFC 9110 §14.2 lets a
 * server ignore `Range` and send the whole representation (200), which beats multipart for a CDN.
 */

/**
 * A satisfiable range in the RFC's own terms: `first-pos` and `last-pos`, both inclusive
 * (§14.1.1), with `last` already clamped to `size - 1`.
 */
export interface InclusiveRange {
  first: number;
  last: number;
}

/**
 * What a `Range` header asks of a representation of known size:
 * - {@link InclusiveRange}: serve these bytes (206);
 * - `"unsatisfiable"`: 416 — `first-pos` ≥ size, a zero-length suffix, or any range of an empty
 *   representation (§14.1.1: "satisfiable" needs first-pos < length, or a non-zero suffix-length);
 * - `null`: ignore the header (absent, other unit, several ranges, malformed, or reversed — a
 *   reversed range is invalid before it is unsatisfiable, so `bytes=2000-1000` of 1000 bytes is
 *   ignored too, §14.1.1).
 */
export type ParsedByteRange = InclusiveRange | "unsatisfiable" | null;

/**
 * `bytes=<first>-[<last>]` or `bytes=-<suffix>`, whitespace-tolerant and case-insensitive (the range
 * unit is case-insensitive, §14.1). One spec only: a comma (several ranges) fails to match.
 */
const SINGLE_BYTE_RANGE = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/**
 * Parses a `Range` header against a representation of `size` bytes (RFC 9110 §14.1.1 / §14.2).
 *
 * @example
 * parseByteRange("bytes=0-99", 1000);   // { first: 0, last: 99 }
 * parseByteRange("bytes=990-", 1000);   // { first: 990, last: 999 }
 * parseByteRange("bytes=-10", 1000);    // { first: 990, last: 999 } (suffix: the last 10 bytes)
 * parseByteRange("bytes=5000-", 1000);  // "unsatisfiable"
 * parseByteRange("bytes=5-1", 1000);    // null (invalid: ignored)
 * parseByteRange("bytes=0-1,5-6", 1000); // null (several ranges: ignored)
 */
export function parseByteRange(header: string | null | undefined, size: number): ParsedByteRange {
  if (!header) return null;
  const m = SINGLE_BYTE_RANGE.exec(header);
  if (!m) return null;
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") return null; // "bytes=-": neither int-range nor suffix-range
  if (a === "") {
    // suffix-range (§14.1.1): the last N bytes, all of them when N ≥ size; N = 0 is unsatisfiable.
    const n = Number(b);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { first: Math.max(0, size - n), last: size - 1 };
  }
  const first = Number(a);
  // §14.1.1: "invalid if the last-pos value is present and less than the first-pos".
  if (b !== "" && Number(b) < first) return null;
  if (first >= size) return "unsatisfiable";
  // An absent last-pos, or one past the end, means "to the end" (§14.1.1).
  return { first, last: b === "" ? size - 1 : Math.min(Number(b), size - 1) };
}

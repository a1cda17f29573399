/**
 * The edge's Range adapter over the shared parser (`protocol/byte-range.ts`), run in workerd: same
 * answers as before the parser moved, including where the edge and the SDK differ on purpose.
 */
import { describe, expect, it } from "vitest";
import { contentRange, parseRange } from "../../functions/byte-range";
import { parseByteRange } from "../../protocol/byte-range";

describe("edge Range adapter", () => {
  it.each([
    [" BYTES = 1 - 2 ", 100, { start: 1, end: 2, size: 100 }],
    ["bytes=99-99", 100, { start: 99, end: 99, size: 100 }],
    ["bytes=0-", 1, { start: 0, end: 0, size: 1 }],
    ["bytes=-1", 1, { start: 0, end: 0, size: 1 }],
    ["bytes=-100", 100, { start: 0, end: 99, size: 100 }],
    ["bytes=0-99999999999999999999", 100, { start: 0, end: 99, size: 100 }],
    ["bytes=-5", 0, "unsatisfiable"],
    ["bytes=100-200", 100, "unsatisfiable"],
    // Reversed (invalid, §14.1.1) *and* past the end: the edge ignores it (200), the SDK says 416.
    ["bytes=200-100", 100, null],
    ["bytes=5-4", 100, null],
    ["bytes=-", 100, null],
    ["bytes=", 100, null],
    ["", 100, null],
    ["bytes=1-2x", 100, null],
  ] as const)("%j of %d", (h, size, want) => expect(parseRange(h, size)).toEqual(want));

  it("is the shared parser's inclusive range with the size attached", () => {
    for (const h of ["bytes=0-9", "bytes=90-", "bytes=-7", "bytes=3-3000"]) {
      const shared = parseByteRange(h, 100);
      if (shared === null || typeof shared === "string") throw new Error(`${h}: ${String(shared)}`);
      expect(parseRange(h, 100)).toEqual({ start: shared.first, end: shared.last, size: 100 });
    }
  });

  it("formats the 206 Content-Range of a parsed range", () => {
    const r = parseRange("bytes=-10", 1000);
    expect(r).not.toBeNull();
    expect(contentRange(r as Exclude<typeof r, null | "unsatisfiable">)).toBe("bytes 990-999/1000");
  });
});

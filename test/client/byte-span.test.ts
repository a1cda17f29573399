import { describe, expect, it } from "vitest";
import { chunkSpan, contentRange, parseByteSpan, sliceChunk } from "../../client/byte-span";
import { parseByteRange } from "../../protocol/byte-range";

describe("shared Range parser (protocol/byte-range.ts, RFC 9110 §14.1)", () => {
  it.each([
    ["bytes=0-99", 1000, { first: 0, last: 99 }],
    ["bytes=990-", 1000, { first: 990, last: 999 }],
    ["bytes=-10", 1000, { first: 990, last: 999 }],
    ["bytes=-5000", 1000, { first: 0, last: 999 }],
    ["bytes=990-5000", 1000, { first: 990, last: 999 }],
    ["bytes=7-7", 1000, { first: 7, last: 7 }],
    [" Bytes = 1 - 2 ", 1000, { first: 1, last: 2 }],
    ["bytes=1000-", 1000, "unsatisfiable"],
    ["bytes=1000-1000", 1000, "unsatisfiable"],
    ["bytes=-0", 1000, "unsatisfiable"],
    ["bytes=-1", 0, "unsatisfiable"],
    ["bytes=0-", 0, "unsatisfiable"],
    ["bytes=2000-1000", 1000, null], // reversed: invalid before unsatisfiable (§14.1.1)
    ["bytes=5-1", 1000, null],
    ["bytes=-", 1000, null],
    ["bytes=0-1,5-6", 1000, null],
    ["items=0-1", 1000, null],
    ["bytes=a-b", 1000, null],
    ["", 1000, null],
    [null, 1000, null],
    [undefined, 1000, null],
  ] as const)("%j of %d", (h, size, want) => expect(parseByteRange(h, size)).toEqual(want));
});

describe("byte ranges", () => {
  it("parses single ranges per RFC 9110 §14", () => {
    expect(parseByteSpan("bytes=0-99", 1000)).toEqual({ start: 0, end: 100 });
    expect(parseByteSpan("bytes=500-", 1000)).toEqual({ start: 500, end: 1000 });
    expect(parseByteSpan("bytes=-100", 1000)).toEqual({ start: 900, end: 1000 });
    expect(parseByteSpan("bytes=-5000", 1000)).toEqual({ start: 0, end: 1000 });
    expect(parseByteSpan("bytes=990-2000", 1000)).toEqual({ start: 990, end: 1000 });
    expect(parseByteSpan("BYTES = 1 - 2", 1000)).toEqual({ start: 1, end: 3 });
  });

  it("ignores what it does not serve, and flags unsatisfiable ranges", () => {
    expect(parseByteSpan(null, 1000)).toBeNull();
    expect(parseByteSpan("items=0-1", 1000)).toBeNull();
    expect(parseByteSpan("bytes=0-1,5-6", 1000)).toBeNull();
    expect(parseByteSpan("bytes=5-1", 1000)).toBeNull();
    expect(parseByteSpan("bytes=-", 1000)).toBeNull();
    expect(parseByteSpan("bytes=1000-", 1000)).toBe("unsatisfiable");
    expect(parseByteSpan("bytes=-0", 1000)).toBe("unsatisfiable");
    expect(parseByteSpan("bytes=0-", 0)).toBe("unsatisfiable");
    // Reversed and past the end: invalid (RFC 9110 §14.1.1), so ignored → 200, as the edge answers.
    expect(parseByteSpan("bytes=2000-1000", 1000)).toBeNull();
    expect(parseByteSpan(undefined, 1000)).toBeNull();
    expect(parseByteSpan("", 1000)).toBeNull();
  });

  it("formats Content-Range for 206 and 416", () => {
    expect(contentRange({ start: 0, end: 100 }, 1000)).toBe("bytes 0-99/1000");
    expect(contentRange(null, 1000)).toBe("bytes */1000");
  });

  it("maps ranges onto chunks and slices chunk edges exactly", () => {
    expect(chunkSpan({ start: 0, end: 10 }, 10)).toEqual([0, 1]);
    expect(chunkSpan({ start: 9, end: 11 }, 10)).toEqual([0, 2]);
    expect(chunkSpan({ start: 10, end: 30 }, 10)).toEqual([1, 3]);
    const chunk = Uint8Array.from({ length: 10 }, (_, i) => 20 + i); // chunk 2 = bytes 20..29
    expect([...sliceChunk(chunk, 2, 10, { start: 25, end: 100 })]).toEqual([25, 26, 27, 28, 29]);
    expect([...sliceChunk(chunk, 2, 10, { start: 0, end: 23 })]).toEqual([20, 21, 22]);
    expect([...sliceChunk(chunk, 2, 10, { start: 21, end: 22 })]).toEqual([21]);
    expect(sliceChunk(chunk, 2, 10, { start: 0, end: 100 })).toBe(chunk);
  });
});

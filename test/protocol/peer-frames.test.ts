import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { bitGet, bitSet } from "../../protocol/chunk-bitfield";
import { FrameError, MAX_DATA_PAYLOAD, MAX_MESSAGE_BYTES, MAX_REQUEST_CHUNKS, decodeFrame, encodeDataInto, encodeFrame, type Frame } from "../../protocol/peer-frames";

const root = "ab".repeat(32);

describe("peer frames", () => {
  it("round-trips every frame type", () => {
    const bits = new Uint8Array(2);
    bitSet(bits, 0); bitSet(bits, 9);
    const frames: Frame[] = [
      { type: "hello", version: 2 },
      { type: "request", reqId: 1, root, indices: [0] },
      { type: "request", reqId: 0xffffffff, root, indices: Array.from({ length: MAX_REQUEST_CHUNKS }, (_, k) => 65535 - MAX_REQUEST_CHUNKS + k + 1) },
      { type: "outdated", reqId: 9 },
      { type: "data", reqId: 7, index: 3, offset: 16371, bytes: new Uint8Array(MAX_DATA_PAYLOAD).fill(9) },
      { type: "data", reqId: 7, index: 3, offset: 0, bytes: new Uint8Array([1]) },
      { type: "cancel", reqId: 42 },
      { type: "cancel", reqId: 42, keep: 1 },
      { type: "cancel", reqId: 42, keep: MAX_REQUEST_CHUNKS - 1 },
      { type: "busy", reqId: 43 },
      { type: "error", reqId: 44, code: "not-found" },
      { type: "error", reqId: 45, code: "unavailable" },
      { type: "have", root, count: 10, bits },
      { type: "have", root, count: 0, bits: new Uint8Array(0) },
    ];
    for (const f of frames) {
      const enc = encodeFrame(f);
      expect(enc.length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      expect(decodeFrame(enc)).toEqual(f);
      // ArrayBuffer input (what a data channel delivers) decodes the same.
      expect(decodeFrame(enc.slice().buffer)).toEqual(f);
    }
  });

  it("refuses a partial CANCEL keeping 0 or a whole run's worth of chunks", () => {
    for (const keep of [0, MAX_REQUEST_CHUNKS, 255]) {
      const f = decodeFrame(Uint8Array.of(3, 0, 0, 0, 1, keep));
      expect(f).toBeInstanceOf(FrameError);
      expect((f as FrameError).code).toBe("bad-field");
      expect(() => encodeFrame({ type: "cancel", reqId: 1, keep })).toThrow(RangeError);
    }
    expect((decodeFrame(Uint8Array.of(3, 0, 0, 0, 1, 2, 0)) as FrameError).code).toBe("bad-length");
  });

  it("round-trips random data frames and bitfields", () => {
    fc.assert(fc.property(
      fc.nat(), fc.nat(65535), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: MAX_DATA_PAYLOAD }),
      (reqId, index, offset, bytes) => {
        const f = { type: "data" as const, reqId, index, offset, bytes };
        expect(decodeFrame(encodeFrame(f))).toEqual(f);
      },
    ), { numRuns: 50 });
    fc.assert(fc.property(fc.uniqueArray(fc.nat(999)), (held) => {
      const bits = new Uint8Array(125);
      for (const i of held) bitSet(bits, i);
      const f = decodeFrame(encodeFrame({ type: "have", root, count: 1000, bits }));
      if (f instanceof FrameError || f.type !== "have") throw new Error("bad");
      for (let i = 0; i < 1000; i++) expect(bitGet(f.bits, i)).toBe(held.includes(i));
    }), { numRuns: 50 });
  });

  it("rejects malformed frames with typed errors and never throws", () => {
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), "empty"],
      [new Uint8Array([99]), "unknown-type"],
      [new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(2), "too-large"],
      [new Uint8Array(40).fill(1), "bad-length"], // shorter than a version-1 request
      [Uint8Array.of(1, 0, 0, 0, 1, ...new Uint8Array(32), 2, 0, 0, 0, 1), "bad-length"], // names 2 chunks, carries 1
      [Uint8Array.of(1, 0, 0, 0, 1, ...new Uint8Array(32), 0, 0, 0, 0, 1), "bad-field"], // names 0 chunks
      [Uint8Array.of(1, 0, 0, 0, 1, ...new Uint8Array(32), 17, ...new Uint8Array(68)), "bad-field"], // 17 > MAX_REQUEST_CHUNKS
      [Uint8Array.of(1, 0, 0, 0, 1, ...new Uint8Array(32), 2, 0, 0, 0, 5, 0, 0, 0, 5), "bad-field"], // repeated index
      [Uint8Array.of(1, 0, 0, 0, 1, ...new Uint8Array(32), 2, 0, 0, 0, 6, 0, 0, 0, 5), "bad-field"], // decreasing
      [Uint8Array.of(1, 0, 0, 0, 1, ...new Uint8Array(32), 1, 0, 1, 0, 0), "bad-field"], // index 65536 ≥ MAX_CHUNKS
      [new Uint8Array([7]), "bad-length"], // hello without a version
      [new Uint8Array([7, 0]), "bad-field"],
      [new Uint8Array(13).fill(2), "bad-length"], // data without payload
      [new Uint8Array(4).fill(3), "bad-length"],
      [new Uint8Array(6).fill(4), "bad-length"],
      [new Uint8Array([5, 0, 0, 0, 1, 0]), "bad-field"], // error code 0
      [new Uint8Array([5, 0, 0, 0, 1, 9]), "bad-field"],
      [Uint8Array.of(6, ...new Uint8Array(32), 0, 0, 0, 9, 0xff, 0xff), "bad-field"], // bits past count
      [Uint8Array.of(6, ...new Uint8Array(32), 0, 0, 0, 9, 0xff), "bad-length"],
      [Uint8Array.of(6, ...new Uint8Array(32), 0xff, 0, 0, 0), "bad-field"], // count over MAX_CHUNKS
    ];
    for (const [bytes, code] of cases) {
      const r = decodeFrame(bytes);
      expect(r).toBeInstanceOf(FrameError);
      expect((r as FrameError).code).toBe(code);
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      const r = decodeFrame(b);
      expect(r instanceof FrameError || typeof r.type === "string").toBe(true);
    }), { numRuns: 500 });
  });

  it("refuses to encode values the format cannot carry", () => {
    expect(() => encodeFrame({ type: "data", reqId: 1, index: 0, offset: 0, bytes: new Uint8Array(MAX_DATA_PAYLOAD + 1) })).toThrow(RangeError);
    expect(() => encodeFrame({ type: "request", reqId: -1, indices: [0], root })).toThrow(RangeError);
    expect(() => encodeFrame({ type: "request", reqId: 1, indices: [0], root: "ab" })).toThrow(RangeError);
    expect(() => encodeFrame({ type: "request", reqId: 1, indices: [], root })).toThrow(RangeError);
    expect(() => encodeFrame({ type: "request", reqId: 1, indices: [3, 2], root })).toThrow(RangeError);
    expect(() => encodeFrame({ type: "request", reqId: 1, indices: Array.from({ length: MAX_REQUEST_CHUNKS + 1 }, (_, k) => k), root })).toThrow(RangeError);
  });

  it("decodes a version-1 request (one chunk, 41 bytes) as 'outdated', so it can be refused in terms that peer understands", () => {
    const v1 = new Uint8Array(41);
    v1[0] = 1;
    new DataView(v1.buffer).setUint32(1, 77);
    expect(decodeFrame(v1)).toEqual({ type: "outdated", reqId: 77 });
  });

  it("clears bitfield bits past count when encoding", () => {
    const f = decodeFrame(encodeFrame({ type: "have", root, count: 3, bits: new Uint8Array([0xff]) }));
    expect(f).toEqual({ type: "have", root, count: 3, bits: new Uint8Array([0xe0]) });
  });

  it("encodes DATA into a reused buffer exactly as encodeFrame does", () => {
    const scratch = new Uint8Array(MAX_MESSAGE_BYTES).fill(0xee);
    for (const n of [1, 100, MAX_DATA_PAYLOAD]) {
      const bytes = new Uint8Array(n).map((_, i) => i * 7);
      const a = encodeDataInto(scratch, 9, 4, 32768, bytes);
      expect(Buffer.from(a).equals(Buffer.from(encodeFrame({ type: "data", reqId: 9, index: 4, offset: 32768, bytes })))).toBe(true);
    }
    expect(() => encodeDataInto(new Uint8Array(20), 1, 0, 0, new Uint8Array(10))).toThrow(RangeError);
    expect(() => encodeDataInto(scratch, 1, 0, 0, new Uint8Array(MAX_DATA_PAYLOAD + 1))).toThrow(RangeError);
  });
});

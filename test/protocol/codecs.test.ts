/** The shared codecs of protocol/: base64/base64url, the chunk bitfield, and limits tied by code. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from "../../protocol/base64";
import { bitGet, bitfieldBytes, bitfieldToBytes, bytesToBitfield, decodeBitfield, encodeBitfield } from "../../protocol/chunk-bitfield";
import { MAX_CHUNKS } from "../../protocol/manifest";
import {
  MAX_ANSWER_BYTES, MAX_BITFIELD_CHARS, MAX_PEERS_PER_ANSWER, MAX_SERVER_FRAME_BYTES, parseServerMessage,
} from "../../protocol/swarm-protocol";

describe("base64 / base64url", () => {
  it("round-trips any bytes, and agrees with Node's Buffer", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 70_000 }), (b) => {
      expect(toBase64(b)).toBe(Buffer.from(b).toString("base64"));
      expect(toBase64Url(b)).toBe(Buffer.from(b).toString("base64url"));
      expect(fromBase64(toBase64(b))).toEqual(b);
      expect(fromBase64Url(toBase64Url(b))).toEqual(b);
    }), { numRuns: 50 });
  });

  it("refuses text outside the alphabet", () => {
    expect(fromBase64("!!!")).toBeNull();
    expect(fromBase64Url("ab+c")).toBeNull();
    expect(fromBase64Url("ab=")).toBeNull();
  });
});

describe("chunk bitfield", () => {
  it("bytes, base64 and index lists describe the same set (BEP 3 bit order)", () => {
    fc.assert(fc.property(fc.uniqueArray(fc.nat(199)), (held) => {
      const bytes = bitfieldBytes(held, 200);
      for (let i = 0; i < 200; i++) expect(bitGet(bytes, i)).toBe(held.includes(i));
      expect(encodeBitfield(held, 200)).toBe(bytesToBitfield(bytes));
      expect(bitfieldToBytes(encodeBitfield(held, 200))).toEqual(bytes);
      expect(decodeBitfield(bytesToBitfield(bytes), 200)).toEqual([...held].sort((a, b) => a - b));
    }), { numRuns: 100 });
  });

  it("the largest bitfield fits the validator's length limit, one more byte does not", () => {
    const all = encodeBitfield(Array.from({ length: MAX_CHUNKS }, (_, i) => i), MAX_CHUNKS);
    expect(all.length).toBeLessThanOrEqual(MAX_BITFIELD_CHARS);
    const peer = (have: string) => ({ peerId: "peer-bbbbbbbb", kind: "browser", have, proximity: "asn" });
    expect(parseServerMessage(JSON.stringify({ type: "peers", peers: [peer(all)] })).ok).toBe(true);
    expect(parseServerMessage(JSON.stringify({ type: "peers", peers: [peer(toBase64(new Uint8Array(MAX_CHUNKS / 8 + 3)))] })).ok).toBe(false);
  });
});

describe("limits tied by code", () => {
  it("a `peers` answer of MAX_ANSWER_BYTES parses on the client; the parser's limit is above it", () => {
    expect(MAX_ANSWER_BYTES).toBeLessThan(MAX_SERVER_FRAME_BYTES);
    const have = "A".repeat(Math.floor((MAX_ANSWER_BYTES - 200) / MAX_PEERS_PER_ANSWER / 4) * 4 - 80);
    const peers = Array.from({ length: MAX_PEERS_PER_ANSWER }, (_, i) => ({ peerId: `peer-${String(i).padStart(8, "0")}`, kind: "browser", have, proximity: "asn" }));
    const frame = JSON.stringify({ type: "peers", peers });
    expect(frame.length).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
    expect(frame.length).toBeGreaterThan(MAX_ANSWER_BYTES - 4096);
    expect(parseServerMessage(frame).ok).toBe(true);
    expect(parseServerMessage(frame + " ".repeat(MAX_SERVER_FRAME_BYTES - frame.length + 1))).toMatchObject({ ok: false, code: "too-large" });
  });
});

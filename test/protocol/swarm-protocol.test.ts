import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";
import { describe, expect, it } from "vitest";
import {
  MAX_FRAME_BYTES, MAX_SIGNAL_BYTES, decodeBitfield, encodeBitfield, encodeMessage, parseClientMessage, parseServerMessage,
} from "../../protocol/swarm-protocol";
import { computeRoot, parseManifest, sha256Hex } from "../../protocol/manifest";

const hello = { type: "hello", version: PROTOCOL_VERSION, peerId: "peer-aaaaaaaa", kind: "browser", have: "", uploadSlots: 4 };

describe("swarm protocol", () => {
  it("round-trips every client message", () => {
    const msgs = [
      hello,
      { type: "have", chunks: [0, 5, 9] },
      { type: "want", chunks: [1], max: 5 },
      { type: "signal", to: "peer-bbbbbbbb", data: { description: { type: "offer", sdp: "v=0" } } },
      { type: "signal", to: "peer-bbbbbbbb", data: { candidate: null } },
      { type: "signal", to: "peer-bbbbbbbb", data: { refused: "link-limit" } },
      { type: "signal", to: "peer-bbbbbbbb", data: { description: { type: "answer", sdp: "v=0", epoch: 1_765_000_000_123 } } },
      { type: "stats", fromPeers: 10, fromEdge: 20, uploaded: 0 },
      { type: "bye" },
    ];
    for (const m of msgs) {
      const r = parseClientMessage(JSON.stringify(m));
      expect(r).toEqual({ ok: true, value: m });
    }
  });

  it("drops fields it does not know instead of passing them through", () => {
    const r = parseClientMessage(JSON.stringify({ ...hello, evil: { __proto__: 1 } }));
    expect(r.ok && "evil" in r.value).toBe(false);
  });

  it.each([
    ["not json", "{", "bad-json"],
    ["no type", "{}", "bad-message"],
    ["array", "[1]", "bad-message"],
    ["unknown type", '{"type":"nope"}', "unknown-type"],
    ["wrong version", JSON.stringify({ ...hello, version: PROTOCOL_VERSION + 1 }), "bad-message"],
    ["bad peer id", JSON.stringify({ ...hello, peerId: "x" }), "bad-message"],
    ["negative chunk", '{"type":"have","chunks":[-1]}', "bad-message"],
    ["float chunk", '{"type":"have","chunks":[1.5]}', "bad-message"],
    ["string stats", '{"type":"stats","fromPeers":"1","fromEdge":0,"uploaded":0}', "bad-message"],
    ["empty signal", '{"type":"signal","to":"peer-bbbbbbbb","data":{}}', "bad-message"],
    ["unknown refusal", '{"type":"signal","to":"peer-bbbbbbbb","data":{"refused":"busy"}}', "bad-message"],
    ["negative epoch", '{"type":"signal","to":"peer-bbbbbbbb","data":{"description":{"type":"offer","sdp":"v=0","epoch":-1}}}', "bad-message"],
    ["float epoch", '{"type":"signal","to":"peer-bbbbbbbb","data":{"description":{"type":"offer","sdp":"v=0","epoch":1.5}}}', "bad-message"],
    ["string epoch", '{"type":"signal","to":"peer-bbbbbbbb","data":{"description":{"type":"offer","sdp":"v=0","epoch":"7"}}}', "bad-message"],
    ["huge want", JSON.stringify({ type: "want", max: 1000 }), "bad-message"],
  ])("rejects %s", (_name, raw, code) => {
    const r = parseClientMessage(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(code);
  });

  it("bounds frame sizes: signals to 16 KiB, others smaller", () => {
    const sdp = "a".repeat(MAX_FRAME_BYTES);
    expect(parseClientMessage(JSON.stringify({ type: "signal", to: "peer-bbbbbbbb", data: { description: { type: "offer", sdp } } })).ok).toBe(true);
    const big = parseClientMessage(JSON.stringify({ type: "signal", to: "peer-bbbbbbbb", data: { description: { type: "offer", sdp: "a".repeat(MAX_SIGNAL_BYTES) } } }));
    expect(big.ok || big.code).toBe("too-large");
    const have = parseClientMessage(JSON.stringify({ type: "have", chunks: [], pad: sdp }));
    expect(have.ok || have.code).toBe("too-large");
  });

  it("validates server messages too", () => {
    const peers = { type: "peers", peers: [{ peerId: "peer-cccccccc", kind: "supernode", have: encodeBitfield([1], 8), proximity: "asn" }] };
    expect(parseServerMessage(encodeMessage(peers as never))).toEqual({ ok: true, value: peers });
    expect(parseServerMessage('{"type":"peers","peers":[{"peerId":"x"}]}').ok).toBe(false);
    expect(parseServerMessage('{"type":"error","code":"made-up","message":"x"}').ok).toBe(false);
  });

  it("encodes bitfields MSB-first and decodes them back", () => {
    const bits = encodeBitfield([0, 7, 8, 20], 21);
    expect(Array.from(atob(bits), (c) => c.charCodeAt(0))).toEqual([0b1000_0001, 0b1000_0000, 0b0000_1000]);
    expect(decodeBitfield(bits, 21)).toEqual([0, 7, 8, 20]);
    expect(decodeBitfield(bits, 8)).toEqual([0, 7]);
    expect(decodeBitfield("!!!", 8)).toEqual([]);
  });
});

describe("manifest", () => {
  it("computes the root over raw digests and validates shape", async () => {
    const a = await sha256Hex(new Uint8Array([1]));
    const b = await sha256Hex(new Uint8Array([2]));
    const root = await computeRoot([a, b]);
    const raw = new Uint8Array(64);
    raw.set(Uint8Array.from(a.match(/../g)!.map((h) => parseInt(h, 16))), 0);
    raw.set(Uint8Array.from(b.match(/../g)!.map((h) => parseInt(h, 16))), 32);
    expect(root).toBe(await sha256Hex(raw));
    const m = { url: "/c/x", version: "", size: 300_000, type: "x", chunkSize: 262_144, chunks: [a, b], root };
    expect(parseManifest(m).ok).toBe(true);
    expect(parseManifest({ ...m, size: 10 }).ok).toBe(false);
    expect(parseManifest({ ...m, chunks: [a, "zz"] }).ok).toBe(false);
  });
});

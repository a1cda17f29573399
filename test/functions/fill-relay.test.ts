/**
 * The joined fill's framing (functions/fill-relay.ts): the bytes of a relay come out whole whatever
 * way the transport splits its frames, and only a clean end frame ends the body cleanly.
 */
import { describe, expect, it } from "vitest";
import { FillRelayError, relayEnd, relayPiece, unframeRelay } from "../../functions/fill-relay";
import { drain } from "./fault-client";

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  parts.reduce((off, p) => (out.set(p, off), off + p.byteLength), 0);
  return out;
};

/** A relay of `pieces` as the lock writes it, then its end frame (`none`: the relay stops early). */
function framed(pieces: Uint8Array[], end: "clean" | "failed" | "none"): Uint8Array {
  const parts: Uint8Array[] = [];
  const c = { enqueue: (b: Uint8Array) => void parts.push(b), close: () => {} } as unknown as ReadableStreamDefaultController<Uint8Array>;
  for (const p of pieces) relayPiece(c, p);
  if (end !== "none") relayEnd(c, end === "clean");
  return concat(parts);
}

/** `all` as a transport delivers it: in reads of `cut` bytes. */
function reads(all: Uint8Array, cut: number): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= all.byteLength) return c.close();
      c.enqueue(all.slice(off, (off += cut)));
    },
  });
}

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe("fill relay framing", () => {
  const pieces = [bytes(1, 1), bytes(1000, 2), bytes(7000, 3)];
  const whole = concat(pieces);

  for (const cut of [1, 3, 5, 4096, 1 << 20]) {
    it(`a clean relay read in ${cut}-byte pieces: the same bytes, a clean end`, async () => {
      const out = await drain(unframeRelay(reads(framed(pieces, "clean"), cut)));
      expect(out.error).toBeNull();
      expect(out.bytes).toEqual(whole);
    });
  }

  it("a failed end frame errors the body", async () => {
    const out = await drain(unframeRelay(reads(framed(pieces, "failed"), 7)));
    expect(out.error).toBeInstanceOf(FillRelayError);
    expect(out.bytes.byteLength).toBeLessThanOrEqual(whole.byteLength);
  });

  it("a relay that stops without its end frame errors: never a clean short end", async () => {
    const out = await drain(unframeRelay(reads(framed(pieces, "none"), 4096)));
    expect(out.error).toBeInstanceOf(FillRelayError);
    expect(out.bytes).toEqual(whole);
  });

  it("a relay cut inside a frame errors", async () => {
    const all = framed(pieces, "clean");
    const out = await drain(unframeRelay(reads(all.subarray(0, all.byteLength - 104), 4096)));
    expect(out.error).toBeInstanceOf(FillRelayError);
  });

  it("bytes after the end frame error the body", async () => {
    const out = await drain(unframeRelay(reads(concat([framed(pieces, "clean"), bytes(3, 4)]), 9)));
    expect(out.error).toBeInstanceOf(FillRelayError);
  });
});

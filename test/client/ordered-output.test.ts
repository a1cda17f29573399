import { describe, expect, it } from "vitest";
import { OrderedOutput } from "../../client/ordered-output";
import { bytesOf, concat, settle } from "./helpers";

const CS = 10;
const DATA = bytesOf(95); // 10 chunks, the last one 5 bytes
const chunk = (i: number) => DATA.slice(i * CS, Math.min(DATA.length, (i + 1) * CS));

function output(range = { start: 0, end: DATA.length }) {
  const events = { pulls: 0, cancels: 0, completes: 0 };
  const first = Math.floor(range.start / CS);
  const end = Math.ceil(range.end / CS);
  const out = new OrderedOutput(range, CS, first, end, {
    onPull: () => events.pulls++,
    onCancel: () => events.cancels++,
    onComplete: () => events.completes++,
  });
  return { out, events, first, end };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const r = stream.getReader();
  for (;;) {
    const { value, done } = await r.read();
    if (done) return concat(parts);
    parts.push(value);
  }
}

describe("ordered output (range assembly)", () => {
  it("emits chunks in order whatever order they arrive in", async () => {
    const { out, events } = output();
    const reading = readAll(out.stream);
    for (const i of [3, 1, 9, 0, 2, 8, 4, 6, 5, 7]) {
      out.put(i, chunk(i));
      await settle(1);
    }
    expect([...(await reading)]).toEqual([...DATA]);
    expect(events.completes).toBe(1);
  });

  it("cuts the first and last chunks to the byte range", async () => {
    for (const range of [{ start: 0, end: 1 }, { start: 9, end: 11 }, { start: 13, end: 47 }, { start: 90, end: 95 }, { start: 25, end: 30 }]) {
      const { out, first, end } = output(range);
      const reading = readAll(out.stream);
      for (let i = end - 1; i >= first; i--) out.put(i, chunk(i));
      expect([...(await reading)]).toEqual([...DATA.slice(range.start, range.end)]);
    }
  });

  it("ignores duplicates and chunks already emitted; hands the chunk over without a copy", async () => {
    const { out } = output({ start: 0, end: 20 });
    const r = out.stream.getReader();
    const c0 = chunk(0);
    expect(out.put(0, c0)).toBe(true);
    expect(out.put(0, chunk(0))).toBe(false);
    const first = await r.read();
    // The download gives up its buffer (its store copy is taken on accept): no copy per chunk.
    expect(first.value!.buffer).toBe(c0.buffer);
    expect([...first.value!]).toEqual([...DATA.slice(0, 10)]);
    expect(out.put(0, chunk(0))).toBe(false);
    expect(out.cursor).toBe(1);
  });

  it("holds chunks back while the reader is not reading (backpressure), and asks for more on pull", async () => {
    const { out, events } = output();
    for (let i = 0; i < 5; i++) out.put(i, chunk(i));
    // highWaterMark 1: only chunk 0 is queued until the reader reads.
    expect(out.cursor).toBe(1);
    const r = out.stream.getReader();
    for (let i = 0; i < 5; i++) expect([...(await r.read()).value!]).toEqual([...chunk(i)]);
    expect(out.cursor).toBe(5);
    const next = r.read();
    await settle(1);
    expect(events.pulls).toBeGreaterThan(0);
    out.put(5, chunk(5));
    expect([...(await next).value!]).toEqual([...chunk(5)]);
  });

  it("finishes with a fallback body, errors, and reports cancel", async () => {
    const a = output();
    const reading = readAll(a.out.stream);
    a.out.put(0, chunk(0));
    await settle(1);
    void a.out.finish(new Response(DATA.slice(10)).body!);
    expect([...(await reading)]).toEqual([...DATA]);
    const b = output();
    b.out.error(new Error("boom"));
    await expect(readAll(b.out.stream)).rejects.toThrow("boom");
    const c = output();
    await c.out.stream.cancel();
    expect(c.events.cancels).toBe(1);
  });
  it("a chunk given as parts (a peer's DATA payloads) is emitted part by part, cut to the range", async () => {
    // Bytes 13..87: chunk 1 from its 4th byte, chunk 8 up to its 7th; parts of 4, 4 and 2 bytes.
    const range = { start: 13, end: 87 };
    const { out, first, end } = output(range);
    const parts = (i: number) => [chunk(i).slice(0, 4), chunk(i).slice(4, 8), chunk(i).slice(8)];
    const reading = readAll(out.stream);
    for (let i = first; i < end; i++) out.put(i, i % 2 ? parts(i) : chunk(i));
    expect([...(await reading)]).toEqual([...DATA.subarray(13, 87)]);
  });
});

/**
 * Large reads of platform byte streams (functions/bulk-reader.ts) and the fanout over them: an
 * origin body over a real socket arrives in large pieces (workerd's default reader: 4 KiB each),
 * yet a single byte is handed on as soon as it is there — the first byte of a cold item never
 * waits for a full buffer, and a stalled source still trips the idle timeout.
 */
import { describe, expect, it } from "vitest";
import { BULK_READ_BYTES, bulkReader } from "../../functions/bulk-reader";
import { SourceIdleError, fanout } from "../../functions/stream-fanout";
import { FAULT_ORIGIN, drain } from "./fault-client";
import { faultBytes } from "./fault-origin/server";

const SIZE = 8 * 1024 * 1024;
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

/** A platform byte stream the test writes into (workerd's identity stream), and its writer. */
function platformStream(): { readable: ReadableStream<Uint8Array>; writer: WritableStreamDefaultWriter<Uint8Array> } {
  const t = new IdentityTransformStream();
  const writer = t.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
  writer.closed.catch(() => {});
  return { readable: t.readable as ReadableStream<Uint8Array>, writer };
}

const pattern = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (i + from) & 0xff);

describe("bulkReader", () => {
  it("reads an 8 MiB origin body over a real socket in large pieces, bytes intact", async () => {
    const res = await fetch(`${FAULT_ORIGIN}ok/${SIZE}/${crypto.randomUUID()}.bin`);
    const reader = bulkReader(res.body!);
    const pieces: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) pieces.push(r.value);
    const bytes = new Uint8Array(SIZE);
    let off = 0;
    for (const p of pieces) bytes.set(p, (off += p.byteLength) - p.byteLength);
    expect(off).toBe(SIZE);
    expect(sameBytes(bytes, faultBytes(SIZE))).toBe(true);
    // workerd's default reader takes 2,048+ reads of 4 KiB for this body: the JS work per read is
    // what saturated `npm start` under 50 concurrent misses.
    expect(pieces.length).toBeLessThan(SIZE / 8192);
    expect(Math.max(...pieces.map((p) => p.byteLength))).toBeGreaterThan(4096);
  });

  it("hands on a single byte at once (it never waits to fill its buffer), then the rest in pieces of at most its size", async () => {
    const { readable, writer } = platformStream();
    const reader = bulkReader(readable);
    void writer.write(pattern(1));
    // Nothing more is written until this read resolves: a reader waiting for more would hang here.
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect([...first.value!]).toEqual([0]);
    const rest = pattern(BULK_READ_BYTES * 2 + 100, 1);
    void writer.write(rest).then(() => writer.close());
    const pieces: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) pieces.push(r.value);
    expect(pieces.every((p) => p.byteLength <= BULK_READ_BYTES)).toBe(true);
    // Every piece handed out is still intact after later reads (a reused buffer never aliases one).
    const joined = new Uint8Array(rest.byteLength);
    let off = 0;
    for (const p of pieces) joined.set(p, (off += p.byteLength) - p.byteLength);
    expect(off).toBe(rest.byteLength);
    expect(sameBytes(joined, rest)).toBe(true);
  });

  it("a short piece does not pin a whole buffer: it comes out as a buffer of its own size", async () => {
    const { readable, writer } = platformStream();
    const reader = bulkReader(readable);
    const got: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      void writer.write(pattern(10, i));
      const r = await reader.read();
      got.push(r.value!);
    }
    expect(got.map((p) => p.buffer.byteLength)).toEqual([10, 10, 10]);
    expect(got.map((p) => p[0])).toEqual([0, 1, 2]);
    await writer.close();
    expect((await reader.read()).done).toBe(true);
  });

  it("a stream that is not a byte stream is read with its default reader, chunks as enqueued", async () => {
    const chunks = [pattern(3), pattern(5, 3)];
    const js = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(ch);
        c.close();
      },
    });
    const reader = bulkReader(js);
    expect((await reader.read()).value).toBe(chunks[0]);
    expect((await reader.read()).value).toBe(chunks[1]);
    expect((await reader.read()).done).toBe(true);
  });

  it("a cancel reaches the source: its writer is refused", async () => {
    const { readable, writer } = platformStream();
    await bulkReader(readable).cancel("gone");
    await expect(writer.write(pattern(1))).rejects.toBeDefined();
  });
});

describe("fanout over a platform stream", () => {
  it("passes an 8 MiB origin body to every branch in fewer pieces than 4 KiB reads would make", async () => {
    const res = await fetch(`${FAULT_ORIGIN}ok/${SIZE}/${crypto.randomUUID()}.bin`);
    let pieces = 0;
    const branches = fanout(res.body!, 3, {
      expectedLength: SIZE,
      idleTimeoutMs: 10_000,
      observer: { chunk: () => void pieces++, end() {}, fail() {} },
    });
    const outs = await Promise.all(branches.map(drain));
    for (const o of outs) {
      expect(o.error).toBeNull();
      expect(sameBytes(o.bytes, faultBytes(SIZE))).toBe(true);
    }
    expect(pieces).toBeLessThan(SIZE / 8192);
  });

  it("a source's first byte reaches every branch before it sends a second, and a stall after it trips the idle timeout", async () => {
    const { readable, writer } = platformStream();
    const branches = fanout(readable, 2, { idleTimeoutMs: 200 });
    void writer.write(pattern(1));
    const readers = branches.map((b) => b.getReader());
    for (const r of readers) expect([...(await r.read()).value!]).toEqual([0]);
    // Then silence: the idle timeout still measures "nothing for idleTimeoutMs", per read.
    for (const r of readers) await expect(r.read()).rejects.toBeInstanceOf(SourceIdleError);
  });
});

/** Pure pieces of the edge Worker: ranges, freshness, the bounded fanout, the chunk hasher. */
import { describe, expect, it } from "vitest";
import { contentRange, parseRange, sliceStream } from "../../functions/byte-range";
import { parseByteRange } from "../../protocol/byte-range";
import { ChunkHasher } from "../../functions/chunk-hasher";
import { freshnessLifetime, isFresh } from "../../functions/freshness";
import { fanout } from "../../functions/stream-fanout";
import { edgeConfig } from "../../functions/edge-config";
import { HttpError } from "../../functions/http-error";
import { parseAge, parseHttpDate } from "../../functions/http-fields";
import { bytes, sha256 } from "./origin-stub";

async function readAll(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const r = s.getReader(); ; ) {
    const { done, value } = await r.read();
    if (done) break;
    parts.push(value);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.byteLength));
  return out;
}

function source(data: Uint8Array, piece: number, counter: { reads: number }): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= data.byteLength) return c.close();
      counter.reads++;
      c.enqueue(data.slice(off, off + piece));
      off += piece;
    },
  }, { highWaterMark: 0 });
}

describe("byte ranges", () => {
  it.each([
    ["bytes=0-9", 100, { start: 0, end: 9, size: 100 }],
    ["bytes=90-", 100, { start: 90, end: 99, size: 100 }],
    ["bytes=-5", 100, { start: 95, end: 99, size: 100 }],
    ["bytes=-500", 100, { start: 0, end: 99, size: 100 }],
    ["bytes=50-5000", 100, { start: 50, end: 99, size: 100 }],
    ["bytes=100-", 100, "unsatisfiable"],
    ["bytes=-0", 100, "unsatisfiable"],
    ["bytes=0-", 0, "unsatisfiable"],
    ["bytes=5-1", 100, null],
    ["bytes=0-1,3-4", 100, null],
    ["items=0-1", 100, null],
    [null, 100, null],
    [" BYTES = 1 - 2 ", 100, { start: 1, end: 2, size: 100 }],
    ["bytes=99-99", 100, { start: 99, end: 99, size: 100 }],
    ["bytes=0-", 1, { start: 0, end: 0, size: 1 }],
    ["bytes=-1", 1, { start: 0, end: 0, size: 1 }],
    ["bytes=0-99999999999999999999", 100, { start: 0, end: 99, size: 100 }],
    ["bytes=-5", 0, "unsatisfiable"],
    // Reversed is invalid before it is unsatisfiable (RFC 9110 §14.1.1): ignored, even past the end.
    ["bytes=200-100", 100, null],
    ["bytes=-", 100, null],
    ["bytes=", 100, null],
    ["", 100, null],
    ["bytes=1-2x", 100, null],
  ] as const)("%s of %d", (h, size, want) => expect(parseRange(h, size)).toEqual(want));

  it("is the shared parser's inclusive range with the size attached", () => {
    for (const h of ["bytes=0-9", "bytes=90-", "bytes=-7", "bytes=3-3000"]) {
      const shared = parseByteRange(h, 100);
      if (shared === null || typeof shared === "string") throw new Error(`${h}: ${String(shared)}`);
      expect(parseRange(h, 100)).toEqual({ start: shared.first, end: shared.last, size: 100 });
    }
  });

  it("formats Content-Range", () => {
    expect(contentRange({ start: 1, end: 2, size: 3 })).toBe("bytes 1-2/3");
    expect(contentRange({ size: 3 })).toBe("bytes */3");
  });

  it("slices streams across piece boundaries and stops reading after the end", async () => {
    const data = bytes(1000);
    const counter = { reads: 0 };
    const out = await readAll(sliceStream(source(data, 100, counter), 250, 449));
    expect([...out]).toEqual([...data.slice(250, 450)]);
    expect(counter.reads).toBe(5);
  });
});

describe("freshness", () => {
  const now = Date.parse("2024-06-01T00:00:00Z");
  it.each([
    [{ "cache-control": "public, max-age=60" }, 60],
    [{ "cache-control": "max-age=60, s-maxage=600" }, 600],
    [{ "cache-control": "max-age=60", age: "20" }, 40],
    [{ "cache-control": "no-cache, max-age=60" }, 0],
    [{ expires: "Sat, 01 Jun 2024 00:10:00 GMT", date: "Sat, 01 Jun 2024 00:00:00 GMT" }, 600],
    [{ expires: "0" }, 0],
    [{ "last-modified": "Wed, 22 May 2024 00:00:00 GMT", date: "Sat, 01 Jun 2024 00:00:00 GMT" }, 86_400],
    [{ "last-modified": "Fri, 31 May 2024 23:00:00 GMT", date: "Sat, 01 Jun 2024 00:00:00 GMT" }, 360],
    [{}, 0],
  ])("%o → %d s", (h, s) => expect(freshnessLifetime(new Headers(h as Record<string, string>), now)).toBe(s));

  it("parses the three HTTP-date forms alike (RFC 9110 §5.6.7) and nothing else", () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT")).toBe(t);
    expect(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT")).toBe(t);
    expect(parseHttpDate("Sun Nov  6 08:49:37 1994")).toBe(t);
    for (const bad of ["Sun 06 Nov 1994 08:49:37 GMT", "0", "1994-11-06T08:49:37Z", "Sun, 31 Nov 1994 08:49:37 GMT", "Sun Nov  6 08:49:37 94"]) expect(parseHttpDate(bad), bad).toBeNull();
  });

  it("reads Age's first member, a non-negative integer, else 0 (RFC 9111 §5.1)", () => {
    expect([parseAge("7200, 0"), parseAge("60"), parseAge("1.5"), parseAge("-5"), parseAge("1e3"), parseAge(""), parseAge(null)]).toEqual([7200, 60, 0, 0, 0, 0, 0]);
  });

  it("judges stored objects by their fresh-until stamp", () => {
    const h = new Headers({ "x-edgeswarm-fresh-until": String(now + 1000) });
    expect(isFresh(h, now)).toBe(true);
    expect(isFresh(h, now + 1000)).toBe(false);
    expect(isFresh(new Headers(), now)).toBe(false);
  });
});

describe("bounded fanout", () => {
  it("delivers the same bytes to every branch, reading the source once", async () => {
    const data = bytes(200_000);
    const counter = { reads: 0 };
    const seen: number[] = [];
    const [a, b] = fanout(source(data, 10_000, counter), 2, { highWaterMark: 20_000, observer: { chunk: (c) => void seen.push(c.byteLength), end() {}, fail() {} } }) as [ReadableStream<Uint8Array>, ReadableStream<Uint8Array>];
    const [x, y] = await Promise.all([readAll(a), readAll(b)]);
    expect(await sha256(x as Uint8Array<ArrayBuffer>)).toBe(await sha256(data));
    expect(await sha256(y as Uint8Array<ArrayBuffer>)).toBe(await sha256(data));
    expect(counter.reads).toBe(20);
    expect(seen.reduce((n, v) => n + v, 0)).toBe(200_000);
  });

  it("paces the source by the slowest branch", async () => {
    const counter = { reads: 0 };
    const [fast, slow] = fanout(source(bytes(1_000_000), 10_000, counter), 2, { highWaterMark: 30_000 }) as [ReadableStream<Uint8Array>, ReadableStream<Uint8Array>];
    const fastRead = readAll(fast);
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
    // The slow branch has read nothing: the source may be at most ~one queue ahead.
    expect(counter.reads).toBeLessThanOrEqual(4);
    await Promise.all([fastRead, readAll(slow)]);
    expect(counter.reads).toBe(100);
  });

  it("lets the other branches finish when one is cancelled", async () => {
    const counter = { reads: 0 };
    const [a, b] = fanout(source(bytes(100_000), 1_000, counter), 2, { highWaterMark: 5_000 }) as [ReadableStream<Uint8Array>, ReadableStream<Uint8Array>];
    await a.cancel("client gone");
    expect((await readAll(b)).byteLength).toBe(100_000);
  });

  it("errors every branch when the source stalls past the idle timeout", async () => {
    const stalled = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
    const [a] = fanout(stalled, 1, { idleTimeoutMs: 20 }) as [ReadableStream<Uint8Array>];
    await expect(readAll(a)).rejects.toThrow(/origin sent nothing/);
  });
});

describe("chunk hasher", () => {
  it("hashes whatever the input piece sizes are", async () => {
    const data = bytes(50_000, 4);
    const h = new ChunkHasher(16_384);
    for (let off = 0; off < data.byteLength; off += 777) await h.update(data.subarray(off, off + 777));
    const { chunks, size } = await h.finish();
    expect(size).toBe(50_000);
    expect(chunks).toEqual(await Promise.all([0, 16_384, 32_768, 49_152].map((o) => sha256(data.slice(o, o + 16_384)))));
  });
});

describe("configuration", () => {
  const base = { ROUTES: '{"/a/": "https://o.test/"}', CHUNK_SIZE: "262144", ORIGIN_TIMEOUT_MS: "1000", TOKEN_TTL: "60", ICE_SERVERS: "[]", TOKEN_SECRET: "s" };
  it("parses valid vars", () => {
    const cfg = edgeConfig({ ...base, ICE_SERVERS: '[{"urls":"stun:stun.test:3478"}]' });
    expect(cfg.chunkSize).toBe(262144);
    expect(cfg.tokenTtlMs).toBe(60_000);
    expect(cfg.iceServers).toEqual([{ urls: "stun:stun.test:3478" }]);
  });
  it.each([["CHUNK_SIZE", "100000"], ["CHUNK_SIZE", "1024"], ["ORIGIN_TIMEOUT_MS", "x"], ["ICE_SERVERS", '[{"url":1}]'], ["ROUTES", "{}x"]])(
    "refuses %s=%s with bad-config",
    (k, v) => expect(() => edgeConfig({ ...base, [k]: v })).toThrow(expect.objectContaining({ code: "bad-config" }) as unknown as HttpError),
  );
});

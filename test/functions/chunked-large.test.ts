/**
 * Chunked storage (functions/chunked-storage.ts) with an in-isolate origin: a 40 MiB object (forty
 * times the 1 MiB threshold) streamed through with bounded memory — the origin generates bytes
 * lazily, so the test sees how far the Worker read it ahead of a paused client — then served from
 * its chunks; and the freshness rules on a chunked object: 304 revalidation, stale-if-error, Vary.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../functions/index";
import { CHUNKED, contentKey } from "../../functions/edge-cache";
import { ORIGIN, asset, bytes, prng, sameBytes, stubOrigin, uniquePath, generatingOrigin } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024;
const ENV = { ...env, CHUNKED_STORAGE_MIN_BYTES: String(MiB), PEER_KEY_REQUIRED: "0" } as Env;

async function open(path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test${path}`, init), ENV, ctx);
  return { res, settled: () => waitOnExecutionContext(ctx) };
}

async function call(path: string, init?: RequestInit) {
  const { res, settled } = await open(path, init);
  const body = new Uint8Array(await res.arrayBuffer());
  await settled();
  return { res, body };
}

/** Reads a body, checking it against `prng(seed)` as it goes (pieces stay multiples of 4 bytes). */
async function check(body: ReadableStream<Uint8Array>, seed: number, onRead?: (consumed: number) => Promise<void>): Promise<{ consumed: number; equal: boolean }> {
  const reader = body.getReader();
  const gen = prng(seed);
  let consumed = 0;
  let equal = true;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const want = new Uint8Array(value.byteLength);
    gen(want);
    equal &&= sameBytes(value, want);
    consumed += value.byteLength;
    await onRead?.(consumed);
  }
  return { consumed, equal };
}

describe("chunked storage, 40 MiB", { timeout: 180_000 }, () => {
  it("streams a miss with bounded memory, stores it as 160 chunks, serves hits and ranges from them", async () => {
    const SIZE = 40 * MiB;
    const { origin, stats } = generatingOrigin(SIZE, 40, '"big40"');
    const p = uniquePath();
    const t0 = Date.now();
    const { res, settled } = await open(`/c/assets/${p}`);
    expect(res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(res.headers.get("content-length")).toBe(String(SIZE));
    let maxLead = 0;
    let paused = false;
    const miss = await check(res.body!, 40, async (consumed) => {
      maxLead = Math.max(maxLead, stats.produced - consumed);
      if (!paused && consumed >= 8 * MiB) {
        // A slow client: the cache branch gets every chance to race ahead (no timing assertion —
        // the bound below must hold however long this pause is).
        paused = true;
        for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 10));
        maxLead = Math.max(maxLead, stats.produced - consumed);
      }
    });
    await settled();
    const fillMs = Date.now() - t0;
    expect(miss).toEqual({ consumed: SIZE, equal: true });
    expect(stats.produced).toBe(SIZE);
    // The client branch's 1 MiB queue, one chunk being stored, a piece in flight: nowhere near 40 MiB.
    expect(maxLead).toBeLessThan(3 * MiB);
    const head = await (caches as unknown as { default: Cache }).default.match(contentKey(new URL(ORIGIN + p)));
    expect(head!.headers.get(CHUNKED)).toBe(`${CHUNK}/${SIZE}`);
    await head!.body?.cancel();

    const t1 = Date.now();
    const { res: hitRes, settled: hitSettled } = await open(`/c/assets/${p}`);
    expect(hitRes.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(hitRes.headers.get("content-length")).toBe(String(SIZE));
    expect(await check(hitRes.body!, 40)).toEqual({ consumed: SIZE, equal: true });
    await hitSettled();
    const hitMs = Date.now() - t1;

    // A range in the last chunks: the bytes the PRNG gives at that offset.
    const all = new Uint8Array(SIZE);
    prng(40)(all);
    const t2 = Date.now();
    const r = await call(`/c/assets/${p}`, { headers: { range: `bytes=${SIZE - CHUNK - 1000}-${SIZE - 1}` } });
    const rangeMs = Date.now() - t2;
    expect(r.res.status).toBe(206);
    expect(sameBytes(r.body, all.subarray(SIZE - CHUNK - 1000))).toBe(true);
    expect(origin.hits(ORIGIN + p)).toBe(1);
    console.log(`40 MiB chunked: miss ${fillMs} ms (max origin lead ${(maxLead / MiB).toFixed(2)} MiB), hit ${hitMs} ms, 257 KiB range hit ${rangeMs} ms`);
  });
});

describe("freshness rules on a chunked object", () => {
  const SIZE = 2 * MiB + 4;

  it("a stale copy is revalidated (304) and served from its chunks; an origin 503 then gets the stale copy", async () => {
    const data = bytes(SIZE, 7);
    let mode: "full" | "304" | "503" = "full";
    const origin = stubOrigin((req) => {
      if (mode === "503") return new Response("down", { status: 503 });
      if (mode === "304" && req.headers.get("if-none-match") === '"v1"') return new Response(null, { status: 304, headers: { etag: '"v1"', "cache-control": "public, max-age=0", "x-refreshed": "yes" } });
      return asset(data, { "cache-control": "public, max-age=0" });
    });
    const p = uniquePath();
    const first = await call(`/c/assets/${p}`);
    expect(first.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(sameBytes(first.body, data)).toBe(true);
    mode = "304";
    const revalidated = await call(`/c/assets/${p}`);
    expect(revalidated.res.status).toBe(200);
    expect(revalidated.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(revalidated.res.headers.get("x-refreshed")).toBe("yes");
    expect(revalidated.res.headers.get("content-length")).toBe(String(SIZE));
    expect(sameBytes(revalidated.body, data)).toBe(true);
    // The refreshed head still names the chunks (RFC 9111 §3.2: the 304 updates headers only).
    const head = await (caches as unknown as { default: Cache }).default.match(contentKey(new URL(ORIGIN + p)));
    expect(head!.headers.get(CHUNKED)).toBe(`${CHUNK}/${SIZE}`);
    expect(head!.headers.get("x-refreshed")).toBe("yes");
    await head!.body?.cancel();
    mode = "503";
    const stale = await call(`/c/assets/${p}`);
    expect(stale.res.status).toBe(200);
    expect(stale.res.headers.get("x-edgeswarm-cache")).toBe("STALE");
    expect(sameBytes(stale.body, data)).toBe(true);
    const ranged = await call(`/c/assets/${p}`, { headers: { range: "bytes=300000-300099" } });
    expect(ranged.res.status).toBe(206);
    expect(sameBytes(ranged.body, data.subarray(300000, 300100))).toBe(true);
    expect(origin.calls.map((c) => c.headers.get("if-none-match"))).toEqual([null, '"v1"', '"v1"', '"v1"']);
  });

  it("an origin cannot make a whole entry look chunked (the internal layout field is never stored from it)", async () => {
    const data = bytes(1000, 3);
    const origin = stubOrigin(() => asset(data, { "x-edgeswarm-chunked": `${CHUNK}/${SIZE}`, "x-edgeswarm-object": "forged" }));
    const p = uniquePath();
    expect(sameBytes((await call(`/c/assets/${p}`)).body, data)).toBe(true);
    const hit = await call(`/c/assets/${p}`);
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(hit.res.headers.get("content-length")).toBe("1000");
    expect(hit.res.headers.has("x-edgeswarm-chunked")).toBe(false);
    expect(sameBytes(hit.body, data)).toBe(true);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("Vary: each variant is its own chunked object", async () => {
    const en = bytes(SIZE, 11);
    const fr = bytes(SIZE, 12);
    const origin = stubOrigin((req) => asset(req.headers.get("accept-language") === "fr" ? fr : en, { vary: "Accept-Language" }));
    const p = uniquePath();
    const get = (lang: string) => call(`/c/assets/${p}`, { headers: { "accept-language": lang } });
    expect(sameBytes((await get("en")).body, en)).toBe(true);
    expect(sameBytes((await get("fr")).body, fr)).toBe(true);
    const hitEn = await get("en");
    const hitFr = await get("fr");
    expect(hitEn.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(hitFr.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(sameBytes(hitEn.body, en)).toBe(true);
    expect(sameBytes(hitFr.body, fr)).toBe(true);
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });
});

describe("defaults: no size falls between the relay and chunked storage", { timeout: 180_000 }, () => {
  it("5 concurrent misses of a 33 MiB object (above FILL_RELAY_MAX_BYTES) under the default settings: 1 origin fetch, every body intact", async () => {
    const SIZE = 33 * MiB;
    const { origin } = generatingOrigin(SIZE, 33);
    const p = uniquePath();
    const defaults = { ...env, PEER_KEY_REQUIRED: "0" } as Env; // no CHUNKED_STORAGE_MIN_BYTES, no FILL_RELAY_MAX_BYTES
    const runs = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const ctx = createExecutionContext();
        const res = await worker.fetch(new Request(`https://edge.test/c/assets/${p}`), defaults, ctx);
        const got = await check(res.body!, 33);
        await waitOnExecutionContext(ctx);
        return { status: res.status, ...got };
      }),
    );
    for (const r of runs) expect(r).toEqual({ status: 200, consumed: SIZE, equal: true });
    expect(origin.hits(ORIGIN + p)).toBe(1);
    const head = await (caches as unknown as { default: Cache }).default.match(contentKey(new URL(ORIGIN + p)));
    expect(head!.headers.get(CHUNKED)).toBe(`${CHUNK}/${SIZE}`);
    await head!.body?.cancel();
  });
});

/** `/c/`: miss → hit, conditional requests, HEAD, ranges, revalidation, CORS. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ORIGIN, asset, bytes, call, sameBytes, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

describe("/c/ content through the edge cache", () => {
  it("misses once, then serves the same bytes from the cache without the origin", async () => {
    const data = bytes(100_000, 7);
    const origin = stubOrigin(() => asset(data));
    const p = uniquePath();
    const first = await call(`/c/assets/${p}`);
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(first.res.headers.get("x-edgeswarm-eligible")).toBe("1");
    expect(first.res.headers.get("content-length")).toBe("100000");
    expect(sameBytes(first.body, data)).toBe(true);
    const second = await call(`/c/assets/${p}`);
    expect(second.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(second.res.headers.get("etag")).toBe('"v1"');
    expect(second.res.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(sameBytes(second.body, data)).toBe(true);
    expect(origin.hits(ORIGIN + p)).toBe(1);
    expect(origin.hosts()).toEqual(["origin.test"]);
  });

  it("keys the cache by route path and query (query-and-names.test.ts): the Host header does not create new entries", async () => {
    const origin = stubOrigin(() => asset("abc"));
    const p = uniquePath();
    await call(`/c/assets/${p}?bust=1`);
    const again = await call(`/c/assets/${p}?bust=1`, { headers: { host: "evil.test" } });
    expect(again.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(origin.calls.map((c) => c.url)).toEqual([`${ORIGIN}${p}?bust=1`]);
  });

  it("asks the origin for identity bytes and forwards no client identity headers", async () => {
    const origin = stubOrigin(() => asset("abc"));
    await call(`/c/assets/${uniquePath()}`, { headers: { "x-forwarded-for": "1.2.3.4", "accept-encoding": "gzip", range: "bytes=0-0" } });
    const h = origin.calls[0]!.headers;
    expect(h.get("accept-encoding")).toBe("identity");
    expect(h.get("x-forwarded-for")).toBeNull();
    expect(h.get("range")).toBeNull();
  });

  it("answers If-None-Match and If-Modified-Since with 304 and no body", async () => {
    const origin = stubOrigin(() => asset("hello"));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const inm = await call(`/c/assets/${p}`, { headers: { "if-none-match": 'W/"v1"' } });
    expect(inm.res.status).toBe(304);
    expect(inm.body.byteLength).toBe(0);
    expect(inm.res.headers.get("etag")).toBe('"v1"');
    const ims = await call(`/c/assets/${p}`, { headers: { "if-modified-since": "Tue, 02 Jan 2024 00:00:00 GMT" } });
    expect(ims.res.status).toBe(304);
    // Not an HTTP-date: ignored (RFC 9110 §13.1.3), so the full 200 — however late the date.
    const iso = await call(`/c/assets/${p}`, { headers: { "if-modified-since": "2099-01-01T00:00:00Z" } });
    expect(iso.res.status).toBe(200);
    expect(new TextDecoder().decode(iso.body)).toBe("hello");
    const other = await call(`/c/assets/${p}`, { headers: { "if-none-match": '"v0"' } });
    expect(other.res.status).toBe(200);
    expect(new TextDecoder().decode(other.body)).toBe("hello");
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("answers a conditional request on a miss with 304 and still stores the object", async () => {
    const origin = stubOrigin(() => asset("hello"));
    const p = uniquePath();
    const first = await call(`/c/assets/${p}`, { headers: { "if-none-match": '"v1"' } });
    expect(first.res.status).toBe(304);
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("answers HEAD with headers only, from the cache when it can", async () => {
    const data = bytes(5000);
    const origin = stubOrigin(() => asset(data));
    const p = uniquePath();
    const miss = await call(`/c/assets/${p}`, { method: "HEAD" });
    expect(miss.res.status).toBe(200);
    expect(miss.body.byteLength).toBe(0);
    expect(miss.res.headers.get("content-length")).toBe("5000");
    const hit = await call(`/c/assets/${p}`, { method: "HEAD" });
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(hit.res.headers.get("content-length")).toBe("5000");
    expect(hit.body.byteLength).toBe(0);
    expect(sameBytes((await call(`/c/assets/${p}`)).body, data)).toBe(true);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("serves single ranges with 206 on a miss and on a hit", async () => {
    const data = bytes(300_000, 3);
    const origin = stubOrigin(() => asset(data));
    const p = uniquePath();
    const miss = await call(`/c/assets/${p}`, { headers: { range: "bytes=1000-1999" } });
    expect(miss.res.status).toBe(206);
    expect(miss.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(miss.res.headers.get("content-range")).toBe("bytes 1000-1999/300000");
    expect(miss.res.headers.get("content-length")).toBe("1000");
    expect(sameBytes(miss.body, data.slice(1000, 2000))).toBe(true);
    for (const [range, from, to] of [["bytes=262144-", 262144, 300000], ["bytes=-10", 299990, 300000], ["bytes=0-0", 0, 1], ["bytes=299000-999999", 299000, 300000]] as const) {
      const hit = await call(`/c/assets/${p}`, { headers: { range } });
      expect(hit.res.status, range).toBe(206);
      expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
      expect(hit.res.headers.get("content-range")).toBe(`bytes ${from}-${to - 1}/300000`);
      expect(sameBytes(hit.body, data.slice(from, to))).toBe(true);
    }
    // Several ranges: RFC 9110 lets us ignore Range and send the whole object.
    const multi = await call(`/c/assets/${p}`, { headers: { range: "bytes=0-1,5-6" } });
    expect(multi.res.status).toBe(200);
    expect(sameBytes(multi.body, data)).toBe(true);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("answers unsatisfiable ranges with 416 and Content-Range: bytes */size", async () => {
    stubOrigin(() => asset(bytes(1000)));
    const p = uniquePath();
    for (let i = 0; i < 2; i++) {
      const { res, body } = await call(`/c/assets/${p}`, { headers: { range: "bytes=1000-" } });
      expect(res.status).toBe(416);
      expect(res.headers.get("content-range")).toBe("bytes */1000");
      expect(JSON.parse(new TextDecoder().decode(body))).toMatchObject({ error: { code: "range-not-satisfiable" } });
      expect(res.headers.get("x-edgeswarm-cache")).toBe(i === 0 ? "MISS" : "HIT");
    }
  });

  it("ignores a Range whose If-Range does not match the current version", async () => {
    stubOrigin(() => asset("0123456789"));
    const p = uniquePath();
    const r = await call(`/c/assets/${p}`, { headers: { range: "bytes=2-3", "if-range": '"old"' } });
    expect(r.res.status).toBe(200);
    expect(new TextDecoder().decode(r.body)).toBe("0123456789");
  });

  it("the platform cache answers ranges itself (workerd Cache API, what HIT ranges rely on)", async () => {
    const cache = (caches as unknown as { default: Cache }).default;
    const key = `https://edgeswarm.internal/probe/${uniquePath()}`;
    await cache.put(key, new Response("0123456789", { headers: { "cache-control": "public, s-maxage=60", "content-length": "10" } }));
    const r = await cache.match(new Request(key, { headers: { range: "bytes=2-4" } }));
    expect(r?.status).toBe(206);
    expect(r?.headers.get("content-range")).toBe("bytes 2-4/10");
    expect(await r?.text()).toBe("234");
  });

  it("revalidates a stale object with the origin (304 → served from cache, not refetched)", async () => {
    const data = bytes(4000, 11);
    const origin = stubOrigin((req) => {
      if (req.headers.get("if-none-match") === '"v1"') return new Response(null, { status: 304, headers: { etag: '"v1"', "cache-control": "public, max-age=3600" } });
      return asset(data, { "cache-control": "public, max-age=0" });
    });
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const second = await call(`/c/assets/${p}`);
    expect(second.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(sameBytes(second.body, data)).toBe(true);
    expect(origin.calls[1]!.headers.get("if-none-match")).toBe('"v1"');
    // The 304 said max-age=3600: the object is fresh again, the origin is not asked a third time.
    const third = await call(`/c/assets/${p}`);
    expect(third.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(third.res.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });

  it("replaces a stale object when the origin has a new version", async () => {
    let version = 1;
    stubOrigin(() => asset(`version ${version}`, { etag: `"v${version}"`, "cache-control": "public, max-age=0" }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    version = 2;
    const r = await call(`/c/assets/${p}`);
    expect(r.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(new TextDecoder().decode(r.body)).toBe("version 2");
  });

  it("sends CORS headers on public content and answers preflights", async () => {
    stubOrigin(() => asset("x"));
    const { res } = await call(`/c/assets/${uniquePath()}`);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-expose-headers")).toContain("X-Edgeswarm-Cache");
    expect(res.headers.get("access-control-expose-headers")).toContain("Content-Range");
    const pre = await call(`/c/assets/${uniquePath()}`, { method: "OPTIONS", headers: { origin: "https://site.test", "access-control-request-headers": "range" } });
    expect(pre.res.status).toBe(204);
    expect(pre.res.headers.get("access-control-allow-headers")).toContain("Range");
    expect(pre.res.headers.get("access-control-allow-methods")).toContain("GET");
  });

  it("refuses other methods with a JSON 405", async () => {
    const origin = stubOrigin(() => asset("x"));
    const { res, body } = await call(`/c/assets/${uniquePath()}`, { method: "POST", body: "x" });
    expect(res.status).toBe(405);
    expect(JSON.parse(new TextDecoder().decode(body))).toMatchObject({ error: { code: "method-not-allowed" } });
    expect(origin.calls).toHaveLength(0);
  });
});

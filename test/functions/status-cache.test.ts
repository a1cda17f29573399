/**
 * Storing origin answers other than 200 (RFC 9111 §3, §4.2.2; functions/status-cache.ts): the
 * heuristically cacheable statuses are served from the cache with their status, body and fields
 * when the origin allows it, never shared with peers. Each test counts origin hits.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ORIGIN, asset, call, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const cacheOf = (r: { res: Response }) => r.res.headers.get("x-edgeswarm-cache");

describe("storing the cacheable statuses (RFC 9111 §3, §4.2.2)", () => {
  it("a 404 with max-age is served from the cache, with its body, status and CORS", async () => {
    const origin = stubOrigin(() => new Response("no such file", { status: 404, headers: { "cache-control": "public, max-age=600", "content-length": "12", "content-type": "text/plain" } }));
    const p = uniquePath();
    const first = await call(`/c/assets/${p}`);
    expect([first.res.status, text(first.body), cacheOf(first)]).toEqual([404, "no such file", "MISS"]);
    const again = await call(`/c/assets/${p}`);
    expect([again.res.status, text(again.body), cacheOf(again)]).toEqual([404, "no such file", "HIT"]);
    expect(again.res.headers.get("x-edgeswarm-eligible")).toBe("0");
    expect(again.res.headers.get("access-control-allow-origin")).toBe("*");
    const head = await call(`/c/assets/${p}`, { method: "HEAD" });
    expect([head.res.status, head.body.byteLength]).toEqual([404, 0]);
    const m = await call(`/m/assets/${p}?peer=status-peer-1`);
    expect([m.res.status, JSON.parse(text(m.body)).error.code]).toEqual([404, "origin-not-found"]);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it.each([203, 300, 405, 410, 414, 501])("%i with max-age is served from the cache with its status and body", async (status) => {
    const origin = stubOrigin(() => new Response(`status ${status}`, { status, headers: { "cache-control": "public, max-age=600", "content-length": String(`status ${status}`.length) } }));
    const p = uniquePath();
    const first = await call(`/c/assets/${p}`);
    expect([first.res.status, text(first.body), cacheOf(first)]).toEqual([status, `status ${status}`, "MISS"]);
    const again = await call(`/c/assets/${p}`);
    expect([again.res.status, text(again.body), cacheOf(again)]).toEqual([status, `status ${status}`, "HIT"]);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("204 with max-age is served from the cache: no body, its fields", async () => {
    const origin = stubOrigin(() => new Response(null, { status: 204, headers: { "cache-control": "public, max-age=600", "x-beacon": "ok" } }));
    const p = uniquePath();
    const first = await call(`/c/assets/${p}`);
    expect([first.res.status, first.body.byteLength, cacheOf(first)]).toEqual([204, 0, "MISS"]);
    const again = await call(`/c/assets/${p}`);
    expect([again.res.status, again.body.byteLength, cacheOf(again)]).toEqual([204, 0, "HIT"]);
    expect(again.res.headers.get("x-beacon")).toBe("ok");
    expect(again.res.headers.get("cache-control")).toBe("public, max-age=600");
    expect([...again.res.headers.keys()].filter((k) => k.startsWith("x-edgeswarm-") && k !== "x-edgeswarm-cache" && k !== "x-edgeswarm-eligible")).toEqual([]);
    const m = await call(`/m/assets/${p}?peer=status-peer-204`);
    expect(m.res.status).not.toBe(200);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("an origin cannot make a 200 look like a stored status (the internal field is never stored from it)", async () => {
    const origin = stubOrigin(() => asset("real bytes", { "x-edgeswarm-status": "204" }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const hit = await call(`/c/assets/${p}`);
    expect([hit.res.status, text(hit.body), cacheOf(hit)]).toEqual([200, "real bytes", "HIT"]);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it.each([
    [404, "no such file"],
    [200, "an old file"],
  ])("heuristic freshness (RFC 9111 §4.2.2): a %i with only a year-old Last-Modified is served from the cache", async (status, body) => {
    const lastModified = new Date(Date.now() - 365 * 86_400_000).toUTCString();
    const origin = stubOrigin(() => new Response(body, { status, headers: { "last-modified": lastModified, "content-length": String(body.length) } }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const again = await call(`/c/assets/${p}`);
    expect([again.res.status, text(again.body), cacheOf(again)]).toEqual([status, body, "HIT"]);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it.each([
    [410, { "cache-control": "public, max-age=600" }],
    [301, { "cache-control": "public, max-age=600", location: "https://origin.test/assets/new.bin" }],
    [308, { "cache-control": "public, max-age=600", location: "/assets/other.bin" }],
  ])("%i with explicit freshness is stored too (redirects still point at the edge)", async (status, headers) => {
    const origin = stubOrigin(() => new Response("", { status, headers: { ...headers, "content-length": "0" } }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const again = await call(`/c/assets/${p}`);
    expect([again.res.status, cacheOf(again)]).toEqual([status, "HIT"]);
    if (status === 301) expect(again.res.headers.get("location")).toBe("/c/assets/new.bin");
    if (status === 308) expect(again.res.headers.get("location")).toBe("/c/assets/other.bin");
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it.each([
    ["no freshness at all", 404, {}],
    ["no-store", 404, { "cache-control": "no-store, max-age=600" }],
    ["private", 404, { "cache-control": "private, max-age=600" }],
    ["Set-Cookie", 404, { "cache-control": "public, max-age=600", "set-cookie": "a=b" }],
    ["a status that is not storable", 403, { "cache-control": "public, max-age=600" }],
  ])("is not done with %s", async (_n, status, headers) => {
    const origin = stubOrigin(() => new Response("nope", { status, headers: { "content-length": "4", ...headers } }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const again = await call(`/c/assets/${p}`);
    expect([again.res.status, text(again.body), cacheOf(again)]).toEqual([status, "nope", "BYPASS"]);
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });

  it("a stored 404 gives way to the 200 once stale", async () => {
    let exists = false;
    const origin = stubOrigin(() => (exists ? asset("here now") : new Response("missing", { status: 404, headers: { "cache-control": "public, max-age=0", "last-modified": "Mon, 01 Jan 2024 00:00:00 GMT", "content-length": "7" } })));
    const p = uniquePath();
    expect((await call(`/c/assets/${p}`)).res.status).toBe(404);
    exists = true;
    const r = await call(`/c/assets/${p}`);
    expect([r.res.status, text(r.body)]).toEqual([200, "here now"]);
    expect(origin.calls[1]!.headers.get("if-modified-since")).toBeNull(); // a stored 404 is not revalidated into a 200
    expect(cacheOf(await call(`/c/assets/${p}`))).toBe("HIT");
  });
});
